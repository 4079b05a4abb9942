"""Issue 11: what the per-item fast paths skip changes no outcome.

- A token's embedded certificate whose exact bytes were parsed before is not walked
  again (``parse_token(..., known=...)``): every token, and every corruption of one,
  reads exactly as without that shortcut.
- ``der.nesting`` is what the bounded walk holds to MAX_DEPTH: a walk from depth ``d``
  passes exactly when ``d + nesting`` stays within it.
- The path cache keeps at most its cap of entries (least recently used first out), and
  keys certificates by their exact bytes.
"""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.common import SCENARIOS
from provelio_verify.core.timestamp import der
from provelio_verify.core.timestamp.token import parse_token
from provelio_verify.outcome import CheckFailure
from provelio_verify.verifier.pathcache import PathCache

TOKEN_SCENARIOS = ("ok-created", "ok-confirmed-regtest")


def _token(name: str) -> bytes:
    bundle = json.loads((SCENARIOS / name / "proof.json").read_text())
    return base64.b64decode(bundle["timestamp"]["token"])


def _read(data: bytes, cache: PathCache | None) -> object:
    """The token as read (its fields), or the failure's sub-indication and message."""
    try:
        if cache is None:
            token = parse_token(data, PathCache().certificate)
        else:
            token = parse_token(data, cache.certificate, known=cache.known)
    except CheckFailure as exc:
        return ("failure", exc.sub_indication, exc.message)
    return ("token", token.form, token.serial, token.gen_time, token.signature,
            tuple(c.der for c in token.certificates))


def _warm(data: bytes) -> PathCache:
    cache = PathCache()
    token = parse_token(data, cache.certificate)
    assert token.certificates, "the fixture token embeds no certificate"
    for cert in token.certificates:
        assert cache.known(cert.der) is cert
    return cache


@pytest.mark.parametrize("name", TOKEN_SCENARIOS)
def test_a_known_certificate_is_not_walked_again_and_the_token_reads_the_same(name):
    data = _token(name)
    assert _read(data, _warm(data)) == _read(data, None)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_every_corruption_of_a_token_reads_the_same_with_known_certificates(data):
    token = _token("ok-created")
    cache = _warm(token)
    position = data.draw(st.integers(0, len(token) - 1), label="position")
    value = data.draw(st.integers(0, 255), label="byte")
    mutated = token[:position] + bytes([value]) + token[position + 1:]
    assert _read(mutated, cache) == _read(mutated, None)


def _nested(levels: int, payload: bytes = b"\x05\x00") -> bytes:
    """``levels`` SEQUENCEs around ``payload``."""
    out = payload
    for _ in range(levels):
        out = b"\x30" + (bytes([len(out)]) if len(out) < 0x80 else
                         b"\x82" + len(out).to_bytes(2, "big")) + out
    return out


@pytest.mark.parametrize("levels", [0, 1, 5, 30, der.MAX_DEPTH])
@pytest.mark.parametrize("start", [0, 3, 10])
def test_nesting_is_what_the_walk_holds_to_the_limit(levels, start):
    data = _nested(levels)
    node = der.read_tlv(data)
    node.check()
    # The outermost element is itself an element: the payload lies ``levels`` below it.
    assert der.nesting(node) == levels
    walks = True
    try:
        der._walk(data, 0, len(data), start)
    except ValueError:
        walks = False
    assert walks == (start + der.nesting(node) <= der.MAX_DEPTH)


def test_the_path_cache_keeps_its_cap_and_keys_certificates_by_their_bytes():
    data = _token("ok-created")
    cache = PathCache(max_entries=2)
    token = parse_token(data, cache.certificate)
    cert = token.certificates[0]
    assert cache.known(cert.der) is cert
    assert cache.known(cert.der[:-1] + bytes([cert.der[-1] ^ 1])) is None
    for junk in (b"\x30\x00", b"\x30\x01\x00", b"\x02\x01\x00"):  # three refusals
        with pytest.raises(ValueError):
            cache.certificate(junk)
    assert len(cache._certs) == 2  # the cap, the oldest (the certificate) gone first
    assert cache.known(cert.der) is None
