"""Issue 8: a capsule is evidence, never trust. Capsules are made by the real tool;
re-verification takes roots, policy and clock from the person re-verifying, judges the
chain from the capsule's header run only, and reads nothing outside the folder."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from test_timestamp_revocation import _tsa_pointing_to

from gen.revocation import crl
from gen.tsa_world import REVOCATION_TIME
from gen.world import world
from helpers.chainservers import ChainData, EsploraServer
from helpers.common import SCENARIOS, run_cli
from helpers.tsa_helpers import bundle, tsa_world
from provelio_verify import Indication, Policy, Verifier
from provelio_verify.bundle import Network
from provelio_verify.capsule import (
    CapsuleError,
    _chain_run,
    fingerprint,
    load_capsule,
    reverify,
    run_bounds,
    save_capsule,
)
from provelio_verify.chain import EsploraSource, HeadersFileSource
from provelio_verify.chain.base import ChainSource, Question, Reply
from provelio_verify.inputs.checkpoints import mainnet_checkpoints

TRUST = ["--tsa-roots", "roots.pem", "--allow-test-mode"]


def _pem(der: bytes) -> str:
    body = base64.b64encode(der).decode()
    lines = "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN CERTIFICATE-----\n{lines}\n-----END CERTIFICATE-----\n"


def _case(tmp_path: Path, name: str) -> Path:
    case = tmp_path / "case"
    shutil.copytree(SCENARIOS / name, case)
    return case


def _resum(capsule: Path) -> None:
    """Recompute SHA256SUMS over every file, as anyone altering a capsule can."""
    names = sorted(str(p.relative_to(capsule)) for p in capsule.rglob("*")
                   if p.is_file() and not p.is_symlink() and p.name != "SHA256SUMS")
    (capsule / "SHA256SUMS").write_text("".join(
        f"{hashlib.sha256((capsule / n).read_bytes()).hexdigest()}  {n}\n" for n in names))


def _edit_manifest(capsule: Path, edit) -> None:  # type: ignore[no-untyped-def]
    manifest = json.loads((capsule / "capsule.json").read_text())
    edit(manifest)
    (capsule / "capsule.json").write_text(json.dumps(manifest))
    _resum(capsule)


def _confirmed_capsule(tmp_path: Path) -> Path:
    case = _case(tmp_path, "ok-confirmed-regtest")
    saved = run_cli([*TRUST, "document.txt", "proof.json", "--headers", "headers.bin",
                     "--save-evidence", "capsule"], cwd=case)
    assert saved.returncode == 0, saved.stderr
    return case


# (2a) Trust comes only from the person re-verifying ------------------------------------

def test_a_capsule_made_under_an_attackers_root_does_not_pass_under_the_victims_roots(
        tmp_path):
    case = _case(tmp_path, "tsa-untrusted-root")  # a sound token under another root
    other = tsa_world().other_root.der
    (case / "attacker-root.pem").write_text(_pem(other))
    # The attacker's own run passes: it trusts its own root, and the capsule says so.
    made = run_cli(["document.txt", "proof.json", "--tsa-roots", "attacker-root.pem",
                    "--save-evidence", "capsule"], cwd=case)
    assert made.returncode == 0, made.stdout + made.stderr
    assert (case / "capsule" / "roots" / "01.pem").exists()
    # The victim re-verifies with the roots they trust: not PASSED.
    victim = run_cli(["--evidence", "capsule", "--tsa-roots", "roots.pem", "--json"],
                     cwd=case)
    assert victim.returncode == 3, victim.stdout + victim.stderr
    report = json.loads(victim.stdout)
    chain = next(c for c in report["checks"] if c["id"] == "timestamp.chain")
    assert (chain["indication"], chain["subIndication"]) == \
        ("INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND")
    mine = (case / "roots.pem").read_text()
    mine_der = base64.b64decode("".join(mine.strip().splitlines()[1:-1]))
    note = next(w for w in report["warnings"] if w.startswith("capsule recorded roots"))
    assert f"sha256:{fingerprint(other)}" in note
    assert f"you trusted: sha256:{fingerprint(mine_der)}" in note
    assert any("differs from the one recorded" in w for w in report["warnings"])
    # No roots at all: as a normal run without roots, the chain is INDETERMINATE.
    bare = run_cli(["--evidence", "capsule"], cwd=case)
    assert bare.returncode == 3, bare.stdout + bare.stderr
    assert "you trusted: no roots" in bare.stdout  # shown in the text output too


def test_a_capsule_passes_again_under_the_right_roots(tmp_path):
    case = _case(tmp_path, "ok-created")
    made = run_cli(["document.txt", "proof.json", "--tsa-roots", "roots.pem",
                    "--save-evidence", "capsule"], cwd=case)
    assert made.returncode == 0, made.stderr
    again = run_cli(["--evidence", "capsule", "--tsa-roots", "roots.pem", "document.txt"],
                    cwd=case)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "(the same)" in again.stdout and "the capsule's recorded policy is yours" \
        in again.stdout
    assert "the verdict is the one recorded" in again.stdout


def test_the_recorded_policy_is_shown_not_used(tmp_path):
    case = _confirmed_capsule(tmp_path)  # saved with --allow-test-mode
    refused = run_cli(["--evidence", "capsule", "--tsa-roots", "roots.pem", "--json"],
                      cwd=case)
    assert refused.returncode == 1, refused.stdout
    report = json.loads(refused.stdout)
    assert report["subIndication"] == "TEST_MODE"
    assert any("recorded policy allow_test_mode=true, yours false" in w
               for w in report["warnings"])
    assert run_cli(["--evidence", "capsule", *TRUST], cwd=case).returncode == 0
    # A capsule whose manifest claims a laxer policy gains nothing by it either.
    _edit_manifest(case / "capsule",
                   lambda m: m["policy"].update(min_confirmations=1, allow_test_mode=True))
    deep = run_cli(["--evidence", "capsule", *TRUST, "--min-confirmations", "500"], cwd=case)
    assert deep.returncode == 3, deep.stdout
    assert "recorded policy min_confirmations=1, yours 500" in deep.stdout


def test_recorded_revocation_data_is_judged_against_the_users_roots(tmp_path):
    """A CRL in the capsule is evidence: it settles revocation only when it verifies
    under the roots the re-verifier gives."""
    _, token = _tsa_pointing_to("http://127.0.0.1:9", crl_path="/tsa.crl", ocsp_path=None)
    tw = tsa_world()
    the_crl = crl(tw.root, [], this_update=REVOCATION_TIME)
    policy = Policy(tsa_roots=(tw.root.der,), crls=(the_crl,))
    verifier = Verifier(policy)
    verification = verifier.verify_detailed(io.BytesIO(world().document), bundle(token))
    assert verification.report.check("timestamp.revocation").indication is Indication.PASSED
    save_capsule(tmp_path / "capsule", verification, verifier)
    capsule = load_capsule(tmp_path / "capsule")
    ok = reverify(capsule, policy=Policy(tsa_roots=(tw.root.der,)))
    assert ok.check("timestamp.revocation").indication is Indication.PASSED
    other = reverify(capsule, policy=Policy(tsa_roots=(tw.other_root.der,)))
    assert other.indication is not Indication.PASSED
    assert other.check("timestamp.revocation").indication is Indication.INDETERMINATE


# (2b) The clock ------------------------------------------------------------------------

def test_the_clock_is_the_verifiers_not_the_recorded_moment(tmp_path):
    case = _confirmed_capsule(tmp_path)
    # A capsule claiming an old moment: that claim sets no clock.
    _edit_manifest(case / "capsule", lambda m: m.update(createdAt="2001-01-01T00:00:00Z"))
    capsule = load_capsule(case / "capsule")
    trust = (tsa_world().root.der,)
    again = reverify(capsule, policy=Policy(tsa_roots=trust, allow_test_mode=True))
    assert again.to_dict()["verifiedAt"] >= capsule.recorded_report["verifiedAt"]
    assert any("(recorded at 2001-01-01T00:00:00Z)" in w and "with this verifier's clock"
               in w for w in again.warnings)
    later = datetime(2040, 1, 1, tzinfo=UTC)
    pinned = reverify(capsule, policy=Policy(tsa_roots=trust, allow_test_mode=True, now=later))
    assert pinned.to_dict()["verifiedAt"] == "2040-01-01T00:00:00Z"
    assert pinned.indication is Indication.PASSED


# (2c) The chain: only the capsule's header run, judged as a headers file ------------------

def test_a_capsule_without_its_header_run_leaves_the_chain_indeterminate(tmp_path):
    case = _confirmed_capsule(tmp_path)
    capsule = case / "capsule"
    (capsule / "chain" / "headers.bin").unlink()
    _edit_manifest(capsule, lambda m: m["files"].pop("chainHeaders"))  # an older capsule
    proc = run_cli(["--evidence", "capsule", *TRUST, "--json"], cwd=case)
    assert proc.returncode == 3, proc.stdout
    report = json.loads(proc.stdout)
    chain = next(c for c in report["checks"] if c["id"] == "anchor.chain")
    assert chain["indication"] == "INDETERMINATE"
    assert "holds no chain/headers.bin" in chain["message"]
    assert "--headers" in chain["message"]
    # The recorded answers (which put the block there) establish nothing by themselves;
    # the user's own headers file settles it.
    settled = run_cli(["--evidence", "capsule", *TRUST, "--headers", "headers.bin"],
                      cwd=case)
    assert settled.returncode == 0, settled.stdout


def test_a_remote_source_is_asked_for_a_bounded_run_only(tmp_path, monkeypatch):
    data = ChainData.of(world().anchoring.chain)
    case = _case(tmp_path, "ok-confirmed-regtest")
    with EsploraServer(data) as esplora:
        verifier = Verifier(Policy(tsa_roots=(tsa_world().root.der,), allow_test_mode=True),
                            [EsploraSource(esplora.url)])
        verification = verifier.verify_detailed(case / "document.txt", case / "proof.json")
        assert verification.report.indication is Indication.PASSED
        bundle = verification.bundle
        run = _chain_run(bundle, verifier.policy, verifier.sources)
        assert not isinstance(run, str) and run.first_height == 0
        assert run.data == (case / "headers.bin").read_bytes()[:len(run.data)]
        monkeypatch.setattr("provelio_verify.capsule.MAX_FETCHED_HEADERS", 2)
        lacking = _chain_run(bundle, verifier.policy, verifier.sources)
        assert isinstance(lacking, str) and "over the 2 a capsule asks" in lacking


def test_the_run_spans_the_checkpoints_around_the_anchor():
    cps = mainnet_checkpoints()
    assert run_bounds(481815, cps) == (479807, 481823)  # from the one below, through above
    assert run_bounds(4031, cps) == (4031, 6047)  # a checkpoint itself: through the next
    assert run_bounds(10, cps) == (0, 2015)  # the first period: from the genesis
    assert run_bounds(cps.last_height + 7, cps) == (cps.last_height, None)  # to the tip
    assert run_bounds(12, None) == (0, None)  # test networks: from the genesis


# (3) Capsule files stay inside the folder -----------------------------------------------

def test_a_manifest_naming_a_file_outside_the_capsule_is_refused(tmp_path):
    case = _confirmed_capsule(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(case / "roots.pem", outside / "x.pem")
    _edit_manifest(case / "capsule", lambda m: m["files"].update(roots=["../outside/x.pem"]))
    proc = run_cli(["--evidence", "capsule", *TRUST], cwd=case)
    assert proc.returncode == 2, proc.stdout
    assert "not a readable capsule" in proc.stderr and "does not list" in proc.stderr
    with pytest.raises(CapsuleError, match="only checked files inside the capsule"):
        load_capsule(case / "capsule")


def test_sums_naming_a_file_outside_the_capsule_are_refused(tmp_path):
    case = _confirmed_capsule(tmp_path)
    sums = case / "capsule" / "SHA256SUMS"
    digest = hashlib.sha256((case / "roots.pem").read_bytes()).hexdigest()
    for name in ("../roots.pem", "/etc/hostname", "roots/../../roots.pem", "./capsule.json"):
        original = sums.read_text()
        sums.write_text(original + f"{digest}  {name}\n")
        proc = run_cli(["--evidence", "capsule", *TRUST], cwd=case)
        assert proc.returncode == 2 and "relative name inside the capsule" in proc.stderr, name
        sums.write_text(original)


@pytest.mark.parametrize("where", ["file", "folder"])
def test_a_symbolic_link_in_a_capsule_is_refused(tmp_path, where):
    case = _confirmed_capsule(tmp_path)
    capsule = case / "capsule"
    outside = tmp_path / "outside"
    outside.mkdir()
    if where == "file":
        shutil.copy(capsule / "roots" / "01.pem", outside / "x.pem")
        (capsule / "roots" / "01.pem").unlink()
        os.symlink(outside / "x.pem", capsule / "roots" / "01.pem")
    else:
        shutil.move(capsule / "roots", outside / "roots")
        os.symlink(outside / "roots", capsule / "roots")
    proc = run_cli(["--evidence", "capsule", *TRUST], cwd=case)
    assert proc.returncode == 2, proc.stdout
    assert "is a symbolic link" in proc.stderr


# (11) A malformed capsule is a usage error ----------------------------------------------

@pytest.mark.parametrize("edit", [
    pytest.param(lambda m: m["files"].update(roots="roots/01.pem"), id="roots-not-a-list"),
    pytest.param(lambda m: m["files"].update(report=7), id="file-not-a-string"),
    pytest.param(lambda m: m["files"].update(crls=[None]), id="list-entry-not-a-string"),
    pytest.param(lambda m: m.update(files=[]), id="files-not-an-object"),
    pytest.param(lambda m: m["subject"]["digests"].update(sha256="zz" * 32),
                 id="digest-not-hex"),
    pytest.param(lambda m: m["subject"].update(digests="abc"), id="digests-not-an-object"),
    pytest.param(lambda m: m["subject"].update(size="12"), id="size-not-a-count"),
    pytest.param(lambda m: m.update(subject=[]), id="subject-not-an-object"),
    pytest.param(lambda m: m.update(capsuleVersion=True), id="version-true"),
])
def test_a_malformed_manifest_is_a_usage_error(tmp_path, edit):
    case = _confirmed_capsule(tmp_path)
    _edit_manifest(case / "capsule", edit)
    proc = run_cli(["--evidence", "capsule", *TRUST], cwd=case)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert "capsule" in proc.stderr


@pytest.mark.parametrize("answers", ["[]", '{"a": 5}', '{"a": [1]}',
                                     '{"a": [{"question": "tip", "height": [1], "answer": 1}]}',
                                     '{"a": [{"question": "nope", "answer": 1}]}', "null"])
def test_malformed_chain_answers_are_a_usage_error(tmp_path, answers):
    case = _confirmed_capsule(tmp_path)
    (case / "capsule" / "chain" / "answers.json").write_text(answers)
    _resum(case / "capsule")
    proc = run_cli(["--evidence", "capsule", *TRUST], cwd=case)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "not a readable capsule" in proc.stderr


# (2c) on mainnet: the run between the shipped checkpoints, sliced or walked ----------------

class _Asked(ChainSource):
    """A source answered header by header (as a remote one is), from a headers file."""

    kind = "asked"

    def __init__(self, inner: HeadersFileSource) -> None:
        super().__init__("asked")
        self.inner = inner

    def _answer(self, question: Question) -> Reply:
        return self.inner._answer(question)


def test_a_mainnet_run_spans_the_checkpoints_around_the_anchor(tmp_path):
    data = (Path(__file__).parent / "data" / "bitcoin" / "headers"
            / "mainnet_headers_150001_340000.bin").read_bytes()
    first, last = 197567, 203000  # a checkpoint (2016 * 98 - 1), and some way above
    (tmp_path / "h.bin").write_bytes(data[(first - 150001) * 80:(last - 150001 + 1) * 80])
    headers = HeadersFileSource(tmp_path / "h.bin")
    anchored = SimpleNamespace(anchor=SimpleNamespace(network=Network.MAINNET,
                                                      block=SimpleNamespace(height=200000)))
    policy = Policy()
    sliced = _chain_run(anchored, policy, (headers,))  # type: ignore[arg-type]
    walked = _chain_run(anchored, policy, (_Asked(headers),))  # type: ignore[arg-type]
    for run in (sliced, walked):
        assert not isinstance(run, str), run
        assert (run.first_height, run.tip_height) == (199583, 201599)  # checkpoint to checkpoint
        assert run.data == data[(199583 - 150001) * 80:(201599 - 150001 + 1) * 80]
    assert (sliced.source, walked.source) == (headers.label, "asked")  # type: ignore[union-attr]
    # A source whose chain cannot reach the checkpoint above gives no run.
    (tmp_path / "short.bin").write_bytes(data[(first - 150001) * 80:(200500 - 150001) * 80])
    short = _chain_run(anchored, policy, (HeadersFileSource(tmp_path / "short.bin"),))  # type: ignore[arg-type]
    assert isinstance(short, str) and "below height 201599" in short
