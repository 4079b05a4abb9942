"""No output of a run (--html, --pdf, --jsonl, --save-evidence) may be one of its inputs,
in any disguise: refused with exit status 2 before anything is read or written."""

from __future__ import annotations

import os
import shutil

import click
import pytest

from helpers.common import SCENARIOS, run_cli
from provelio_verify.cli import command as cli

OK = SCENARIOS / "ok-created"


@pytest.fixture
def case(tmp_path):
    for name in ("document.txt", "proof.json", "roots.pem"):
        shutil.copy(OK / name, tmp_path / name)
    # Their contents do not matter: a refused output is refused before they are read.
    for name in ("crl.pem", "ocsp.der", "headers.bin", "cookie"):
        (tmp_path / name).write_bytes(b"an input " + name.encode())
    (tmp_path / "batch").mkdir()
    shutil.copy(OK / "document.txt", tmp_path / "batch" / "a.txt")
    shutil.copy(OK / "proof.json", tmp_path / "batch" / "a.txt.proof.json")
    (tmp_path / "manifest.csv").write_text("file,proof\ndocument.txt,proof.json\n")
    return tmp_path


def _fingerprints(folder):
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _refused(case, args, words="same file as"):
    before = _fingerprints(case)
    proc = run_cli(args, cwd=case)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert words in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    assert _fingerprints(case) == before  # nothing written, nothing changed


SINGLE = ["document.txt", "proof.json"]
#: Each input option and the file it names (the FILE and PROOF arguments included).
INPUTS = [
    ([], "document.txt"),
    ([], "proof.json"),
    (["--tsa-roots", "roots.pem"], "roots.pem"),
    (["--crl", "crl.pem"], "crl.pem"),
    (["--ocsp", "ocsp.der"], "ocsp.der"),
    (["--headers", "headers.bin"], "headers.bin"),
    (["--bitcoin-node", "http://127.0.0.1:9", "--rpc-cookie", "cookie"], "cookie"),
]


@pytest.mark.parametrize("output", ["--html", "--pdf"])
@pytest.mark.parametrize("option, name", INPUTS, ids=[name for _, name in INPUTS])
def test_a_report_over_any_input_is_refused(case, output, option, name):
    _refused(case, [*SINGLE, *option, output, name])


@pytest.mark.parametrize("disguise", ["./crl.pem", "link.pem", "hard.pem", "sub/../crl.pem"])
def test_a_report_over_an_input_in_disguise_is_refused(case, disguise):
    (case / "link.pem").symlink_to("crl.pem")
    os.link(case / "crl.pem", case / "hard.pem")
    (case / "sub").mkdir()
    _refused(case, [*SINGLE, "--crl", "crl.pem", "--html", disguise])
    # ... and the other way round: the input in disguise, the output by its name.
    _refused(case, [*SINGLE, "--crl", disguise, "--html", "crl.pem"])


def test_a_capsule_is_not_written_into_an_input_folder(case):
    (case / "roots").mkdir()
    shutil.copy(case / "roots.pem", case / "roots" / "a.pem")
    _refused(case, [*SINGLE, "--tsa-roots", "roots", "--save-evidence", "roots/capsule"],
             "lies inside the input roots")
    (case / "capsule").mkdir()  # empty: a capsule may go there, a report inside it not
    _refused(case, [*SINGLE, "--crl", "crl.pem", "--save-evidence", "capsule",
                    "--html", "capsule/r.html"], "refusing a folder")


@pytest.mark.parametrize("args, words", [
    (["--batch", "manifest.csv", "--jsonl", "manifest.csv"], "same file as manifest.csv"),
    (["--batch", "manifest.csv", "--jsonl", "document.txt"], "same file as"),
    (["--batch", "manifest.csv", "--jsonl", "out.jsonl", "--crl", "crl.pem",
      "--html", "crl.pem"], "same file as crl.pem"),
    (["--batch", "manifest.csv", "--jsonl", "crl.pem", "--crl", "crl.pem"],
     "same file as crl.pem"),
    (["--batch", "batch", "--jsonl", "batch/out.jsonl"], "into the input folder batch"),
    (["--batch", "batch", "--html", "batch/b.txt.proof.json"], "into the input folder"),
    (["--batch", "batch", "--jsonl", "batch/a.txt"], "into the input folder batch"),
])
def test_batch_outputs_over_inputs_are_refused(case, args, words):
    _refused(case, args, words)


def test_every_path_option_is_an_input_or_an_output():
    """An option naming a file is a click.Path, so input_paths() sees it, unless it is
    one of the outputs: a new input option cannot be forgotten by the output checks."""
    for param in cli.command.params:
        if param.metavar in ("PATH", "DIR", "SOURCE", "FILE PROOF"):
            assert isinstance(param.type, click.Path), param.name
    ctx = cli.command.make_context("provelio-verify", [
        "f", "p", "--tsa-roots", "r1", "--tsa-roots", "r2", "--headers", "h",
        "--rpc-cookie", "c", "--crl", "l1", "--ocsp", "o1", "--batch", "b",
        "--evidence", "e", "--html", "out.html", "--pdf", "out.pdf", "--jsonl", "out.jsonl",
        "--save-evidence", "out"])
    assert sorted(cli.input_paths(ctx)) == sorted(
        ["f", "p", "r1", "r2", "h", "c", "l1", "o1", "b", "e"])
