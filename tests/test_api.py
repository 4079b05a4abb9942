"""The library surface: verify(), Verifier, Policy, Digest, streams, errors."""

from __future__ import annotations

import io
import json
from datetime import datetime

import pytest

import provelio_verify as pv
from helpers.common import SCENARIOS

OK = SCENARIOS / "ok-created"
WRONG = SCENARIOS / "wrong-file"


def test_verify_a_path_a_stream_and_a_digest_agree():
    by_path = pv.verify(OK / "document.txt", OK / "proof.json")
    data = (OK / "document.txt").read_bytes()
    by_stream = pv.verify(io.BytesIO(data), (OK / "proof.json").read_bytes())
    digest = json.loads((OK / "proof.json").read_text())["certificate"]["sha256Hash"]
    by_digest = pv.verify(pv.Digest(digest), OK / "proof.json")
    for report in (by_path, by_stream, by_digest):
        assert report.check("file.sha256").indication is pv.Indication.PASSED
    assert by_path.subject["size"] == len(data) and by_digest.subject["size"] is None


def test_verify_takes_a_parsed_bundle():
    bundle = pv.parse_bundle((OK / "proof.json").read_bytes())
    report = pv.verify(OK / "document.txt", bundle)
    assert report.check("bundle.format").indication is pv.Indication.PASSED


def test_wrong_file_fails_and_verify_strict_raises():
    report = pv.verify(WRONG / "document.txt", WRONG / "proof.json")
    assert report.indication is pv.Indication.FAILED
    with pytest.raises(pv.VerificationFailed) as caught:
        pv.verify_strict(WRONG / "document.txt", WRONG / "proof.json")
    assert caught.value.report.check("file.sha256").indication is pv.Indication.FAILED


def test_one_root_catches_a_verdict_that_is_not_passed():
    """``except ProvelioError`` catches what verify_strict raises (layout guide D12)."""
    with pytest.raises(pv.ProvelioError) as caught:
        pv.verify_strict(WRONG / "document.txt", WRONG / "proof.json")
    assert isinstance(caught.value, pv.VerificationError)
    assert issubclass(pv.VerificationIndeterminate, pv.ProvelioError)


def test_unreadable_subject_is_an_input_error(tmp_path):
    with pytest.raises(pv.InputError, match="cannot read"):
        pv.verify(tmp_path / "absent", OK / "proof.json")


def test_digest_validation():
    with pytest.raises(ValueError):
        pv.Digest("abc")
    assert pv.Digest("AB" * 32).hex == "ab" * 32


def test_policy_rejects_naive_clock_and_bad_values():
    with pytest.raises(ValueError, match="timezone-aware"):
        pv.Policy(now=datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        pv.Policy(min_confirmations=0)
    with pytest.raises(TypeError):
        pv.Policy(tsa_roots=[b"x"])  # type: ignore[arg-type]


def test_subject_type_errors_are_clear():
    with pytest.raises(TypeError, match="path, a binary stream or a Digest"):
        pv.verify(12345, OK / "proof.json")  # type: ignore[arg-type]


def test_every_check_id_appears_once_in_every_report():
    for folder in SCENARIOS.iterdir():
        proof = folder / "proof.json"
        report = pv.verify(pv.Digest("00" * 32), proof.read_bytes())
        assert [c.id for c in report.checks] == list(pv.CHECK_IDS), folder.name


def test_load_certificates_reads_pem_der_and_folders(tmp_path):
    pem = (OK / "roots.pem").read_bytes()
    ders = pv.load_certificates(OK / "roots.pem")
    assert len(ders) == 1
    (tmp_path / "a.der").write_bytes(ders[0])
    (tmp_path / "b.pem").write_bytes(pem)
    assert pv.load_certificates(tmp_path / "a.der") == ders
    assert pv.load_certificates(tmp_path) == ders  # de-duplicated
    (tmp_path / "junk.txt").write_bytes(b"hello")
    with pytest.raises(pv.InputError, match="junk.txt"):
        pv.load_certificates(tmp_path)
