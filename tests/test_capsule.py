"""Evidence capsules: saved from real runs, re-verified offline with the sources gone."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path

import pytest
from test_timestamp_revocation import (
    _fetching,
    _tsa_pointing_to,
    responder,  # noqa: F401 - a fixture
)

from gen.revocation import crl
from gen.tsa_world import REVOCATION_TIME
from gen.world import world
from helpers.chainservers import BitcoinRpcServer, ChainData, EsploraServer
from helpers.common import SCENARIOS, run_cli
from helpers.tsa_helpers import bundle, tsa_world
from provelio_verify import Indication, Policy
from provelio_verify.capsule import CapsuleError, load_capsule, reverify, save_capsule

OK = SCENARIOS / "ok-confirmed-regtest"
BASE = ["document.txt", "proof.json", "--tsa-roots", "roots.pem", "--allow-test-mode"]
#: A re-verification's trust and policy: the re-verifier's own, on the command line.
TRUST = ["--tsa-roots", "roots.pem", "--allow-test-mode"]


def _copy_case(tmp_path: Path) -> Path:
    case = tmp_path / "case"
    shutil.copytree(OK, case)
    return case


def _same_verdicts(recorded: dict, now: dict) -> None:
    assert now["indication"] == recorded["indication"]
    assert now["subIndication"] == recorded["subIndication"]
    assert now["existence"] == recorded["existence"]
    assert now["subject"]["sha256"] == recorded["subject"]["sha256"]
    assert now["verifiedAt"] >= recorded["verifiedAt"]  # this verifier's clock, not the record's
    for old, new in zip(recorded["checks"], now["checks"], strict=True):
        assert (new["id"], new["indication"], new["subIndication"]) == \
            (old["id"], old["indication"], old["subIndication"])
        if not new["id"].startswith("anchor."):  # anchor messages name the (replay) source
            assert new["message"] == old["message"], new["id"]


def test_capsule_from_loopback_sources_reverifies_with_the_sources_stopped(tmp_path):
    case = _copy_case(tmp_path)
    data = ChainData.of(world().anchoring.chain)
    with EsploraServer(data) as esplora, BitcoinRpcServer(data) as node:
        saved = run_cli([*BASE, "--esplora", esplora.url, "--bitcoin-node",
                         node.url_with_credentials(), "--save-evidence", "capsule", "--json"],
                        cwd=case)
        assert saved.returncode == 0, saved.stderr
    recorded = json.loads(saved.stdout)
    chain = next(c for c in recorded["checks"] if c["id"] == "anchor.chain")
    assert chain["indication"] == "PASSED"
    # The servers are gone: a live run can no longer establish the chain...
    live = run_cli([*BASE, "--esplora", esplora.url, "--json"], cwd=case)
    assert json.loads(live.stdout)["indication"] == "INDETERMINATE"
    # ...but the capsule re-verifies offline, to the same report.
    again = run_cli(["--evidence", "capsule", *TRUST, "--json"], cwd=case)
    assert again.returncode == 0, again.stderr
    now = json.loads(again.stdout)
    _same_verdicts(recorded, now)
    # The chain was judged by the header run the capsule holds, fetched from a source.
    manifest = json.loads((case / "capsule" / "capsule.json").read_text())
    assert manifest["files"]["chainHeaders"] == "chain/headers.bin"
    assert manifest["chainHeaders"]["firstHeight"] == 0  # regtest: from the genesis
    assert any("judged by the capsule's chain/headers.bin" in w for w in now["warnings"])
    assert any("the verdict is the one recorded" in w for w in now["warnings"])
    assert any("was not read again" in w for w in now["warnings"])
    # No credentials were written anywhere in the capsule.
    for path in (case / "capsule").rglob("*"):
        if path.is_file():
            assert b"s3cret" not in path.read_bytes() and b"secret" not in path.read_bytes()


def test_capsule_holds_a_checksummed_record_a_person_can_check(tmp_path):
    case = _copy_case(tmp_path)
    proc = run_cli([*BASE, "--headers", "headers.bin", "--save-evidence", "capsule"], cwd=case)
    assert proc.returncode == 0, proc.stderr
    capsule = case / "capsule"
    names = {str(p.relative_to(capsule)) for p in capsule.rglob("*") if p.is_file()}
    assert {"capsule.json", "proof.json", "token.der", "roots/01.pem", "chain/answers.json",
            "report.json", "report.html", "README.txt", "SHA256SUMS"} <= names
    assert (capsule / "proof.json").read_bytes() == (case / "proof.json").read_bytes()
    sums = dict(reversed(line.split("  ", 1)) for line in
                (capsule / "SHA256SUMS").read_text().splitlines())
    assert set(sums) == names - {"SHA256SUMS"}
    for name, digest in sums.items():
        assert hashlib.sha256((capsule / name).read_bytes()).hexdigest() == digest
    manifest = json.loads((capsule / "capsule.json").read_text())
    assert manifest["subject"]["digests"]["sha256"] == hashlib.sha256(
        (case / "document.txt").read_bytes()).hexdigest()
    assert manifest["sources"] == [{"source": "headers-file headers.bin", "kind": "headers-file"}]
    # Without the headers file, the capsule still re-verifies (answers replayed).
    (case / "headers.bin").unlink()
    again = run_cli(["--evidence", "capsule", *TRUST], cwd=case)
    assert again.returncode == 0 and "the verdict is the one recorded" in again.stdout
    # Sliced from the headers file: from its genesis to its tip.
    assert (capsule / "chain" / "headers.bin").read_bytes() == \
        (OK / "headers.bin").read_bytes()


def test_an_altered_capsule_is_refused_naming_the_file(tmp_path):
    case = _copy_case(tmp_path)
    run_cli([*BASE, "--headers", "headers.bin", "--save-evidence", "capsule"], cwd=case)
    answers = case / "capsule" / "chain" / "answers.json"
    answers.write_text(answers.read_text().replace('"height": 3', '"height": 4', 1))
    proc = run_cli(["--evidence", "capsule", *TRUST], cwd=case)
    assert proc.returncode == 2
    assert "chain/answers.json" in proc.stderr and "altered" in proc.stderr
    with pytest.raises(CapsuleError, match="altered"):
        load_capsule(case / "capsule")


def _resum(capsule: Path) -> None:
    """Recompute SHA256SUMS, as anyone altering a capsule can."""
    names = sorted(str(p.relative_to(capsule)) for p in capsule.rglob("*")
                   if p.is_file() and p.name != "SHA256SUMS")
    (capsule / "SHA256SUMS").write_text("".join(
        f"{hashlib.sha256((capsule / n).read_bytes()).hexdigest()}  {n}\n" for n in names))


def test_consistently_forged_chain_answers_settle_nothing(tmp_path):
    """Rewriting recorded header answers and the checksums changes nothing: recorded
    answers never speak for the chain (the capsule's header run does)."""
    case = _copy_case(tmp_path)
    run_cli([*BASE, "--headers", "headers.bin", "--save-evidence", "capsule"], cwd=case)
    capsule = case / "capsule"
    answers = json.loads((capsule / "chain" / "answers.json").read_text())
    for records in answers.values():
        for record in records:
            if record.get("question") in ("header", "blockHash"):
                record["answer"] = "00" * 32
            if record.get("question") == "tip":
                record["answer"] = 10 ** 6
    (capsule / "chain" / "answers.json").write_text(json.dumps(answers))
    _resum(capsule)
    proc = run_cli(["--evidence", "capsule", *TRUST, "--json"], cwd=case)
    report = json.loads(proc.stdout)
    assert proc.returncode == 0, proc.stdout
    assert any("the verdict is the one recorded" in w for w in report["warnings"])


def test_a_consistently_forged_header_run_is_caught(tmp_path):
    case = _copy_case(tmp_path)
    run_cli([*BASE, "--headers", "headers.bin", "--save-evidence", "capsule"], cwd=case)
    capsule = case / "capsule"
    run = bytearray((capsule / "chain" / "headers.bin").read_bytes())
    run[-80 + 36] ^= 1  # the tip's Merkle root: its proof-of-work no longer holds
    (capsule / "chain" / "headers.bin").write_bytes(bytes(run))
    _resum(capsule)
    proc = run_cli(["--evidence", "capsule", *TRUST, "--json"], cwd=case)
    report = json.loads(proc.stdout)
    assert report["indication"] != "PASSED"
    chain = next(c for c in report["checks"] if c["id"] == "anchor.chain")
    assert chain["indication"] != "PASSED" and "does not validate" in chain["message"]
    assert any("differs from the one recorded" in w for w in report["warnings"])


def test_reverifying_with_a_changed_file_fails_and_says_what_changed(tmp_path):
    case = _copy_case(tmp_path)
    run_cli([*BASE, "--headers", "headers.bin", "--save-evidence", "capsule"], cwd=case)
    (case / "document.txt").write_bytes(b"not the document")
    proc = run_cli(["--evidence", "capsule", "document.txt", *TRUST, "--json"], cwd=case)
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert report["subIndication"] == "HASH_FAILURE"
    assert any("recorded PASSED, now FAILED" in w for w in report["warnings"])


@pytest.mark.parametrize("extra", [
    ["--save-evidence", "other"], ["--digest", "00" * 32], ["--jobs", "2"],
])
def test_options_that_do_not_go_with_evidence_are_refused(tmp_path, extra):
    case = _copy_case(tmp_path)
    run_cli([*BASE, "--headers", "headers.bin", "--save-evidence", "capsule"], cwd=case)
    proc = run_cli(["--evidence", "capsule", *TRUST, *extra], cwd=case)
    assert proc.returncode == 2 and "do not go with it" in proc.stderr, proc.stderr


def test_capsule_folder_must_be_new_and_no_input(tmp_path):
    case = _copy_case(tmp_path)
    (case / "full").mkdir()
    (case / "full" / "x").write_text("x")
    roots = case / "roots"
    roots.mkdir()
    shutil.copy(case / "roots.pem", roots / "r.pem")
    for target, words in (("full", "not an empty folder"), ("roots/cap", "input"),
                          ("document.txt", "not an empty folder")):
        args = [*BASE[:2], "--tsa-roots", "roots", "--allow-test-mode", "--save-evidence",
                target]
        proc = run_cli(args, cwd=case)
        assert proc.returncode == 2 and words in proc.stderr, (target, proc.stderr)
    proc = run_cli(["--batch", ".", "--save-evidence", "cap"], cwd=case)
    assert proc.returncode == 2 and "single verification" in proc.stderr


def test_not_a_capsule(tmp_path):
    proc = run_cli(["--evidence", str(tmp_path)])
    assert proc.returncode == 2 and "SHA256SUMS" in proc.stderr


def test_fetched_revocation_is_kept_and_judged_again_offline(tmp_path, responder):  # noqa: F811
    base, handler = responder
    cert, token = _tsa_pointing_to(base, crl_path="/tsa.crl", ocsp_path=None)
    handler.crl = crl(tsa_world().root, [], this_update=REVOCATION_TIME)
    verifier = _fetching(fetch_revocation=True)
    verification = verifier.verify_detailed(io.BytesIO(world().document), bundle(token))
    assert verification.report.check("timestamp.revocation").indication is Indication.PASSED
    save_capsule(tmp_path / "capsule", verification, verifier)
    assert handler.seen == [("GET", "/tsa.crl")]
    handler.crl = b""  # the responder forgets: a live run could no longer settle it
    capsule = load_capsule(tmp_path / "capsule")
    assert len(capsule.crls) == 1
    # Judged against the re-verifier's roots (the same test root here), never fetched.
    again = reverify(capsule, policy=Policy(tsa_roots=(tsa_world().root.der,)))
    assert again.check("timestamp.revocation").indication is Indication.PASSED
    assert handler.seen == [("GET", "/tsa.crl")]  # nothing fetched the second time
    assert again.indication is verification.report.indication


def test_a_verification_carries_only_what_it_fetched(tmp_path, responder):  # noqa: F811
    """Layout follow-up D9: a reused Verifier's second verification (here one that
    fetches nothing: the token's certificate names no CRL) does not carry, or put in
    its capsule, what the first one fetched."""
    base, handler = responder
    _, token = _tsa_pointing_to(base, crl_path="/tsa.crl", ocsp_path=None)
    handler.crl = crl(tsa_world().root, [], this_update=REVOCATION_TIME)
    verifier = _fetching(fetch_revocation=True)
    first = verifier.verify_detailed(io.BytesIO(world().document), bundle(token))
    assert [kind for kind, _ in first.fetched_revocation] == ["crl"]
    _, other = _tsa_pointing_to(base, crl_path=None, ocsp_path=None)
    second = verifier.verify_detailed(io.BytesIO(world().document), bundle(other))
    assert second.fetched_revocation == ()
    save_capsule(tmp_path / "capsule", second, verifier)
    assert load_capsule(tmp_path / "capsule").crls == ()
