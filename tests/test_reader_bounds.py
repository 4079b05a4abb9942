"""Issue 8, items 8 and 9, the classes tests/test_reader_limits.py leaves open: the DER
walker's cost on nested indefinite lengths, every part of a token and of a certificate
walked before asn1crypto sees it, a chain source's answer that is not text or is an
over-long height, and the report writer's own bounds (the same depth as the reader's,
no Infinity)."""

from __future__ import annotations

import base64
import datetime
import http.server
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ObjectIdentifier

from helpers.common import SCENARIOS, loopback_server, run_cli
from provelio_verify import Digest, Indication, SubIndication, parse_bundle, verify
from provelio_verify._json_bounds import MAX_JSON_DEPTH
from provelio_verify.chain import BitcoinCoreSource, EsploraSource
from provelio_verify.core.timestamp import der
from provelio_verify.core.timestamp.certs import Cert
from provelio_verify.core.timestamp.der import OID, UNIVERSAL, Node, read_tlv
from provelio_verify.core.timestamp.token import parse_token
from provelio_verify.errors import SourceInvalid
from provelio_verify.net import HttpClient, HttpPolicy
from provelio_verify.outcome import CheckFailure
from provelio_verify.report import CheckResult, Report

CREATED = SCENARIOS / "ok-created"
REGTEST = Path(__file__).resolve().parents[1] / "examples" / "ok-confirmed-regtest"


def tlv(tag: int, body: bytes) -> bytes:
    """One definite-length DER element with a one-byte tag."""
    n = len(body)
    if n < 0x80:
        length = bytes([n])
    else:
        size = (n.bit_length() + 7) // 8
        length = bytes([0x80 | size]) + n.to_bytes(size, "big")
    return bytes([tag]) + length + body


def nest(levels: int, tag: int = 0x30, inner: bytes = b"\x05\x00") -> bytes:
    for _ in range(levels):
        inner = tlv(tag, inner)
    return inner


def replace(chain: list[Node], new: bytes) -> bytes:
    """The outermost element of ``chain`` (root first) with its last element replaced
    by ``new``, every length on the way re-encoded (definite, one-byte tags)."""
    raw = new
    for parent, child in zip(reversed(chain[:-1]), reversed(chain[1:]), strict=True):
        body = parent.data[parent.body:child.start] + raw + parent.data[child.end:parent.body_end]
        raw = tlv(parent.data[parent.start], body)
    return raw


def token() -> bytes:
    return base64.b64decode(json.loads((CREATED / "proof.json").read_text())
                            ["timestamp"]["token"])


def signed_data(top: Node) -> tuple[list[Node], Node]:
    """(the chain from the token down to its SignedData, the SignedData)."""
    info = top if top.children[0].is_(UNIVERSAL, OID) else top.children[1]
    chain = [top] if info is top else [top, info]
    explicit = info.children[1]
    signed = explicit.children[0]
    return [*chain, explicit, signed], signed


def bundle_with_token(raw: bytes) -> bytes:
    document = json.loads((CREATED / "proof.json").read_text())
    document["timestamp"]["token"] = base64.b64encode(raw).decode()
    return json.dumps(document).encode()


# ----------------------------------------------------------------------- item 9: DER


def test_nested_indefinite_lengths_are_walked_once_each(monkeypatch):
    """Each indefinite length was walked by _header to find its end and then again by
    _walk: twice per level, 2**depth in all (30 levels of 60 bytes ran for hours)."""
    calls = []
    real = der._walk

    def counting(*args: object) -> int:
        calls.append(1)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(der, "_walk", counting)
    levels = 20
    read_tlv(b"\x30\x80" * levels + b"\x00\x00" * levels).check()
    assert len(calls) <= 2 * levels + 2, f"{len(calls)} walks for {levels} levels"


def test_node_children_count_depth():
    """Nodes read level by level (as the token reader does) stop at MAX_DEPTH too."""
    node = read_tlv(nest(der.MAX_DEPTH + 5))
    with pytest.raises(ValueError, match=f"deeper than {der.MAX_DEPTH}"):
        for _ in range(der.MAX_DEPTH + 5):
            node = node.children[0]


def test_a_constructed_econtent_nested_1000_deep_is_a_format_failure():
    top = read_tlv(token())
    chain, signed = signed_data(top)
    encap = signed.children[2]
    explicit = encap.children[1]
    octets = explicit.children[0]
    deep = nest(1000, tag=0x24, inner=tlv(0x04, octets.contents))
    raw = replace([*chain, encap, explicit, octets], deep)
    with pytest.raises(CheckFailure, match=f"deeper than {der.MAX_DEPTH}"):
        parse_token(raw)


def test_a_signer_issuer_name_nested_1200_deep_is_refused_when_the_token_is_read():
    """The sid's issuer name was not walked; asn1crypto recursed on it when the
    signature step looked for the signer's certificate."""
    top = read_tlv(token())
    chain, signed = signed_data(top)
    signers = signed.children[-1]
    info = signers.children[0]
    sid = info.children[1]
    issuer = sid.children[0]
    raw = replace([*chain, signers, info, sid, issuer], nest(1200))
    with pytest.raises(CheckFailure, match=f"deeper than {der.MAX_DEPTH}"):
        parse_token(raw)
    report = verify(Digest(json.loads((CREATED / "proof.json").read_text())
                           ["certificate"]["sha256Hash"]), bundle_with_token(raw))
    check = report.check("timestamp.token")
    assert (check.indication, check.sub_indication) == (Indication.FAILED,
                                                        SubIndication.FORMAT_FAILURE)


def test_a_tsa_name_nested_1200_deep_is_a_format_failure_not_a_recursion():
    """The TSTInfo is DER inside an OCTET STRING; its tsa name went to asn1crypto."""
    top = read_tlv(token())
    chain, signed = signed_data(top)
    encap = signed.children[2]
    explicit = encap.children[1]
    octets = explicit.children[0]
    tst = read_tlv(octets.contents)
    # An attribute type asn1crypto does not know: its value is parsed as ANY.
    oid = tlv(0x06, b"\x2b\x06\x01\x04\x01\x83\xb2\x03\x02")  # 1.3.6.1.4.1.55555.2
    name = tlv(0x30, tlv(0x31, tlv(0x30, oid + nest(1200))))
    tsa = tlv(0xA0, tlv(0xA4, name))  # tsa [0] GeneralName: directoryName [4] Name
    new_tst = tlv(0x30, tst.contents + tsa)
    raw = replace([*chain, encap, explicit, octets], tlv(0x04, new_tst))
    with pytest.raises(CheckFailure, match=f"deeper than {der.MAX_DEPTH}"):
        parse_token(raw)


def _certificate(extension_value: bytes) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "deep extension")])
    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1).not_valid_before(start)
            .not_valid_after(start + datetime.timedelta(days=1))
            .add_extension(x509.UnrecognizedExtension(
                ObjectIdentifier("1.3.6.1.4.1.55555.1"), extension_value), critical=False)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


def test_an_extension_value_nested_1200_deep_is_refused_before_asn1crypto():
    """Extension values are DER inside an OCTET STRING: walked too, so asn1crypto
    (which parses them lazily, a subjectAltName to match the tsa name) never recurses."""
    assert Cert.load(_certificate(nest(10))).der  # a shallow one loads
    with pytest.raises(ValueError, match=f"deeper than {der.MAX_DEPTH}"):
        Cert.load(_certificate(nest(1200)))


# -------------------------------------------------------------- chain answers (8, 9)


def _client() -> HttpClient:
    return HttpClient(HttpPolicy(connect_timeout=1.0, read_timeout=1.0, retries=0,
                                 backoff=0.01, max_retry_after=1.0, deadline=5.0))


def _answering(body: bytes, status: int = 200) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def _send(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _send  # noqa: N815 - the http.server interface

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def test_an_esplora_tip_of_5000_digits_is_invalid_not_a_crash():
    with loopback_server(_answering(b"9" * 5000)) as url, \
            pytest.raises(SourceInvalid, match="not a height"):
        EsploraSource(url, _client()).tip_height()


def test_a_lone_surrogate_in_a_node_answer_makes_the_source_invalid():
    """A node's error message with \\ud800 reached the report, which then could not be
    written as UTF-8 (internal error, report lost)."""
    body = b'{"result": null, "error": {"code": -1, "message": "x \\ud800"}, "id": 1}'
    with loopback_server(_answering(body, status=500)) as url:
        source = BitcoinCoreSource(url.replace("http://", "http://u:p@"), client=_client())
        with pytest.raises(SourceInvalid, match="lone UTF-16 surrogate"):
            source.tip_height()
        result = run_cli(["document.txt", "proof.json", "--tsa-roots", "roots.pem",
                          "--allow-test-mode", "--bitcoin-node",
                          url.replace("http://", "http://u:p@"), "--json"], cwd=REGTEST)
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    chain = next(c for c in json.loads(result.stdout)["checks"] if c["id"] == "anchor.chain")
    assert chain["subIndication"] == "TRY_LATER"


class _DeepRpc(http.server.BaseHTTPRequestHandler):
    """A 'Bitcoin Core' answering every call with a result nested 5,000 deep (10 KB,
    under the size cap)."""

    def do_POST(self) -> None:  # noqa: N802 - the http.server interface
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"result": ' + b"[" * 5000 + b"]" * 5000 + b', "error": null, "id": 1}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_an_rpc_source_answering_5000_deep_json_is_invalid_and_a_good_source_stands():
    """With a real node beside it (the loopback chain server), the node's answer stands."""
    from gen.world import world
    from helpers.chainservers import BitcoinRpcServer, ChainData
    proof = (SCENARIOS / "ok-confirmed-regtest" / "proof.json").read_bytes()
    with loopback_server(_DeepRpc) as deep_url, \
            BitcoinRpcServer(ChainData.of(world().anchoring.chain)) as good:
        deep = BitcoinCoreSource(deep_url.replace("http://", "http://u:p@"), client=_client())
        with pytest.raises(SourceInvalid, match=f"deeper than {MAX_JSON_DEPTH}"):
            deep.tip_height()
        from provelio_verify import Policy
        report = verify(Digest(world().digest.hex()), proof,
                        policy=Policy(allow_test_mode=True, min_confirmations=6),
                        sources=[BitcoinCoreSource(deep_url.replace("http://", "http://u:p@"),
                                                   client=_client()),
                                 BitcoinCoreSource(good.url_with_credentials(),
                                                   client=_client())])
    chain = report.check("anchor.chain")
    assert chain.indication is Indication.PASSED, chain.message
    assert [s["state"] for s in chain.details["sources"]] == ["invalid", "answered"]


# -------------------------------------------------------------- the report writer


def _report(details: dict[str, object]) -> Report:
    check = CheckResult("bundle.format", Indication.PASSED, None, "ok", details)
    return Report.build([check], subject={}, certificate={}, existence={}, warnings=[])


def test_the_report_writer_refuses_infinity_naming_where():
    with pytest.raises(ValueError, match=r"checks\.bundle\.format\.details\.x is inf"):
        _report({"x": float("inf")}).to_json()


def test_the_report_writer_nests_as_deep_as_the_reader_allows_and_no_deeper():
    # report > checks > check > details: details' values start at level 5.
    def deep(levels: int) -> object:
        value: object = 0
        for _ in range(levels):
            value = [value]
        return value

    fits = MAX_JSON_DEPTH - 4
    _report({"x": deep(fits)}).to_json()
    with pytest.raises(ValueError, match=f"deeper than the limit of {MAX_JSON_DEPTH}"):
        _report({"x": deep(fits + 1)}).to_dict()


def test_metadata_at_the_reader_limit_is_written_by_the_report_writer():
    """The same limit: a bundle whose metadata reaches level 64 is read, and its
    report (metadata at the same level) is written; one level more is refused."""
    document = json.loads((CREATED / "proof.json").read_text())
    levels = MAX_JSON_DEPTH - 3  # the bundle object, certificate, metadata
    document["certificate"]["metadata"] = {"deep": "@"}
    text = json.dumps(document)
    at_limit = text.replace('"@"', "[" * levels + "]" * levels).encode()
    parse_bundle(at_limit)
    report = verify(Digest(document["certificate"]["sha256Hash"]), at_limit)
    assert report.check("bundle.format").indication is Indication.PASSED
    json.loads(report.to_json())
    over = text.replace('"@"', "[" * (levels + 1) + "]" * (levels + 1)).encode()
    report = verify(Digest(document["certificate"]["sha256Hash"]), over)
    assert report.check("bundle.format").sub_indication is SubIndication.FORMAT_FAILURE
