"""Non-regular files (FIFOs, devices, folders) wherever the tool reads: refused with a
clear message before a byte is read, never a hang. Every run is a child process with a
timeout, so a hang fails the test instead of hanging it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from helpers.common import SCENARIOS, run_cli

OK = SCENARIOS / "ok-created"
#: A run that reads a FIFO without a writer, or /dev/zero, never ends: this is the test.
TIMEOUT = 60

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")


@pytest.fixture
def work(tmp_path):
    for name in ("document.txt", "proof.json", "roots.pem"):
        shutil.copy(OK / name, tmp_path / name)
    os.mkfifo(tmp_path / "fifo")
    return tmp_path


def _refused(proc, name, kind="a FIFO"):
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert f"{name} is {kind}, not a regular file" in proc.stderr
    assert "Traceback" not in proc.stderr


GOOD = ["document.txt", "proof.json", "--tsa-roots", "roots.pem"]


@pytest.mark.parametrize("args", [
    ["fifo", "proof.json", "--tsa-roots", "roots.pem"],
    ["document.txt", "fifo", "--tsa-roots", "roots.pem"],
    ["--digest", "00" * 32, "fifo"],
    [*GOOD[:2], "--tsa-roots", "fifo"],
    [*GOOD, "--crl", "fifo"],
    [*GOOD, "--ocsp", "fifo"],
    [*GOOD, "--headers", "fifo"],
    [*GOOD, "--bitcoin-node", "http://127.0.0.1:9", "--rpc-cookie", "fifo"],
], ids=["file", "proof", "digest-proof", "roots", "crl", "ocsp", "headers", "cookie"])
def test_a_fifo_input_is_refused_not_waited_on(work, args):
    assert run_cli(GOOD, cwd=work, timeout=TIMEOUT).returncode in (0, 1, 3)  # the control
    _refused(run_cli(args, cwd=work, timeout=TIMEOUT), "fifo")


def test_a_fifo_in_a_roots_folder_is_refused(work):
    (work / "roots").mkdir()
    shutil.copy(work / "roots.pem", work / "roots" / "a.pem")
    ok = run_cli(["document.txt", "proof.json", "--tsa-roots", "roots"], cwd=work,
                 timeout=TIMEOUT)
    assert ok.returncode in (0, 1, 3), ok.stderr
    os.mkfifo(work / "roots" / "b.pem")
    _refused(run_cli(["document.txt", "proof.json", "--tsa-roots", "roots"], cwd=work,
                     timeout=TIMEOUT), os.path.join("roots", "b.pem"))


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_a_device_as_file_is_refused_not_hashed_forever(work, device):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    _refused(run_cli([device, "proof.json"], cwd=work, timeout=TIMEOUT), device,
             "a character device")


def test_a_device_as_roots_or_crl_is_refused(work):
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    for option in ("--tsa-roots", "--crl", "--ocsp"):
        _refused(run_cli([*GOOD, option, "/dev/zero"], cwd=work, timeout=TIMEOUT),
                 "/dev/zero", "a character device")


def _child(code: str) -> subprocess.CompletedProcess[str]:
    """Run library code in a child process (a hang there fails the test)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=TIMEOUT)


def test_library_readers_refuse_a_fifo(work):
    fifo = str(work / "fifo")
    proc = _child(f"""
from provelio_verify.chain import HeadersFileSource
from provelio_verify.errors import SourceUnavailable
from provelio_verify.errors import InputError
from provelio_verify.inputs.files import read_at_most
from provelio_verify.inputs.subject import open_subject
from provelio_verify.inputs.trust import load_certificates, load_crls
for read in (lambda p: read_at_most(p, 10), open_subject, load_certificates, load_crls):
    try:
        read({fifo!r})
    except InputError as exc:
        print("refused:", exc)
try:
    HeadersFileSource({fifo!r}).run()
except SourceUnavailable as exc:
    print("unavailable:", exc)
""")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines == [f"refused: {fifo} is a FIFO, not a regular file"] * 4 + [
        f"unavailable: {fifo} is a FIFO, not a regular file"]


def test_a_fifo_in_an_evidence_capsule_is_refused(work):
    saved = run_cli([*GOOD, "--save-evidence", "capsule"], cwd=work, timeout=TIMEOUT)
    assert saved.returncode in (0, 1, 3), saved.stderr
    again = run_cli(["--evidence", "capsule", *GOOD[2:]], cwd=work, timeout=TIMEOUT)
    assert again.returncode == saved.returncode, again.stderr
    capsule = work / "capsule"
    victim = next(p for p in sorted(capsule.rglob("*"))
                  if p.is_file() and p.name not in ("SHA256SUMS",) and "manifest" not in p.name)
    victim.unlink()
    os.mkfifo(victim)
    proc = run_cli(["--evidence", "capsule", *GOOD[2:]], cwd=work, timeout=TIMEOUT)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "is a FIFO, not a regular file" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_batch_reports_each_fifo_item_and_goes_on(work):
    folder = work / "batch"
    folder.mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        shutil.copy(work / "document.txt", folder / name)
        shutil.copy(work / "proof.json", folder / f"{name}.proof.json")
    (folder / "b.txt").unlink()
    os.mkfifo(folder / "b.txt")  # a FIFO as the file
    (folder / "c.txt.proof.json").unlink()
    os.mkfifo(folder / "c.txt.proof.json")  # a FIFO as the proof
    proc = run_cli(["--batch", "batch", "--jsonl", "out.jsonl", "--tsa-roots", "roots.pem"],
                   cwd=work, timeout=TIMEOUT)
    assert "Traceback" not in proc.stderr, proc.stderr
    reports = {r["item"]["name"]: r for r in
               map(json.loads, (work / "out.jsonl").read_text().splitlines())}
    assert sorted(reports) == ["a.txt", "b.txt", "c.txt"]
    single = run_cli([*GOOD, "--json"], cwd=work, timeout=TIMEOUT)
    assert reports["a.txt"]["indication"] == json.loads(single.stdout)["indication"]
    for name in ("b.txt", "c.txt.proof.json"):
        problem = f"{os.path.join('batch', name)} is a FIFO, not a regular file"
        item = reports[name.removesuffix(".proof.json")]
        assert item["item"]["problem"] == problem
        assert item["indication"] != "PASSED"
        assert any(problem in c["message"] for c in item["checks"]), item["checks"]
