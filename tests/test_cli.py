"""The command line: exit codes 0/1/2/3, usage errors, output forms."""

from __future__ import annotations

import json
import os

import pytest

from helpers.common import SCENARIOS, run_cli, run_on_terminal
from provelio_verify import __version__

OK = SCENARIOS / "ok-created"


def test_version():
    proc = run_cli(["--version"])
    assert proc.returncode == 0 and __version__ in proc.stdout


@pytest.mark.parametrize("args, words", [
    (["document.txt"], "give FILE and PROOF"),
    (["document.txt", "proof.json", "extra"], "give FILE and PROOF"),
    (["--digest", "ab" * 32, "document.txt", "proof.json"], "only PROOF"),
    (["--digest", "xyz", "proof.json"], "64 hex"),
    (["absent.txt", "proof.json"], "cannot read absent.txt"),
    (["document.txt", "absent.json"], "cannot read absent.json"),
    (["document.txt", "proof.json", "--tsa-roots", "absent.pem"], "cannot read absent.pem"),
    (["document.txt", "proof.json", "--tsa-roots", "document.txt"], "neither a PEM nor a DER"),
    (["document.txt", "proof.json", "--headers", "absent.bin"], "cannot read absent.bin"),
    (["document.txt", "proof.json", "--min-confirmations", "0"], "min-confirmations"),
    (["document.txt", "proof.json", "--rpc-cookie", "roots.pem"], "--bitcoin-node"),
    (["document.txt", "proof.json", "--no-such-option"], "No such option"),
    ([".", "proof.json"], "is a directory"),
])
def test_usage_errors_exit_2_without_traceback(args, words):
    proc = run_cli(args, cwd=OK)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert words in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_human_output_has_a_line_per_check_and_a_verdict():
    proc = run_cli(["document.txt", "proof.json", "--tsa-roots", "roots.pem"], cwd=OK)
    lines = proc.stdout.splitlines()
    report = json.loads(run_cli(["document.txt", "proof.json", "--tsa-roots", "roots.pem",
                                 "--json"], cwd=OK).stdout)
    for check in report["checks"]:
        assert any(check["id"] in line and check["indication"] in line for line in lines)
    assert lines[-1].startswith(f"VERDICT: {report['indication']}")
    assert "\x1b[" not in proc.stdout  # not a terminal: no colour


def test_colour_on_a_terminal_and_no_color_respected():
    args = ["document.txt", "proof.json", "--tsa-roots", "roots.pem"]
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    assert "\x1b[" in run_on_terminal(args, OK, env=env)
    assert "\x1b[" not in run_on_terminal(args, OK, env=dict(env, NO_COLOR="1"))


def test_json_output_is_one_object_with_contract_keys():
    proc = run_cli(["document.txt", "proof.json", "--json"], cwd=OK)
    report = json.loads(proc.stdout)
    assert report["subject"] == {"sha256": report["certificate"]["sha256Hash"],
                                 "path": "document.txt", "size": len(
                                     (OK / "document.txt").read_bytes())}
    assert report["tool"]["name"] == "provelio-verify"


def test_digest_mode_does_not_need_the_file(tmp_path):
    bundle = json.loads((OK / "proof.json").read_text())
    digest = bundle["certificate"]["sha256Hash"]
    proc = run_cli(["--digest", digest.upper(), str(OK / "proof.json"), "--json"], cwd=tmp_path)
    report = json.loads(proc.stdout)
    check = next(c for c in report["checks"] if c["id"] == "file.sha256")
    assert check["indication"] == "PASSED"
    assert report["subject"]["path"] is None


def test_wrong_digest_fails_file_check(tmp_path):
    proc = run_cli(["--digest", "00" * 32, str(OK / "proof.json"), "--json"], cwd=tmp_path)
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert report["subIndication"] == "HASH_FAILURE"


def test_hostile_file_name_cannot_drive_the_terminal(tmp_path):
    bundle = json.loads((OK / "proof.json").read_text())
    bundle["certificate"]["certificateId"] = "x\x1b[2J\x1b[31mPASSED"
    (tmp_path / "proof.json").write_text(json.dumps(bundle))
    (tmp_path / "doc").write_bytes((OK / "document.txt").read_bytes())
    proc = run_cli(["doc", "proof.json"], cwd=tmp_path)
    assert "\x1b" not in proc.stdout
    assert "\\x1b[2J" in proc.stdout


def test_inputs_are_never_modified(tmp_path):
    for name in ("document.txt", "proof.json", "roots.pem"):
        (tmp_path / name).write_bytes((OK / name).read_bytes())
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    run_cli(["document.txt", "proof.json", "--tsa-roots", "roots.pem"], cwd=tmp_path)
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    assert before == after


def test_internal_error_is_reported_without_traceback_unless_verbose(monkeypatch):
    """A defect inside a check becomes INDETERMINATE / INTERNAL_ERROR, traceback only on -v."""
    from click.testing import CliRunner

    import provelio_verify.verifier.verifier as orchestration
    from provelio_verify.cli import command as cli

    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(orchestration, "check_sha256", broken)
    runner = CliRunner()
    quiet = runner.invoke(cli.command, [str(OK / "document.txt"), str(OK / "proof.json")])
    assert quiet.exit_code == 3
    assert "INTERNAL_ERROR" in quiet.output and "Traceback" not in quiet.output
    loud = runner.invoke(cli.command, [str(OK / "document.txt"), str(OK / "proof.json"), "-v"])
    assert "Traceback" in loud.output and "ZeroDivisionError" in loud.output


def test_crash_outside_checks_gives_a_message_not_a_traceback(monkeypatch, capsys):
    from provelio_verify.cli import command as cli

    def broken(*args, **kwargs):
        raise RuntimeError("unexpected")

    monkeypatch.setattr(cli.Verifier, "verify_detailed", broken)
    with pytest.raises(SystemExit) as caught:
        cli.main([str(OK / "document.txt"), str(OK / "proof.json")])
    assert caught.value.code == 3
    err = capsys.readouterr().err
    assert "internal error" in err and "Traceback" not in err


def _big_file_case(tmp_path):
    big = tmp_path / "big.bin"
    with open(big, "wb") as out:
        out.truncate(65 * 1024 * 1024)  # sparse: over the 64 MiB threshold, no disk used
    (tmp_path / "proof.json").write_bytes((OK / "proof.json").read_bytes())
    return ["big.bin", "proof.json"]


def test_progress_bar_on_a_terminal_for_big_files(tmp_path):
    """Drawn by the batch's progress line (one implementation), on a terminal that can
    erase a line only."""
    import os

    text = run_on_terminal(_big_file_case(tmp_path), tmp_path, stream="stderr",
                           env={**os.environ, "TERM": "xterm"})
    assert "hashing" in text and "65.0 MiB" in text and "ETA" in text
    assert "\r\x1b[K" in text  # the line the batch's progress draws, then erases
    dumb = run_on_terminal(_big_file_case(tmp_path), tmp_path, stream="stderr",
                           env={**os.environ, "TERM": "dumb"})
    assert "hashing" not in dumb


def test_no_progress_output_when_stderr_is_not_a_terminal(tmp_path):
    proc = run_cli(_big_file_case(tmp_path), cwd=tmp_path)
    assert proc.returncode == 1  # the sparse file is not the document
    assert proc.stderr == ""
