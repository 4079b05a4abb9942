"""Command-line habits (issue 10, item 7), as users of ``gpg --verify``, ``ots verify``
and ``cosign verify`` expect them: Ctrl-C exits 130, ``TERM=dumb`` gets no colour,
``-q`` prints nothing, the gpg/ots argument order gets a usage hint, PROOF defaults to
FILE.proof.json, and ``-`` is standard input."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from gen.world import world
from helpers.chainservers import ChainData, EsploraServer, Knobs
from helpers.common import SCENARIOS, run_cli, run_on_terminal

OK = SCENARIOS / "ok-created"
ROOTS = ["--tsa-roots", str(OK / "roots.pem")]


def test_ctrl_c_in_a_single_run_exits_130_without_a_traceback():
    """Interrupted while it waits for a (slow) chain source: 130, the shell's status
    for SIGINT, not 1 (FAILED's)."""
    confirmed = SCENARIOS / "ok-confirmed-regtest"
    with EsploraServer(ChainData.of(world().anchoring.chain), Knobs(delay=30)) as server:
        child = subprocess.Popen(
            [sys.executable, "-m", "provelio_verify", str(confirmed / "document.txt"),
             str(confirmed / "proof.json"), "--tsa-roots", str(confirmed / "roots.pem"),
             "--allow-test-mode", "--esplora", server.url],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 20
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.requests, "the verifier never asked the source"
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
    assert child.returncode == 130, (out, err)
    assert "interrupted" in err and "Traceback" not in err and "Aborted" not in err


def test_term_dumb_gets_no_colour():
    args = [str(OK / "document.txt"), str(OK / "proof.json"), *ROOTS]
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    coloured = run_on_terminal(args, OK, env={**env, "TERM": "xterm-256color"})
    plain = run_on_terminal(args, OK, env={**env, "TERM": "dumb"})
    assert "\x1b[" in coloured  # the control: on a real terminal there is colour
    assert "\x1b[" not in plain and "PASSED" in plain


@pytest.mark.parametrize("scenario, status", [("ok-created", 0),
                                              ("tsa-tampered-tstinfo", 1)])
def test_quiet_prints_nothing_and_keeps_the_status(tmp_path, scenario, status):
    folder = SCENARIOS / scenario
    proc = run_cli([str(folder / "document.txt"), str(folder / "proof.json"), "-q",
                    "--tsa-roots", str(folder / "roots.pem")])
    loud = run_cli([str(folder / "document.txt"), str(folder / "proof.json"),
                    "--tsa-roots", str(folder / "roots.pem")])
    assert proc.returncode == loud.returncode == status
    assert proc.stdout == "" and loud.stdout != ""


def _mixed_batch(tmp_path):
    src = tmp_path / "batch"
    src.mkdir()
    for name in ("good.txt", "bad.txt"):
        shutil.copy(OK / "document.txt", src / name)
        shutil.copy(OK / "proof.json", src / f"{name}.proof.json")
    (src / "bad.txt").write_bytes(b"not the document\n")
    return src


def test_quiet_batch_prints_only_the_items_that_did_not_pass(tmp_path):
    src = _mixed_batch(tmp_path)
    quiet = run_cli(["--batch", str(src), "-q", *ROOTS])
    loud = run_cli(["--batch", str(src), *ROOTS])
    assert quiet.returncode == loud.returncode == 1
    assert quiet.stdout.splitlines() == [line for line in loud.stdout.splitlines()
                                         if line.startswith("FAILED ")]
    assert "bad.txt" in quiet.stdout and "good.txt" not in quiet.stdout
    assert "BATCH VERDICT" in loud.stdout and "BATCH VERDICT" not in quiet.stdout


def test_batch_progress_is_drawn_on_a_terminal_only_if_it_can_erase_a_line(tmp_path):
    src = _mixed_batch(tmp_path)
    env = dict(os.environ, NO_COLOR="1")
    drawn = run_on_terminal(["--batch", str(src), *ROOTS], tmp_path, stream="stderr",
                            env={**env, "TERM": "xterm"})
    dumb = run_on_terminal(["--batch", str(src), *ROOTS], tmp_path, stream="stderr",
                           env={**env, "TERM": "dumb"})
    assert "\x1b[K" in drawn and "items/s" in drawn
    assert dumb == ""
    to_file = run_cli(["--batch", str(src), *ROOTS])
    assert "\r" not in to_file.stderr and "\x1b" not in to_file.stderr


def test_a_streamed_manifest_progress_states_no_guessed_total(tmp_path):
    from provelio_verify.batch import BatchSummary
    from provelio_verify.cli.batch import Progress
    streaming = BatchSummary(total=40, done=10, bytes_done=2048)
    line = Progress.line(streaming, 2.0)
    assert line.startswith("[10/40+]") and "ETA" not in line and "%" not in line
    assert "still reading the item list" in line
    read = BatchSummary(total=40, done=10, bytes_done=2048, discovered=True)
    assert Progress.line(read, 2.0).startswith("[10/40]  25.0%")


def test_a_manifest_batch_streams_and_refuses_an_existing_output_that_is_an_item(tmp_path):
    src = _mixed_batch(tmp_path)
    rows = ["file,proof"] + [f"{src / n},{src / n}.proof.json" for n in ("good.txt", "bad.txt")]
    manifest = tmp_path / "items.csv"
    manifest.write_text("\n".join(rows) + "\n")
    before = (src / "bad.txt").read_bytes()
    refused = run_cli(["--batch", str(manifest), "--jsonl", str(src / "bad.txt"), *ROOTS])
    assert refused.returncode == 2 and "bad.txt" in refused.stderr
    assert (src / "bad.txt").read_bytes() == before  # nothing the user gave is lost
    done = run_cli(["--batch", str(manifest), "--jsonl", str(tmp_path / "out.jsonl"), *ROOTS])
    assert done.returncode == 1, done.stderr
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 2


def test_quiet_and_json_do_not_go_together():
    proc = run_cli([str(OK / "document.txt"), str(OK / "proof.json"), "-q", "--json"])
    assert proc.returncode == 2 and "-q" in proc.stderr


def test_the_gpg_order_gets_a_usage_hint():
    proc = run_cli([str(OK / "proof.json"), str(OK / "document.txt"), *ROOTS])
    assert proc.returncode == 2
    assert "FILE comes first, then PROOF" in proc.stderr
    assert f"provelio-verify {OK / 'document.txt'} {OK / 'proof.json'}" in proc.stderr


def test_a_proof_that_is_no_bundle_is_still_failed_when_file_is_no_bundle_either():
    """The hint is only for a swap: two files neither of which is a bundle is a malformed
    bundle (FAILED), as the contract says."""
    proc = run_cli([str(OK / "document.txt"), str(OK / "roots.pem"), *ROOTS])
    assert proc.returncode == 1 and "FILE comes first" not in proc.stderr


def test_proof_defaults_to_file_dot_proof_json(tmp_path):
    shutil.copy(OK / "document.txt", tmp_path / "document.txt")
    shutil.copy(OK / "proof.json", tmp_path / "document.txt.proof.json")
    proc = run_cli(["document.txt", *ROOTS], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (tmp_path / "document.txt.proof.json").unlink()
    missing = run_cli(["document.txt", *ROOTS], cwd=tmp_path)
    assert missing.returncode == 2 and "document.txt.proof.json does not exist" in missing.stderr


def test_file_from_standard_input():
    data = (OK / "document.txt").read_bytes()
    proc = subprocess.run([sys.executable, "-m", "provelio_verify", "-", str(OK / "proof.json"),
                           *ROOTS, "--json"], input=data, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    tampered = subprocess.run([sys.executable, "-m", "provelio_verify", "-",
                               str(OK / "proof.json"), *ROOTS], input=data + b"x",
                              capture_output=True, timeout=60)
    assert tampered.returncode == 1


def test_proof_from_standard_input():
    proc = subprocess.run([sys.executable, "-m", "provelio_verify", str(OK / "document.txt"),
                           "-", *ROOTS], input=(OK / "proof.json").read_bytes(),
                          capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_both_from_standard_input_is_a_usage_error():
    proc = run_cli(["-", "-", *ROOTS])
    assert proc.returncode == 2 and "cannot both be -" in proc.stderr
