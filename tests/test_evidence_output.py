"""Writing the evidence report: --html and --pdf, atomic writes, never over an input,
and a clear usage error when the PDF writer is missing."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import socket
import sys
import threading
from pathlib import Path

import pypdf
import pytest

from helpers.common import SCENARIOS, run_cli
from helpers.reports import PageParts, made_up
from provelio_verify import CHECK_IDS, InputError
from provelio_verify.evidence_report import (
    PdfUnavailable,
    check_output_path,
    load_weasyprint,
    write_atomic,
    write_html,
    write_pdf,
)
from provelio_verify.evidence_report import output as output_module

OK = SCENARIOS / "ok-created"
ARGS = ["document.txt", "proof.json", "--tsa-roots", "roots.pem"]


@pytest.fixture
def case(tmp_path):
    """A copy of the ok-created scenario, so a test may try to overwrite its inputs."""
    folder = tmp_path / "case"
    shutil.copytree(OK, folder)
    return folder


def _fingerprints(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "".join("".join(page.extract_text().split()) for page in reader.pages)


# ------------------------------------------------------------------ files


def test_write_html_replaces_the_file_atomically_with_usual_permissions(tmp_path):
    target = tmp_path / "report.html"
    target.write_text("old")
    old_umask = os.umask(0o022)
    try:
        write_html(target, made_up())
    finally:
        os.umask(old_umask)
    assert target.read_text().startswith("<!DOCTYPE html>")
    assert (target.stat().st_mode & 0o777) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]  # no temp left


def test_write_html_takes_reports_dicts_and_lists(tmp_path):
    write_html(tmp_path / "one.html", made_up().to_dict())
    write_html(tmp_path / "batch.html", [made_up(), made_up().to_dict()])
    assert "Batch of 2 verifications" in (tmp_path / "batch.html").read_text()
    assert "check-file.sha256" in PageParts((tmp_path / "one.html").read_text()).ids


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    with pytest.raises(InputError, match="cannot write"):
        write_atomic(tmp_path / "absent" / "report.html", b"x")
    (tmp_path / "folder").mkdir()
    with pytest.raises(InputError, match="cannot write"):
        write_atomic(tmp_path / "folder", b"x")  # a folder cannot be replaced by a file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]
    assert list((tmp_path / "folder").iterdir()) == []


def test_check_output_path_refuses_inputs_in_every_disguise(case, tmp_path):
    inputs = [str(case / "document.txt"), str(case / "proof.json"), str(case / "roots")]
    (case / "roots").mkdir()
    (case / "link.json").symlink_to(case / "proof.json")
    os.link(case / "document.txt", case / "hard.txt")
    for target, words in [
        (case / "proof.json", "same file"),
        (case / "." / "document.txt", "same file"),
        (case / "link.json", "same file"),  # a symlink to an input
        (case / "hard.txt", "same file"),  # a hard link to an input
        (case / "roots" / "report.html", "input folder"),
        (case / "roots", "is a folder"),
        (tmp_path / "absent" / "report.html", "does not exist"),
    ]:
        with pytest.raises(InputError, match=words):
            check_output_path(target, inputs)
    check_output_path(case / "report.html", [*inputs, None])  # a new file: fine


# ------------------------------------------------------------------ the command line


def test_cli_html_writes_the_report_and_keeps_the_verdict(case):
    plain = run_cli(ARGS, cwd=case)
    proc = run_cli([*ARGS, "--html", "report.html"], cwd=case)
    assert proc.returncode == plain.returncode, proc.stderr  # the same verdict as without
    verdict = plain.stdout.splitlines()[-1].split()[1]
    assert f"VERDICT: {verdict}" in proc.stdout
    page = PageParts((case / "report.html").read_text())
    assert verdict in page.text
    assert "1a45eef772643acad3b31478da76fdf4bfb868e152b1bbe91ca8594113979d60" in page.text
    assert all(f"check-{c}" in page.ids for c in CHECK_IDS)


@pytest.mark.parametrize("extra, words", [
    (["--html", "proof.json"], "same file as proof.json"),
    (["--html", "document.txt"], "same file as document.txt"),
    (["--html", "roots.pem"], "same file as roots.pem"),
    (["--pdf", "proof.json"], "same file as proof.json"),
    (["--html", "r.html", "--pdf", "r.html"], "same file as r.html"),
    (["--html", "."], "is a folder"),
    (["--html", "absent/r.html"], "does not exist"),
])
def test_cli_refuses_report_paths_that_are_inputs(case, extra, words):
    before = _fingerprints(case)
    proc = run_cli([*ARGS, *extra], cwd=case)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert words in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout == ""  # refused before verifying
    assert _fingerprints(case) == before


def test_cli_refuses_a_report_inside_a_roots_folder(case):
    (case / "roots").mkdir()
    shutil.copy(case / "roots.pem", case / "roots" / "roots.pem")
    proc = run_cli(["document.txt", "proof.json", "--tsa-roots", "roots", "--html",
                    "roots/report.html"], cwd=case)
    assert proc.returncode == 2 and "input folder roots" in proc.stderr
    assert sorted(p.name for p in (case / "roots").iterdir()) == ["roots.pem"]


def test_cli_pdf_writes_the_same_report_with_the_json_attached(case):
    proc = run_cli([*ARGS, "--pdf", "report.pdf", "--json"], cwd=case)
    report = json.loads(proc.stdout)
    assert proc.returncode == {"PASSED": 0, "FAILED": 1, "INDETERMINATE": 3}[
        report["indication"]], proc.stderr
    data = (case / "report.pdf").read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 3
    assert reader.metadata.title == f"Evidence report: document.txt - {report['indication']}"
    text = _pdf_text(data)
    assert report["indication"] in text
    assert report["subject"]["sha256"] in text
    for check_id in CHECK_IDS:
        assert check_id in text, check_id
    [attached] = reader.attachments["report.json"]
    assert json.loads(attached) == report


@pytest.mark.parametrize("paper, size", [("A4", (595, 842)), ("Letter", (612, 792))])
def test_write_pdf_paper_sizes(tmp_path, paper, size):
    write_pdf(tmp_path / "r.pdf", [made_up(), made_up()], paper=paper)
    box = pypdf.PdfReader(tmp_path / "r.pdf").pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == size
    with pytest.raises(ValueError, match="A4, Letter"):
        write_pdf(tmp_path / "r.pdf", made_up(), paper="A5")


def test_weasyprint_may_fetch_nothing(tmp_path, monkeypatch):
    """Were the page ever to ask for a resource, WeasyPrint would stop, not fetch it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.05)
    accepted: list[object] = []
    done = threading.Event()

    def accept() -> None:
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept)
    thread.start()
    port = listener.getsockname()[1]
    page = f'<html><body><img src="http://127.0.0.1:{port}/x.png"></body></html>'
    monkeypatch.setattr(output_module, "render_html", lambda *a, **k: page)
    try:
        with pytest.raises(RuntimeError, match="asked to load a resource"):
            write_pdf(tmp_path / "r.pdf", made_up())
    finally:
        done.set()
        thread.join()
        listener.close()
    assert accepted == []
    assert not (tmp_path / "r.pdf").exists()


# ------------------------------------------------------------------ WeasyPrint missing


def test_load_weasyprint_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # as if not installed
    with pytest.raises(PdfUnavailable, match=r"not installed.*provelio-verify\[pdf\]"):
        load_weasyprint()


@pytest.mark.parametrize("failure, words", [
    ("raise ImportError(\"No module named 'weasyprint'\")",
     ["not installed", "pip install 'provelio-verify[pdf]'"]),
    ("raise OSError(\"cannot load library 'libpango-1.0-0': no such file\")",
     ["cannot load its system libraries", "libpango-1.0-0", "apt-get install"]),
])
def test_cli_pdf_without_weasyprint_is_a_usage_error(case, tmp_path, failure, words):
    """A stand-in 'weasyprint' that fails on import as the real one does when it is
    absent, or when cffi cannot open Pango."""
    fake = tmp_path / "fake"
    (fake / "weasyprint").mkdir(parents=True)
    (fake / "weasyprint" / "__init__.py").write_text(failure + "\n")
    proc = run_cli([*ARGS, "--pdf", "report.pdf", "--html", "report.html"], cwd=case,
                   env={"PYTHONPATH": str(fake)})
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    for word in words:
        assert word in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""  # nothing verified, nothing written
    assert not (case / "report.pdf").exists() and not (case / "report.html").exists()
