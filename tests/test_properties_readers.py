"""Property tests over every reader of untrusted bytes (issue 8, items 8 and 9).

Valid inputs (the scenarios' proof.json files, their tokens, real answers of the
loopback chain servers) are mutated: bit flips, truncation, extension, deep nesting,
huge numbers. Whatever comes out, only the documented typed errors escape, what a
reader accepts can be written back as JSON, and a verification over a mutated signed
part never PASSES. Settings come from the profile in conftest.py.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.common import SCENARIOS
from provelio_verify import Digest, Indication, Policy, parse_bundle, verify
from provelio_verify.bundle import BundleFormatError
from provelio_verify.chain import BitcoinCoreSource, EsploraSource
from provelio_verify.chain.base import Question
from provelio_verify.core.timestamp.der import read_tlv
from provelio_verify.core.timestamp.token import parse_token
from provelio_verify.errors import SourceError
from provelio_verify.inputs.trust import load_certificates
from provelio_verify.net import HttpClient, HttpPolicy
from provelio_verify.outcome import CheckFailure

BUNDLES = sorted(SCENARIOS.glob("*/proof.json"))
CREATED = SCENARIOS / "ok-created"
JUNK = [b"9" * 5000, b"1e999", b"-1e400", b"1" * 101, b"[" * 3000, b"{" * 100, b'"\\ud800"',
        b"\x00", b"\xff\xfe", b"NaN", b'"a":1,"a":2']


def _bundles() -> list[bytes]:
    return [p.read_bytes() for p in BUNDLES]


@st.composite
def mutated(draw: st.DrawFn, data: bytes, junk: list[bytes] = JUNK) -> bytes:
    """``data`` with one mutation: a bit flip, a truncation, an extension, deep nesting
    or junk (huge numbers, lone surrogates, NUL) inserted anywhere."""
    raw = bytearray(data)
    action = draw(st.sampled_from(["flip", "truncate", "extend", "nest", "junk"]))
    if action == "flip" and raw:
        bit = draw(st.integers(0, len(raw) * 8 - 1))
        raw[bit // 8] ^= 1 << (bit % 8)
    elif action == "truncate":
        del raw[draw(st.integers(0, len(raw))):]
    elif action == "extend":
        raw += draw(st.binary(min_size=1, max_size=64))
    elif action == "nest":
        depth = draw(st.one_of(st.integers(1, 45), st.integers(46, 5000)))
        at = draw(st.integers(0, len(raw)))
        opener, closer = draw(st.sampled_from([(b"[", b"]"), (b"\x30\x80", b"\x00\x00"),
                                               (b'{"a":', b"}")]))
        raw[at:at] = opener * depth + closer * depth
    else:
        at = draw(st.integers(0, len(raw)))
        raw[at:at] = draw(st.sampled_from(junk))
    return bytes(raw)


#: Values put in place of one value of a JSON document: too long, out of range, too
#: deep, not text; and near misses that must still be read.
JSON_JUNK = [b"9" * 5000, b"1" * 101, b"1e999", b"-1e400", b"[" * 3000 + b"]" * 3000,
             b'{"a":' * 100 + b"1" + b"}" * 100, b'"\\ud800"', b'"\\udfff x"', b"NaN",
             b"Infinity", b"18446744073709551616", b"1.5e300", b"[" * 40 + b"]" * 40]
_PLACEHOLDER = "\u2603placeholder\u2603"
_NOT_JSON = object()


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _paths(sub, (*path, key))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from _paths(sub, (*path, index))


@st.composite
def json_mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` (a JSON document) with one of its values, or a new key, replaced by junk
    (or, half the time, a byte-level mutation)."""
    try:
        document = json.loads(data)
    except ValueError:
        document = _NOT_JSON
    if document is _NOT_JSON or draw(st.booleans()):
        return draw(mutated(data))
    path = draw(st.sampled_from(list(_paths(document))))
    junk = draw(st.sampled_from(JSON_JUNK))
    if not path:
        return junk
    holder = document
    for step in path[:-1]:
        holder = holder[step]
    if isinstance(holder, dict) and draw(st.booleans()):
        holder["unknownKey"] = _PLACEHOLDER  # an unknown key: read, then ignored
    else:
        holder[path[-1]] = _PLACEHOLDER
    return json.dumps(document).encode().replace(f'"{_PLACEHOLDER}"'.encode(), junk)


# --------------------------------------------------------------- the strict JSON reader


@given(st.sampled_from(_bundles()).flatmap(json_mutated))
def test_bundle_parsing_raises_only_its_format_error(raw: bytes) -> None:
    try:
        bundle = parse_bundle(raw)
    except BundleFormatError as exc:
        assert exc.problem  # names what was wrong
        return
    # Whatever is accepted is JSON again: no Infinity, no surrogate, bounded depth.
    json.dumps(bundle.certificate.metadata, allow_nan=False).encode("utf-8")


# ------------------------------------------------------------ the DER and token readers


def _tokens() -> list[bytes]:
    out = []
    for path in BUNDLES:
        try:
            token = json.loads(path.read_text())["timestamp"]["token"]
            out.append(base64.b64decode(token, validate=True))
        except (ValueError, KeyError, TypeError):
            continue  # the malformed scenarios
    return out


TOKENS = _tokens()


@given(st.sampled_from(TOKENS).flatmap(mutated))
def test_the_der_walker_raises_only_value_errors(raw: bytes) -> None:
    with contextlib.suppress(ValueError):
        read_tlv(raw).check()


@given(st.sampled_from(TOKENS).flatmap(mutated))
def test_the_token_parser_raises_only_format_failures(raw: bytes) -> None:
    try:
        parse_token(raw)
    except CheckFailure as exc:
        assert exc.sub_indication.value == "FORMAT_FAILURE"


def _signed_region(token: bytes) -> tuple[int, int]:
    """Where the SignerInfo's signed attributes, signature and the eContent lie: from
    the encapsulated content to the end of the signer infos (a bare token here)."""
    top = read_tlv(token)
    signed = top.children[1].children[0]
    return signed.children[2].start, signed.children[-1].end


CREATED_PROOF = json.loads((CREATED / "proof.json").read_text())
CREATED_TOKEN = base64.b64decode(CREATED_PROOF["timestamp"]["token"])
ROOTS = load_certificates(CREATED / "roots.pem")


@given(st.integers(*_signed_region(CREATED_TOKEN)).map(lambda at: at * 8)
       .flatmap(lambda bit: st.integers(bit, bit + 7)))
def test_a_verification_over_a_flipped_signed_bit_never_passes(bit: int) -> None:
    raw = bytearray(CREATED_TOKEN)
    raw[bit // 8] ^= 1 << (bit % 8)
    proof = dict(CREATED_PROOF, timestamp=dict(CREATED_PROOF["timestamp"],
                                               token=base64.b64encode(raw).decode()))
    report = verify(Digest(CREATED_PROOF["certificate"]["sha256Hash"]),
                    json.dumps(proof).encode(), policy=Policy(tsa_roots=ROOTS))
    assert report.indication is not Indication.PASSED
    json.loads(report.to_json())


def test_the_unmutated_token_passes() -> None:
    """The property above is not vacuous: the same bundle, unchanged, passes."""
    report = verify(Digest(CREATED_PROOF["certificate"]["sha256Hash"]),
                    json.dumps(CREATED_PROOF).encode(), policy=Policy(tsa_roots=ROOTS))
    assert report.indication is Indication.PASSED


# ------------------------------------------------------ Bitcoin Core and Esplora answers


class _Replay:
    """A loopback HTTP server answering every request with ``body`` (set per example)."""

    def __init__(self) -> None:
        self.body = b""
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                self.send_response(200)
                self.send_header("Content-Length", str(len(owner.body)))
                self.end_headers()
                self.wfile.write(owner.body)

            do_GET = do_POST = _answer  # noqa: N815 - the http.server interface

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()


@pytest.fixture(scope="module")
def replay() -> Iterator[_Replay]:
    server = _Replay()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def _client() -> HttpClient:
    return HttpClient(HttpPolicy(connect_timeout=1.0, read_timeout=1.0, retries=0,
                                 backoff=0.01, max_retry_after=1.0, deadline=5.0))


BLOCK = "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206"
TXID = "5aaf2d54b40c16d261c22cd606ffc9821f857eb1fa68f95c60284a40c4bb062f"
QUESTIONS = [Question("genesis"), Question("tip"), Question("blockHash", height=3),
             Question("header", block=BLOCK), Question("blockStatus", block=BLOCK),
             Question("transaction", txid=TXID, block=BLOCK),
             Question("merkleProof", height=3, block=BLOCK, txid=TXID)]
RPC_ANSWERS = [json.dumps({"result": result, "error": None, "id": "provelio-verify"}).encode()
               for result in (BLOCK, 10, {"confirmations": 8, "height": 3, "nTx": 2},
                              "00" * 80, "0200" + "00" * 60)]
ESPLORA_ANSWERS = [BLOCK.encode(), b"10", b"00" * 80,
                   json.dumps({"in_best_chain": True, "height": 3}).encode(),
                   json.dumps({"block_height": 3, "pos": 1, "merkle": [BLOCK]}).encode()]


def _asks(source_of: Callable[[str], Any]) -> Callable[[_Replay, Question, bytes], None]:
    def ask(server: _Replay, question: Question, body: bytes) -> None:
        server.body = body
        source = source_of(server.url)
        try:
            source.ask(question)
        except SourceError as exc:
            assert exc.reason
    return ask


_ask_core = _asks(lambda url: BitcoinCoreSource(url.replace("http://", "http://u:p@"),
                                                client=_client()))
_ask_esplora = _asks(lambda url: EsploraSource(url, _client()))


@given(question=st.sampled_from(QUESTIONS),
       body=st.sampled_from(RPC_ANSWERS).flatmap(json_mutated))
def test_bitcoin_core_answers_raise_only_source_errors(replay: _Replay, question: Question,
                                                       body: bytes) -> None:
    _ask_core(replay, question, body)


@given(question=st.sampled_from(QUESTIONS),
       body=st.sampled_from(ESPLORA_ANSWERS).flatmap(json_mutated))
def test_esplora_answers_raise_only_source_errors(replay: _Replay, question: Question,
                                                  body: bytes) -> None:
    _ask_esplora(replay, question, body)
