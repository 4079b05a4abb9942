"""Issue 8, items 8 and 9: numbers and nesting never crash a reader.

One nesting limit per reader, enforced before anything recurses; numbers bounded in
length and magnitude; what a reader accepts can always be written back as JSON.
Each case runs through the real command line (no traceback, the documented verdict)
or the reader itself, with property tests over mutated real inputs.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.common import loopback_server, run_cli
from provelio_verify._json_bounds import MAX_JSON_DEPTH, JsonLimitError, loads_bounded
from provelio_verify._json_reader import load_json
from provelio_verify.bundle import BundleFormatError
from provelio_verify.core.timestamp import der
from provelio_verify.core.timestamp.certs import Cert
from provelio_verify.core.timestamp.token import parse_token
from provelio_verify.outcome import CheckFailure

REPO = Path(__file__).resolve().parents[1]
CREATED = REPO / "examples" / "ok-created"
REGTEST = REPO / "examples" / "ok-confirmed-regtest"


def _copy(src: Path, tmp_path: Path) -> Path:
    out = tmp_path / src.name
    shutil.copytree(src, out)
    return out


def _run_with_bundle(tmp_path: Path, text: str, *extra: str):
    folder = _copy(CREATED, tmp_path)
    (folder / "proof.json").write_text(text)
    return run_cli(["document.txt", "proof.json", "--tsa-roots", "roots.pem", "--json",
                    *extra], cwd=folder)


def _bundle() -> dict:
    return json.loads((CREATED / "proof.json").read_text())


@pytest.mark.parametrize("where,literal", [
    ("certificate.fileSize", "9" * 5000),
    ("certificate.unknownKey", "1" * 5000),
    ("certificate.metadata.big", "1" * 4301),
    ("certificate.metadata.inf", "1e999"),
    ("certificate.metadata.neg", "-1e400"),
])
def test_a_number_over_the_limits_is_a_format_failure_naming_the_field(tmp_path, where,
                                                                       literal):
    bundle = _bundle()
    placeholder = "__NUMBER__"
    target = bundle["certificate"]
    parts = where.split(".")[1:]
    for part in parts[:-1]:
        target = target[part]
    target[parts[-1]] = placeholder
    text = json.dumps(bundle).replace(f'"{placeholder}"', literal)
    result = _run_with_bundle(tmp_path, text)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert report["subIndication"] == "FORMAT_FAILURE"
    fmt = next(c for c in report["checks"] if c["id"] == "bundle.format")
    assert where in fmt["message"]


def test_a_large_ordinary_number_is_still_read():
    assert loads_bounded('{"fileSize": 18446744073709551616, "x": 1.5e300}') == \
        {"fileSize": 2**64, "x": 1.5e300}


def test_metadata_nested_too_deep_is_a_format_failure_not_a_crash(tmp_path):
    bundle = _bundle()
    bundle["certificate"]["metadata"] = {"deep": "__DEEP__"}
    text = json.dumps(bundle).replace('"__DEEP__"', "[" * 500 + "]" * 500)
    for extra in ([], ["--html", str(tmp_path / "r.html")]):
        result = _run_with_bundle(tmp_path / str(len(extra)), text, *extra)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert json.loads(result.stdout)["subIndication"] == "FORMAT_FAILURE"
        assert f"deeper than {MAX_JSON_DEPTH}" in result.stdout


def test_metadata_at_the_limit_is_echoed_and_every_writer_copes(tmp_path):
    """What the reader accepts, the report writers write: the same limit."""
    bundle = _bundle()
    depth = MAX_JSON_DEPTH - 3  # root, certificate, metadata
    bundle["certificate"]["metadata"] = {"deep": "__DEEP__"}
    text = json.dumps(bundle).replace('"__DEEP__"', "[" * (depth - 1) + "]" * (depth - 1))
    load_json(text.encode(), [])
    result = _run_with_bundle(tmp_path, text, "--html", str(tmp_path / "r.html"),
                              "--save-evidence", str(tmp_path / "capsule"))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["indication"] == "PASSED"
    assert (tmp_path / "r.html").stat().st_size > 0
    assert (tmp_path / "capsule" / "report.json").exists()


def test_nesting_in_strings_does_not_count():
    text = json.dumps({"s": "[" * 1000})
    assert loads_bounded(text) == {"s": "[" * 1000}


def test_indefinite_lengths_count_towards_the_der_depth():
    """1,000 nested BER indefinite-length SEQUENCEs in 4 KB: refused, no recursion."""
    data = b"\x30\x80" * 1000 + b"\x00\x00" * 1000
    with pytest.raises(ValueError, match=f"deeper than {der.MAX_DEPTH}"):
        der.read_tlv(data)
    with pytest.raises(CheckFailure, match=f"deeper than {der.MAX_DEPTH}"):
        parse_token(data)


def test_a_token_of_nested_indefinite_lengths_fails_the_token_check(tmp_path):
    bundle = _bundle()
    bundle["timestamp"]["token"] = base64.b64encode(
        b"\x30\x80" * 1000 + b"\x00\x00" * 1000).decode()
    result = _run_with_bundle(tmp_path, json.dumps(bundle))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    token = next(c for c in json.loads(result.stdout)["checks"] if c["id"] == "timestamp.token")
    assert token["indication"] == "FAILED"


def _deep_certificate(depth: int) -> bytes:
    """A certificate-shaped blob whose issuer name nests ``depth`` SEQUENCEs."""
    def tlv(tag: int, body: bytes) -> bytes:
        n = len(body)
        length = bytes([n]) if n < 0x80 else (b"\x82" + n.to_bytes(2, "big"))
        return bytes([tag]) + length + body
    name = b""
    for _ in range(depth):
        name = tlv(0x30, name)
    tbs = tlv(0x30, tlv(0x02, b"\x01") + tlv(0x30, tlv(0x06, b"\x2a\x03")) + name)
    return tlv(0x30, tbs + tlv(0x30, tlv(0x06, b"\x2a\x03")) + tlv(0x03, b"\x00"))


def test_a_certificate_nested_1200_deep_is_refused_not_a_recursion():
    with pytest.raises(ValueError, match="deeper than"):
        Cert.load(_deep_certificate(1200))


def test_a_deep_certificate_in_extra_certs_is_no_traceback(tmp_path):
    bundle = _bundle()
    bundle["timestamp"]["extraCerts"] = [base64.b64encode(_deep_certificate(1200)).decode()]
    result = _run_with_bundle(tmp_path, json.dumps(bundle))
    assert "Traceback" not in result.stderr and result.returncode in (0, 1, 3)
    json.loads(result.stdout)


class _DeepJson(http.server.BaseHTTPRequestHandler):
    """An 'Esplora' answering every request with JSON nested 5,000 deep (40 KB)."""

    def do_GET(self):  # noqa: N802 - the http.server interface
        body = ("[" * 5000 + "]" * 5000).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_source_answering_deep_json_is_invalid_and_the_others_stand(tmp_path):
    folder = _copy(REGTEST, tmp_path)
    with loopback_server(_DeepJson) as url:
        result = run_cli(["document.txt", "proof.json", "--tsa-roots", "roots.pem",
                          "--allow-test-mode", "--headers", "headers.bin",
                          "--esplora", url, "--min-confirmations", "1", "--json"],
                         cwd=folder)
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    chain = next(c for c in report["checks"] if c["id"] == "anchor.chain")
    assert chain["indication"] == "PASSED", chain["message"]
    states = {s["kind"]: s["state"] for s in chain["details"]["sources"]}
    assert states["headers-file"] == "answered"
    assert states["esplora"] in ("invalid", "unreachable")


# --------------------------------------------------------------------------- properties


def _mutate(data: bytes, draw) -> bytes:
    raw = bytearray(data)
    action = draw(st.sampled_from(["flip", "truncate", "extend", "nest", "number"]))
    if action == "flip" and raw:
        at = draw(st.integers(0, len(raw) * 8 - 1))
        raw[at // 8] ^= 1 << (at % 8)
    elif action == "truncate":
        del raw[draw(st.integers(0, max(0, len(raw) - 1))):]
    elif action == "extend":
        raw += draw(st.binary(min_size=1, max_size=64))
    elif action == "nest":
        depth = draw(st.integers(1, 3000))
        at = draw(st.integers(0, len(raw)))
        raw[at:at] = b"[" * depth + b"]" * depth
    else:
        at = draw(st.integers(0, len(raw)))
        raw[at:at] = draw(st.sampled_from([b"9" * 5000, b"1e999", b"-0.0", b"1" * 41]))
    return bytes(raw)


@given(st.data())
def test_the_strict_reader_only_ever_raises_its_own_error(data):
    raw = _mutate((CREATED / "proof.json").read_bytes(), data.draw)
    try:
        document = load_json(raw, [])
    except BundleFormatError:
        return
    json.dumps(document, allow_nan=False)  # whatever it accepts is JSON again


@given(st.data())
def test_bounded_loads_only_ever_raises_value_errors(data):
    raw = _mutate(json.dumps({"result": {"nTx": 3, "hash": "00" * 32}}).encode(), data.draw)
    try:
        document = loads_bounded(raw)
    except (JsonLimitError, ValueError):
        return
    json.dumps(document, allow_nan=False)


@given(st.data())
def test_the_der_reader_and_token_parser_only_raise_value_errors(data):
    token = base64.b64decode(_bundle()["timestamp"]["token"])
    raw = _mutate(token, data.draw)
    for parse in (lambda b: der.read_tlv(b).check(), parse_token):
        with contextlib.suppress(ValueError, CheckFailure):
            parse(raw)
