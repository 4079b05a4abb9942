"""Batch audits: discovery, the parallel engine, the CLI, interruption."""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime

import pytest

import provelio_verify as pv
from helpers.batch_archive import (
    ARCHIVE_HEADERS,
    ARCHIVE_ROOTS,
    build_archive,
    write_manifest_csv,
    write_manifest_jsonl,
)
from helpers.common import SCENARIOS, run_cli, run_on_terminal
from provelio_verify.batch import BatchItem, discover, run_batch, verify_item
from provelio_verify.chain import HeadersFileSource

OPTIONS = ["--tsa-roots", ARCHIVE_ROOTS, "--allow-test-mode", "--headers", ARCHIVE_HEADERS]


def _policy(target):
    return pv.Policy(tsa_roots=pv.load_certificates(target / ARCHIVE_ROOTS),
                     allow_test_mode=True)


def _verifier(target):
    """The library twin of OPTIONS."""
    return pv.Verifier(_policy(target), [HeadersFileSource(target / ARCHIVE_HEADERS)])


def _single(target, record, verifier):
    """What a single run gives for one archive item (the reference for the batch)."""
    file = target / "archive" / record["name"]
    proof = target / "archive" / f"{record['name']}.proof.json"
    if not proof.exists():
        return verifier.verify_without_proof(file, "missing").indication.value
    if not file.exists():
        return verifier.verify(pv.Missing("missing", record["name"]), proof).indication.value
    return verifier.verify(file, proof).indication.value


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    target = tmp_path_factory.mktemp("batch")
    records = build_archive(target, 1040)
    return target, records


def test_batch_of_a_thousand_items_matches_single_runs(archive):
    target, records = archive
    jsonl = target / "reports.jsonl"
    proc = run_cli(["--batch", "archive", "--jsonl", str(jsonl), "--jobs", "2", *OPTIONS],
                   cwd=target, timeout=600)
    assert "Traceback" not in proc.stderr
    reports = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert len(reports) == len(records) == 1040
    by_name = {r["item"]["name"]: r for r in reports}
    verifier = _verifier(target)
    singles = {}
    for record in records:
        key = (record["scenario"], record["kind"])
        if key not in singles:
            singles[key] = _single(target, record, verifier)
        assert by_name[record["name"]]["indication"] == singles[key], record
    counts = Counter(r["indication"] for r in reports)
    # The summary table states the same counts, and the exit status is the worst.
    for indication, n in counts.items():
        assert f"{indication:<13} {n:>8}" in proc.stdout
    expected_exit = 1 if counts["FAILED"] else 3 if counts["INDETERMINATE"] else 0
    assert proc.returncode == expected_exit
    # Every kind of outcome is in the archive.
    assert counts["FAILED"] and counts["INDETERMINATE"]
    subs = Counter(r["subIndication"] for r in reports)
    for sub in ("HASH_FAILURE", "FORMAT_FAILURE", "PROOF_NOT_FOUND", "SIGNED_DATA_NOT_FOUND"):
        assert subs[sub], sub
    # One line per item on stdout.
    item_lines = [line for line in proc.stdout.splitlines() if "-" in line[:40]
                  and line.split()[0] in ("PASSED", "FAILED", "INDETERMINATE")]
    assert len(item_lines) == 1040


def test_single_cli_runs_agree_with_the_batch_for_a_sample(archive):
    target, records = archive
    jsonl = target / "reports.jsonl"
    if not jsonl.exists():
        pytest.skip("runs after test_batch_of_a_thousand_items_matches_single_runs")
    by_name = {json.loads(line)["item"]["name"]: json.loads(line)
               for line in jsonl.read_text().splitlines()}
    seen = set()
    for record in records:
        if record["kind"] in seen or record["kind"].startswith("<"):
            continue
        seen.add(record["kind"])
        proc = run_cli([f"archive/{record['name']}", f"archive/{record['name']}.proof.json",
                        "--json", *OPTIONS], cwd=target)
        single = json.loads(proc.stdout)
        batch = by_name[record["name"]]
        assert single["indication"] == batch["indication"], record
        assert [c["indication"] for c in single["checks"]] == \
            [c["indication"] for c in batch["checks"]], record


def test_manifests_csv_and_jsonl_give_the_folder_verdicts(archive):
    target, records = archive
    sample = records[:60]
    verifier = pv.Verifier(_policy(target))
    folder_items, _ = discover(target / "archive")
    folder = {i.name: verify_item(i, verifier).indication for i in folder_items
              if i.name in {r["name"] for r in sample}}
    for manifest_path in (write_manifest_csv(target, sample),
                          write_manifest_jsonl(target, sample)):
        items, _ = discover(manifest_path)
        assert len(items) == len(sample)
        for item, record in zip(items, sample, strict=True):
            outcome = verify_item(item, verifier)
            if record["kind"] == "<missing-proof>":
                if manifest_path.suffix == ".jsonl":
                    continue  # the JSONL writer names the proof; it is missing on disk
                assert outcome.sub_indication == "PROOF_NOT_FOUND"
            else:
                assert outcome.indication == folder[record["name"]], (manifest_path, record)


def test_processes_and_in_process_give_identical_reports(archive):
    target, _ = archive
    items, _ = discover(target / "archive")
    items = items[:80]
    # One clock for both runs: messages such as "genTime is later than now" name it.
    policy = dataclasses.replace(_policy(target), now=datetime(2026, 11, 27, tzinfo=UTC))
    verifier = pv.Verifier(policy)
    one = []
    run_batch(items, verifier, jobs=1, on_outcome=one.append)
    two = []
    run_batch(items, verifier, jobs=2, on_outcome=two.append)
    def strip(outcome):
        return {k: v for k, v in outcome.report.items() if k != "verifiedAt"}

    assert [strip(o) for o in one] == [strip(o) for o in two]
    assert [o.item.name for o in two] == [i.name for i in items]  # item order kept


def test_per_item_work_is_a_picklable_pure_function(archive):
    target, _ = archive
    items, _ = discover(target / "archive")
    verifier = pv.Verifier(_policy(target))
    pickle.loads(pickle.dumps((verify_item, verifier, items[0])))
    with ProcessPoolExecutor(max_workers=2) as pool:
        remote = list(pool.map(verify_item, items[:10], [verifier] * 10))
    local = [verify_item(i, verifier) for i in items[:10]]
    assert [r.indication for r in remote] == [r.indication for r in local]
    assert [r.report["checks"] for r in remote] == [r.report["checks"] for r in local]


def test_folder_discovery_reports_lonely_files_and_proofs(tmp_path):
    (tmp_path / "a.pdf").write_bytes(b"a")
    (tmp_path / "a.pdf.proof.json").write_text("{}")
    (tmp_path / "b.pdf").write_bytes(b"b")
    (tmp_path / "c.pdf.proof.json").write_text("{}")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.txt").write_bytes(b"d")
    (tmp_path / "sub" / "d.txt.proof.json").write_text("{}")
    (tmp_path / ".DS_Store").write_bytes(b"x")
    items, notes = discover(tmp_path)
    by_name = {i.name: i for i in items}
    assert sorted(by_name) == ["a.pdf", "b.pdf", "c.pdf", os.path.join("sub", "d.txt")]
    assert by_name["a.pdf"].problem is None
    assert "has no proof" in by_name["b.pdf"].problem
    assert "has no file" in by_name["c.pdf"].problem
    assert any("hidden" in n for n in notes)


@pytest.mark.parametrize("content, words", [
    ("file,proof\nx,\n", "no proof given"),
    ("file,proof,digest\n,p.json,zz\n", "digest is not 64 hex"),
    ("file,proof\na,b,c\n", "more fields than the header"),
])
def test_bad_manifest_rows_are_reported_items(tmp_path, content, words):
    path = tmp_path / "m.csv"
    path.write_text(content)
    items, _ = discover(path)
    assert words in items[0].problem
    outcome = verify_item(items[0], pv.Verifier())
    assert outcome.indication is not pv.Indication.PASSED


def test_bad_manifests_are_usage_errors(tmp_path):
    (tmp_path / "m.txt").write_text("x")
    (tmp_path / "bad.csv").write_text("name,where\n")
    (tmp_path / "empty").mkdir()
    for source, words in (("m.txt", "a folder, a .csv or a .jsonl"),
                          ("bad.csv", "CSV header"), ("empty", "no certificates"),
                          ("absent", "cannot read")):
        proc = run_cli(["--batch", source], cwd=tmp_path)
        assert proc.returncode == 2 and words in proc.stderr, (source, proc.stderr)


def test_jsonl_line_errors_become_items(tmp_path):
    (tmp_path / "m.jsonl").write_text('{"file": "x", "proof": 3}\nnot json\n[1]\n')
    items, _ = discover(tmp_path / "m.jsonl")
    assert ["must be a string" in items[0].problem, "not JSON" in items[1].problem,
            "not a JSON object" in items[2].problem] == [True, True, True]


def test_batch_refuses_to_overwrite_an_input(archive):
    target, records = archive
    proc = run_cli(["--batch", "archive", "--jsonl",
                    f"archive/{records[0]['name']}.proof.json"], cwd=target)
    assert proc.returncode == 2 and "refusing to write" in proc.stderr


def _first_items(target, records, folder):
    """A folder holding the given archive items (their files and proofs, as present)."""
    folder.mkdir()
    for record in records:
        for suffix in ("", ".proof.json"):
            src = target / "archive" / f"{record['name']}{suffix}"
            if src.exists():
                (folder / src.name).write_bytes(src.read_bytes())
    return folder


def test_batch_json_summary(tmp_path, archive):
    target, records = archive
    small = _first_items(target, records[:20], tmp_path / "small")
    proc = run_cli(["--batch", str(small), "--json", "--tsa-roots",
                    str(target / ARCHIVE_ROOTS), "--allow-test-mode"], cwd=tmp_path)
    data = json.loads(proc.stdout)
    assert data["summary"]["items"] == 20 == len(data["items"])
    assert sum(data["summary"]["byIndication"].values()) == 20


def _big_archive(tmp_path, n):
    src = tmp_path / "big"
    src.mkdir()
    bundle = (SCENARIOS / "ok-created" / "proof.json").read_bytes()
    for i in range(n):
        with open(src / f"{i:04d}.bin", "wb") as out:
            out.truncate(48 * 1024 * 1024)  # sparse; slow enough to interrupt mid-way
        (src / f"{i:04d}.bin.proof.json").write_bytes(bundle)
    return src


def test_ctrl_c_stops_cleanly_and_keeps_what_was_written(tmp_path):
    src = _big_archive(tmp_path, 200)
    jsonl = tmp_path / "out.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "provelio_verify", "--batch", str(src),
                             "--jsonl", str(jsonl), "--jobs", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if jsonl.exists() and len(jsonl.read_text().splitlines()) >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    lines = jsonl.read_text().splitlines()
    assert 3 <= len(lines) < 200
    for line in lines:
        assert json.loads(line)["indication"] == "FAILED"  # the sparse files are not the doc
    assert f"interrupted: {len(lines)} of 200" in err
    assert "(interrupted)" in out
    assert sorted(p.name for p in src.iterdir()) == sorted(
        [f"{i:04d}.bin" for i in range(200)] + [f"{i:04d}.bin.proof.json" for i in range(200)])


def test_progress_on_a_terminal(tmp_path):
    src = _big_archive(tmp_path, 6)
    text = run_on_terminal(["--batch", str(src), "--jobs", "1"], tmp_path, stream="stderr")
    assert "items/s" in text and "ETA" in text and "MiB" in text


def test_batch_item_is_frozen():
    item = BatchItem(0, "x", None, None)
    with pytest.raises(AttributeError):
        item.name = "y"  # type: ignore[misc]


def test_batch_writes_one_html_report_for_all_items(tmp_path, archive):
    target, records = archive
    small = _first_items(target, records[:12], tmp_path / "small")
    out = tmp_path / "batch.html"
    proc = run_cli(["--batch", str(small), "--html", str(out), "--tsa-roots",
                    str(target / ARCHIVE_ROOTS), "--allow-test-mode"], cwd=tmp_path)
    assert proc.returncode in (1, 3), proc.stderr
    page = out.read_text()
    for record in records[:12]:
        assert record["name"] in page
    inside = run_cli(["--batch", str(small), "--html", str(small / "r.html")], cwd=tmp_path)
    assert inside.returncode == 2 and "input folder" in inside.stderr


def test_a_remote_source_is_asked_about_each_block_once_across_workers(tmp_path):
    from gen.world import world
    from helpers.chainservers import ChainData, EsploraServer

    src = tmp_path / "same-block"
    src.mkdir()
    for i in range(30):
        for suffix, name in (("", "document.txt"), (".proof.json", "proof.json")):
            (src / f"{i:02d}.txt{suffix}").write_bytes((SCENARIOS / "ok-confirmed-regtest"
                                                        / name).read_bytes())
    roots = SCENARIOS / "ok-confirmed-regtest" / "roots.pem"
    with EsploraServer(ChainData.of(world().anchoring.chain)) as esplora:
        proc = run_cli(["--batch", str(src), "--jobs", "2", "--tsa-roots", str(roots),
                        "--allow-test-mode", "--esplora", esplora.url, "--json"],
                       cwd=tmp_path)
        asked = list(esplora.requests)
    summary = json.loads(proc.stdout)["summary"]
    assert summary["byIndication"]["PASSED"] == 30, proc.stdout
    assert asked, "the source was not asked at all"
    repeated = [r for r, n in Counter(asked).items() if n > 1]
    assert not repeated, f"asked more than once: {repeated}"


def test_ctrl_c_never_splits_counting_from_writing(archive):
    """Ctrl-C that lands while an item's output is being written waits for the write:
    the summary of an interrupted batch counts exactly what was written."""
    target, _ = archive
    items, _ = discover(target / "archive")
    written = []

    def on_outcome(outcome):
        if len(written) == 2:
            os.kill(os.getpid(), signal.SIGINT)  # lands before this item is written
        written.append(outcome.item.name)

    summary = run_batch(items[:10], pv.Verifier(_policy(target)), jobs=1,
                        on_outcome=on_outcome)
    assert summary.interrupted
    assert summary.done == len(written) == 3
    assert summary.worst() is not pv.Indication.PASSED  # unverified items are not PASSED
