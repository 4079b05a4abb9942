"""``--resume`` (issue 11): an interrupted batch (Ctrl-C, a killed process, a line cut
short) continues where it stopped, and the finished JSONL holds every item exactly
once, in item order; a file that is not this batch's output is refused untouched."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.common import SCENARIOS, run_cli
from provelio_verify import Policy
from provelio_verify.batch import BatchSummary, discover, run_batch
from provelio_verify.batch.resume import resume
from provelio_verify.errors import InputError
from provelio_verify.inputs.trust import load_certificates
from provelio_verify.verifier import Verifier

OK = SCENARIOS / "ok-created"
ROOTS = ["--tsa-roots", str(OK / "roots.pem")]


def _folder(tmp_path, n=12, bad=(3, 8)):
    src = tmp_path / "batch"
    src.mkdir()
    for i in range(n):
        name = f"{i:03d}.txt"
        shutil.copy(OK / "document.txt", src / name)
        shutil.copy(OK / "proof.json", src / f"{name}.proof.json")
        if i in bad:
            (src / name).write_bytes(b"not the document\n")
    return src


def _entries(path):
    return [(d["item"]["index"], d["item"]["name"], d["indication"], d["subIndication"])
            for d in map(json.loads, path.read_text().splitlines())]


@pytest.fixture
def finished(tmp_path):
    src = _folder(tmp_path)
    whole = tmp_path / "whole.jsonl"
    done = run_cli(["--batch", str(src), "--jsonl", str(whole), "--jobs", "1", *ROOTS])
    assert done.returncode == 1, done.stderr
    return src, _entries(whole), whole.read_bytes()


def test_a_line_cut_short_is_dropped_and_the_rest_verified_once(tmp_path, finished):
    src, reference, data = finished
    lines = data.splitlines(keepends=True)
    out = tmp_path / "out.jsonl"
    out.write_bytes(b"".join(lines[:5]) + lines[5][: len(lines[5]) // 2])
    done = run_cli(["--batch", str(src), "--jsonl", str(out), "--resume", "--jobs", "1",
                    *ROOTS])
    assert done.returncode == 1, done.stderr  # items 3 and 8 FAILED; 3 was read back
    assert "resuming: 5 item(s) already reported" in done.stderr
    assert "cut off" in done.stderr
    assert _entries(out) == reference
    # Only the items not yet reported were verified (and printed) in this run.
    printed = re.findall(r"^(?:PASSED|FAILED) +(\d{3}\.txt)", done.stdout, re.MULTILINE)
    assert printed == [f"{i:03d}.txt" for i in range(5, 12)]
    assert "summary: 12 of 12 item(s) verified" in done.stdout
    assert "FAILED               2" in done.stdout


def test_a_finished_file_resumes_nothing_and_keeps_its_verdict(tmp_path, finished):
    src, reference, data = finished
    out = tmp_path / "out.jsonl"
    out.write_bytes(data)
    done = run_cli(["--batch", str(src), "--jsonl", str(out), "--resume", "--json", *ROOTS])
    assert done.returncode == 1, done.stderr
    assert out.read_bytes() == data
    summary = json.loads(done.stdout)
    assert summary["summary"]["items"] == 12 == len(summary["items"])
    assert summary["summary"]["byIndication"]["FAILED"] == 2


def test_a_missing_file_starts_from_the_beginning(tmp_path, finished):
    src, reference, _ = finished
    out = tmp_path / "new.jsonl"
    done = run_cli(["--batch", str(src), "--jsonl", str(out), "--resume", *ROOTS])
    assert done.returncode == 1, done.stderr
    assert "resuming: 0 item(s)" in done.stderr
    assert _entries(out) == reference


def test_a_garbled_line_ends_what_is_kept(tmp_path, finished):
    src, reference, data = finished
    lines = data.splitlines(keepends=True)
    out = tmp_path / "out.jsonl"
    out.write_bytes(b"".join(lines[:4]) + b"{not json\n" + b"".join(lines[5:]))
    done = run_cli(["--batch", str(src), "--jsonl", str(out), "--resume", *ROOTS])
    assert done.returncode == 1, done.stderr
    assert "resuming: 4 item(s)" in done.stderr
    assert _entries(out) == reference  # everything after the garbled line, once


@pytest.mark.parametrize("why, args, words", [
    ("another batch's file", ["--jobs", "1"], "reports item"),
    ("another policy", ["--min-confirmations", "3"], "made with policy"),
    ("other roots", ["--tsa-roots", str(SCENARIOS / "real-freetsa-legacy-sha1" / "roots.pem")],
     "made with trust anchors"),
])
def test_a_file_that_is_not_this_batchs_output_is_refused_untouched(tmp_path, finished, why,
                                                                     args, words):
    src, _, data = finished
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(OK / "document.txt", other / "zzz.txt")
    shutil.copy(OK / "proof.json", other / "zzz.txt.proof.json")
    out = tmp_path / "out.jsonl"
    out.write_bytes(data[: len(data) // 2])
    source = other if why == "another batch's file" else src
    roots = [] if why == "other roots" else ROOTS
    done = run_cli(["--batch", str(source), "--jsonl", str(out), "--resume", *roots, *args])
    assert done.returncode == 2, done.stderr
    assert words in done.stderr and "Traceback" not in done.stderr
    assert out.read_bytes() == data[: len(data) // 2]


def test_more_lines_than_items_is_refused(tmp_path, finished):
    src, _, data = finished
    for extra in ("010.txt", "011.txt"):
        (src / extra).unlink()
        (src / f"{extra}.proof.json").unlink()
    out = tmp_path / "out.jsonl"
    out.write_bytes(data)
    done = run_cli(["--batch", str(src), "--jsonl", str(out), "--resume", *ROOTS])
    assert done.returncode == 2 and "has only 10 item(s)" in done.stderr
    assert out.read_bytes() == data


def test_resume_needs_a_batch_and_its_jsonl(tmp_path):
    src = _folder(tmp_path, n=1, bad=())
    alone = run_cli(["--batch", str(src), "--resume", *ROOTS])
    assert alone.returncode == 2 and "give --jsonl" in alone.stderr
    single = run_cli([str(OK / "document.txt"), str(OK / "proof.json"), "--resume", *ROOTS])
    assert single.returncode == 2 and "--resume goes with --batch" in single.stderr


def test_a_streamed_manifest_resumes_too(tmp_path, finished):
    src, reference, data = finished
    manifest = tmp_path / "items.jsonl"
    manifest.write_text("".join(json.dumps({"file": str(p), "proof": f"{p}.proof.json"}) + "\n"
                                for p in sorted(src.glob("*.txt"))))
    whole = tmp_path / "whole.jsonl"
    assert run_cli(["--batch", str(manifest), "--jsonl", str(whole), *ROOTS]).returncode == 1
    expected = _entries(whole)
    lines = whole.read_bytes().splitlines(keepends=True)
    out = tmp_path / "out.jsonl"
    out.write_bytes(b"".join(lines[:7]))
    done = run_cli(["--batch", str(manifest), "--jsonl", str(out), "--resume", *ROOTS])
    assert done.returncode == 1, done.stderr
    assert "resuming: 7 item(s)" in done.stderr
    assert _entries(out) == expected


def _sparse_folder(tmp_path, n):
    src = tmp_path / "big"
    src.mkdir()
    bundle = (OK / "proof.json").read_bytes()
    for i in range(n):
        with open(src / f"{i:04d}.bin", "wb") as out:
            out.truncate(24 * 1024 * 1024)  # sparse: slow enough to stop mid-way
        (src / f"{i:04d}.bin.proof.json").write_bytes(bundle)
    return src


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT])
def test_a_stopped_batch_resumes_to_every_item_exactly_once(tmp_path, stop):
    n = 40
    src = _sparse_folder(tmp_path, n)
    out = tmp_path / "out.jsonl"
    args = [sys.executable, "-m", "provelio_verify", "--batch", str(src), "--jsonl", str(out),
            "--jobs", "2", *ROOTS]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if out.exists() and out.read_bytes().count(b"\n") >= 3:
            break
        time.sleep(0.02)
    proc.send_signal(stop)
    # Returns only once every holder of the pipes is gone: a worker orphaned by
    # SIGKILL leaves on its own instead of waiting for work forever.
    proc.communicate(timeout=60)
    before = out.read_bytes().count(b"\n")
    assert 3 <= before < n, "the batch was not stopped mid-way"
    done = run_cli(["--batch", str(src), "--jsonl", str(out), "--resume", "--jobs", "2",
                    *ROOTS], timeout=300)
    assert done.returncode == 1, done.stderr  # sparse files are not the document
    entries = _entries(out)
    assert [e[0] for e in entries] == list(range(n))
    assert {e[2] for e in entries} == {"FAILED"}


# ------------------------------------------------------------------- the library, any cut


@pytest.fixture(scope="module")
def library_batch(tmp_path_factory):
    src = _folder(tmp_path_factory.mktemp("lib"), n=6, bad=(2,))
    verifier = Verifier(Policy(tsa_roots=tuple(load_certificates(str(OK / "roots.pem")))))
    items, _ = discover(src)
    lines: list[bytes] = []
    run_batch(items, verifier, jobs=1, lines=True, full_reports=False,
              on_outcome=lambda o: lines.append(o.line))
    return items, verifier, b"".join(lines)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.floats(min_value=0.0, max_value=1.0))
def test_any_cut_of_the_file_resumes_to_the_whole(tmp_path_factory, library_batch, cut):
    items, verifier, whole = library_batch
    path = tmp_path_factory.mktemp("cut") / "out.jsonl"
    path.write_bytes(whole[: int(len(whole) * cut)])
    summary = BatchSummary()
    resumed = resume(str(path), items, verifier, summary)
    kept = path.read_bytes()
    assert whole.startswith(kept) and kept.count(b"\n") == resumed.kept
    with open(path, "ab") as out:
        run_batch(resumed.remaining, verifier, jobs=1, lines=True, full_reports=False,
                  summary=summary, on_outcome=lambda o: out.write(o.line))
    indices = [json.loads(line)["item"]["index"] for line in path.read_bytes().splitlines()]
    assert indices == list(range(len(items)))
    assert summary.done == summary.total == len(items)
    assert summary.by_indication["FAILED"] == 1


def test_the_library_refuses_another_batchs_file(tmp_path, library_batch):
    items, verifier, whole = library_batch
    path = tmp_path / "out.jsonl"
    path.write_bytes(whole)
    with pytest.raises(InputError, match="reports item"):
        resume(str(path), items[1:], verifier, BatchSummary())
    assert path.read_bytes() == whole
