"""Strict bundle parsing (contract section 2): every malformation is a FORMAT_FAILURE
naming the field, never a traceback; unknown keys are warnings."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from helpers.common import SCENARIOS, run_cli
from provelio_verify import Digest, Indication, SubIndication, parse_bundle, verify
from provelio_verify.bundle import (
    MAX_BRANCH_ENTRIES,
    MAX_BUNDLE_BYTES,
    MAX_EXTRA_CERTS,
    MAX_PATH_STEPS,
    MAX_TOKEN_BYTES,
    BundleFormatError,
    Status,
)

OK = SCENARIOS / "ok-confirmed-regtest"
BASE: dict = json.loads((OK / "proof.json").read_text())
H = "ab" * 32
DEL = object()


def mutated(path: str, value) -> bytes:
    doc = json.loads(json.dumps(BASE))
    *parents, last = path.split(".")
    target = doc
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    key = int(last) if isinstance(target, list) else last
    if value is DEL:
        del target[key]
    else:
        target[key] = value
    return json.dumps(doc).encode()


def raw(text: str) -> bytes:
    return text.encode()


# (id, bundle bytes, field named in the message, words expected in the message)
MALFORMED = [
    ("empty-file", b"", "", "not JSON"),
    ("not-json", b"{\"type\": ", "", "not JSON"),
    ("top-level-array", b"[1, 2]", "bundle", "expected a JSON object"),
    ("not-utf8", b"{\"type\": \"provelio-proof\xff\"}", "", "not UTF-8"),
    ("nan-literal", raw('{"type": "provelio-proof", "version": NaN}'), "", "NaN"),
    ("duplicate-key", raw('{"type": "provelio-proof", "type": "provelio-proof"}'), "",
     "duplicated key 'type'"),
    ("duplicate-key-nested", mutated("certificate.metadata", None).replace(
        b'"metadata": null', b'"metadata": {"a": 1, "a": 2}'), "", "duplicated key 'a'"),
    ("wrong-type", mutated("type", "provelio-receipt"), "type", "expected \"provelio-proof\""),
    ("wrong-version", mutated("version", 2), "version", "expected 1"),
    ("version-bool", mutated("version", True), "version", "expected 1"),
    ("version-float", mutated("version", 1.0), "version", "expected 1"),
    ("missing-certificate", mutated("certificate", DEL), "certificate", "required field"),
    ("certificate-array", mutated("certificate", []), "certificate", "expected a JSON object"),
    ("missing-sha256", mutated("certificate.sha256Hash", DEL), "certificate.sha256Hash",
     "required"),
    ("sha256-short", mutated("certificate.sha256Hash", "ab" * 31), "certificate.sha256Hash",
     "expected 64 hex characters"),
    ("sha256-not-hex", mutated("certificate.sha256Hash", "zz" * 32), "certificate.sha256Hash",
     "not hex"),
    ("sha256-0x", mutated("certificate.sha256Hash", "0x" + "ab" * 31),
     "certificate.sha256Hash", "0x"),
    ("unknown-status", mutated("certificate.status", "done"), "certificate.status",
     "not one of"),
    ("testmode-string", mutated("certificate.testMode", "false"), "certificate.testMode",
     "expected true or false"),
    ("missing-testmode", mutated("certificate.testMode", DEL), "certificate.testMode",
     "required"),
    ("filesize-negative", mutated("certificate.fileSize", -1), "certificate.fileSize",
     "out of range"),
    ("filesize-string", mutated("certificate.fileSize", "12"), "certificate.fileSize",
     "expected an integer"),
    ("filesize-fraction", mutated("certificate.fileSize", 1.5), "certificate.fileSize",
     "expected an integer"),
    ("null-optional", mutated("certificate.fileName", None), "certificate.fileName",
     "null is not allowed"),
    ("metadata-array", mutated("certificate.metadata", [1]), "certificate.metadata",
     "expected an object"),
    ("lone-surrogate", mutated("certificate.fileName", None).replace(
        b'"fileName": null', b'"fileName": "a\\ud800b"'), "certificate.fileName", "surrogate"),
    ("missing-timestamp", mutated("timestamp", DEL), "timestamp", "required"),
    ("timestamp-type", mutated("timestamp.type", "rfc3339"), "timestamp.type", "\"rfc3161\""),
    ("token-not-base64", mutated("timestamp.token", "abc$"), "timestamp.token", "not base64"),
    ("token-urlsafe", mutated("timestamp.token", "ab-_"), "timestamp.token", "URL-safe"),
    ("token-no-padding", mutated("timestamp.token", "YWJjZA"), "timestamp.token",
     "multiple of 4"),
    ("token-whitespace", mutated("timestamp.token", "YWJj\nZA=="), "timestamp.token",
     "whitespace"),
    ("token-too-big", mutated("timestamp.token",
                              base64.b64encode(b"\0" * (MAX_TOKEN_BYTES + 3)).decode()),
     "timestamp.token", "limit"),
    ("extracerts-not-array", mutated("timestamp.extraCerts", "MIIB"), "timestamp.extraCerts",
     "expected an array"),
    ("extracerts-too-many", mutated("timestamp.extraCerts", ["AAAA"] * (MAX_EXTRA_CERTS + 1)),
     "timestamp.extraCerts", "over the limit"),
    ("extracert-empty", mutated("timestamp.extraCerts", [""]), "timestamp.extraCerts[0]",
     "empty"),
    ("confirmed-without-anchor", mutated("anchor", DEL), "anchor", "confirmed"),
    ("confirmed-null-anchor", mutated("anchor", None), "anchor", "confirmed"),
    ("anchor-type", mutated("anchor.type", "ethereum"), "anchor.type", "bitcoin-op-return"),
    ("unknown-network", mutated("anchor.network", "liquid"), "anchor.network", "not one of"),
    ("root-without-path", mutated("anchor.path", DEL), "anchor.path", "required with"),
    ("path-step-both", mutated("anchor.path.0", {"left": H, "right": H}), "anchor.path[0]",
     "exactly one of left or right"),
    ("path-step-none", mutated("anchor.path.0", {"up": H}), "anchor.path[0]",
     "needs left or right"),
    ("path-step-short", mutated("anchor.path.0", {"left": "ab"}), "anchor.path[0].left",
     "expected 64 hex"),
    ("path-too-long", mutated("anchor.path", [{"left": H}] * (MAX_PATH_STEPS + 1)),
     "anchor.path", "over the limit of 64"),
    ("txid-missing", mutated("anchor.transaction.txid", DEL), "anchor.transaction.txid",
     "required"),
    ("tx-hex-odd", mutated("anchor.transaction.hex", "abc"), "anchor.transaction.hex",
     "odd number"),
    ("output-index-negative", mutated("anchor.transaction.outputIndex", -1),
     "anchor.transaction.outputIndex", "out of range"),
    ("block-height-missing", mutated("anchor.block.height", DEL), "anchor.block.height",
     "required"),
    ("block-height-huge", mutated("anchor.block.height", 2**40), "anchor.block.height",
     "out of range"),
    ("header-wrong-length", mutated("anchor.block.header", "00" * 81), "anchor.block.header",
     "expected 160 hex"),
    ("header-group-partial", mutated("anchor.block.txIndex", DEL), "anchor.block.txIndex",
     "go together"),
    ("branch-too-long", mutated("anchor.block.merkleBranch", [H] * (MAX_BRANCH_ENTRIES + 1)),
     "anchor.block.merkleBranch", "over the limit of 32"),
    ("branch-entry-number", mutated("anchor.block.merkleBranch", [7]),
     "anchor.block.merkleBranch[0]", "expected a hex string"),
    ("block-hash-null", mutated("anchor.block.hash", None), "anchor.block.hash",
     "null is not allowed"),
]


@pytest.mark.parametrize("case", MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_bundle_is_a_format_failure(case):
    _, data, field, words = case
    with pytest.raises(BundleFormatError) as caught:
        parse_bundle(data)
    assert caught.value.field == field
    assert words in str(caught.value)
    report = verify(Digest(BASE["certificate"]["sha256Hash"]), data)
    assert report.indication is Indication.FAILED
    assert report.sub_indication is SubIndication.FORMAT_FAILURE
    check = report.check("bundle.format")
    assert check.indication is Indication.FAILED and words in check.message
    assert [c.id for c in report.checks if c.indication is Indication.FAILED] == ["bundle.format"]


def test_at_least_25_distinct_malformations():
    assert len({c[0] for c in MALFORMED}) >= 25
    assert len({c[1] for c in MALFORMED}) == len(MALFORMED)


@pytest.mark.parametrize("case", MALFORMED[::6], ids=[c[0] for c in MALFORMED[::6]])
def test_malformed_bundle_through_cli_has_no_traceback(case, tmp_path):
    _, data, field, words = case
    (tmp_path / "proof.json").write_bytes(data)
    (tmp_path / "doc").write_bytes((OK / "document.txt").read_bytes())
    proc = run_cli(["doc", "proof.json", "--json"], cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    report = json.loads(proc.stdout)
    assert report["subIndication"] == "FORMAT_FAILURE"
    assert words in report["checks"][0]["message"]
    assert (tmp_path / "proof.json").read_bytes() == data  # never modified


def test_oversize_bundle_is_refused_without_parsing(tmp_path):
    big = b" " * (MAX_BUNDLE_BYTES + 1)
    with pytest.raises(BundleFormatError, match="over the limit"):
        parse_bundle(big)
    (tmp_path / "proof.json").write_bytes(big)
    report = verify(Digest(H), tmp_path / "proof.json")
    assert report.check("bundle.format").sub_indication is SubIndication.FORMAT_FAILURE


def test_deep_nesting_is_a_format_failure():
    deep = b'{"type": "provelio-proof", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(BundleFormatError, match="deeper than 64 levels"):
        parse_bundle(deep)


def test_valid_bundle_parses_to_frozen_values():
    bundle = parse_bundle((OK / "proof.json").read_bytes())
    assert bundle.certificate.status is Status.CONFIRMED
    assert bundle.anchor is not None and bundle.anchor.block is not None
    assert len(bundle.anchor.block.header or b"") == 80
    assert bundle.warnings == ()
    with pytest.raises(AttributeError):
        bundle.certificate.status = Status.FAILED  # type: ignore[misc]


def test_hex_is_case_insensitive():
    upper = mutated("certificate.sha256Hash", BASE["certificate"]["sha256Hash"].upper())
    assert parse_bundle(upper).certificate.sha256_hash.hex() == BASE["certificate"]["sha256Hash"]


def test_unknown_keys_are_warnings_not_failures():
    data = mutated("anchor.block.futureField", 1)
    data = data.replace(b'"type": "provelio-proof"', b'"type": "provelio-proof", "extra": {}', 1)
    bundle = parse_bundle(data)
    assert "unknown key extra ignored" in bundle.warnings
    assert "unknown key anchor.block.futureField ignored" in bundle.warnings
    report = verify(Digest(BASE["certificate"]["sha256Hash"]), data)
    assert report.check("bundle.format").indication is Indication.PASSED
    assert "unknown key extra ignored" in report.warnings


def test_byte_order_mark_is_a_warning():
    bundle = parse_bundle(b"\xef\xbb\xbf" + (OK / "proof.json").read_bytes())
    assert any("byte order mark" in w for w in bundle.warnings)


def test_empty_token_is_not_a_format_failure():
    """Contract: valid base64 that is no parsable token fails timestamp.token instead."""
    bundle = parse_bundle(mutated("timestamp.token", ""))
    assert bundle.timestamp.token == b""


def test_non_confirmed_anchor_may_be_partial():
    doc = json.loads(json.dumps(BASE))
    doc["certificate"]["status"] = "anchoring"
    del doc["anchor"]["block"]
    bundle = parse_bundle(json.dumps(doc).encode())
    assert bundle.anchor is not None and bundle.anchor.block is None
    del doc["anchor"]["transaction"]
    assert parse_bundle(json.dumps(doc).encode()).anchor.transaction is None


def test_block_in_unconfirmed_bundle_is_checked_with_a_warning():
    bundle = parse_bundle(mutated("certificate.status", "anchoring"))
    assert any("names a block" in w for w in bundle.warnings)


def test_bundle_path_that_cannot_be_read_is_an_input_error(tmp_path):
    from provelio_verify import InputError

    with pytest.raises(InputError, match="cannot read"):
        verify(Digest(H), tmp_path / "absent.json")
    with pytest.raises(InputError):
        verify(Digest(H), Path(tmp_path))
