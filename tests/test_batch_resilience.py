"""One bad item never stops a batch: whatever is wrong with it (a FIFO, a folder named
like a bundle, a device, an over-size proof, a row that does not parse, a defect that
raises) becomes that item's own report, and every other item is verified."""

from __future__ import annotations

import json
import os
import shutil

import pytest

import provelio_verify as pv
from helpers.common import SCENARIOS, run_cli
from provelio_verify.batch import discover, run_batch
from provelio_verify.bundle import MAX_BUNDLE_BYTES

OK = SCENARIOS / "ok-created"
TIMEOUT = 120  # a hang on one item fails the test instead of hanging it

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")


@pytest.fixture
def work(tmp_path):
    for name in ("document.txt", "proof.json", "roots.pem"):
        shutil.copy(OK / name, tmp_path / name)
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "dir.proof.json").mkdir()
    with open(tmp_path / "huge.proof.json", "wb") as out:
        out.truncate(MAX_BUNDLE_BYTES + 1)  # sparse: over the limit, no disk used
    return tmp_path


def _single_indication(work):
    proc = run_cli(["document.txt", "proof.json", "--tsa-roots", "roots.pem", "--json"],
                   cwd=work, timeout=TIMEOUT)
    return json.loads(proc.stdout)["indication"]


def _rows(work):
    rows = [
        '{"file": "document.txt", "proof": "proof.json"}',
        '{"file": "fifo", "proof": "proof.json"}',
        '{"file": "document.txt", "proof": "fifo"}',
        '{"file": "document.txt", "proof": "dir.proof.json"}',
        '{"file": "document.txt", "proof": "huge.proof.json"}',
        '{"file": "document.txt", "proof": "proof.json", "digest": ' + "7" * 5000 + "}",
        '{"file": "docu\\u0000ment.txt", "proof": "proof.json"}',
        '{"file": "document.txt", "proof": "proof.json"}',
    ]
    if os.path.exists("/dev/zero"):
        rows.insert(2, '{"file": "/dev/zero", "proof": "proof.json"}')
    return rows


def test_a_manifest_of_bad_rows_gives_one_report_per_row_and_finishes(work):
    rows = _rows(work)
    (work / "manifest.jsonl").write_text("\n".join(rows) + "\n")
    proc = run_cli(["--batch", "manifest.jsonl", "--jsonl", "out.jsonl", "--jobs", "2",
                    "--tsa-roots", "roots.pem"], cwd=work, timeout=TIMEOUT)
    assert proc.returncode in (1, 3), (proc.stdout, proc.stderr)  # a verdict, not usage
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    reports = [json.loads(line) for line in (work / "out.jsonl").read_text().splitlines()]
    assert [r["item"]["index"] for r in reports] == list(range(len(rows)))
    good = _single_indication(work)
    assert reports[0]["indication"] == reports[-1]["indication"] == good
    assert all(r["indication"] != "PASSED" for r in reports[1:-1])
    assert f"summary: {len(rows)} of {len(rows)} item(s) verified" in proc.stdout


def test_a_folder_with_a_fifo_and_a_folder_named_like_a_bundle_goes_on(work):
    batch = work / "batch"
    batch.mkdir()
    for name in ("a.txt", "c.txt", "z.txt"):
        shutil.copy(work / "document.txt", batch / name)
        shutil.copy(work / "proof.json", batch / f"{name}.proof.json")
    os.mkfifo(batch / "b.txt")
    shutil.copy(work / "proof.json", batch / "b.txt.proof.json")
    (batch / "c.txt.proof.json").unlink()
    (batch / "c.txt.proof.json").mkdir()  # a folder where c.txt's proof should be
    proc = run_cli(["--batch", "batch", "--jsonl", "out.jsonl", "--tsa-roots", "roots.pem"],
                   cwd=work, timeout=TIMEOUT)
    assert "Traceback" not in proc.stderr, proc.stderr
    reports = {r["item"]["name"]: r for r in
               map(json.loads, (work / "out.jsonl").read_text().splitlines())}
    assert sorted(reports) == ["a.txt", "b.txt", "c.txt", "z.txt"]
    good = _single_indication(work)
    assert reports["a.txt"]["indication"] == reports["z.txt"]["indication"] == good
    assert reports["b.txt"]["indication"] != "PASSED"
    assert reports["c.txt"]["indication"] != "PASSED"


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_item_whose_verification_raises_gets_an_internal_error_report(work, monkeypatch,
                                                                         jobs):
    for name in ("a", "b", "c"):
        shutil.copy(work / "document.txt", work / f"{name}.txt")
        shutil.copy(work / "proof.json", work / f"{name}.txt.proof.json")
    for name in ("document.txt", "proof.json", "fifo", "dir.proof.json", "huge.proof.json"):
        target = work / name
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    verifier = pv.Verifier(pv.Policy(tsa_roots=pv.load_certificates(work / "roots.pem")))
    (work / "roots.pem").unlink()
    items, _ = discover(work)
    real_verify = pv.Verifier.verify

    def verify(self, subject, bundle, **kwargs):
        if os.fspath(bundle).endswith("b.txt.proof.json"):
            raise ZeroDivisionError("a defect")
        return real_verify(self, subject, bundle, **kwargs)

    monkeypatch.setattr(pv.Verifier, "verify", verify)
    outcomes = []
    summary = run_batch(items, verifier, jobs=jobs, on_outcome=outcomes.append)
    assert [o.item.name for o in outcomes] == ["a.txt", "b.txt", "c.txt"]
    assert summary.done == summary.total == 3 and not summary.interrupted
    broken = outcomes[1]
    assert (broken.indication.value, broken.sub_indication) == ("INDETERMINATE",
                                                                "INTERNAL_ERROR")
    assert "ZeroDivisionError: a defect" in broken.deciding[1]
    assert broken.report["item"]["name"] == "b.txt"
    assert outcomes[0].indication == outcomes[2].indication
    assert outcomes[0].sub_indication != "INTERNAL_ERROR"
