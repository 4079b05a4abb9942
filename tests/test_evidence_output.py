"""Writing the evidence report: --html and --pdf, atomic writes, never over an input,
and a clear usage error when the PDF writer is missing."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pypdf
import pytest
from test_chain_sources import main_chain

from helpers.chainservers import BitcoinRpcServer, EsploraServer
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


# ------------------------------------------------------------------ a confirmed certificate's PDF
# (issue 10, item 5): the verdict, the facts and the re-check steps first, the raw answers
# of the chain sources once in an appendix, commands never broken inside a word, and at
# most six pages.

CONFIRMED = SCENARIOS / "ok-confirmed-regtest"
CONFIRMED_ARGS = ["document.txt", "proof.json", "--tsa-roots", "roots.pem",
                  "--allow-test-mode", "--headers", "headers.bin"]
#: What follows " \" and a newline on a continued command line (markup.wrap_command).
CONTINUED = re.compile(r" \\\n(?:    |#   )")


def _confirmed_pdf(folder: Path, sources: str) -> tuple[dict[str, object], str]:
    """The JSON report and the PDF text of the confirmed scenario, verified with the
    headers file alone or with it, a Bitcoin Core node and two Esplora servers (loopback
    servers serving the scenario's chain): four sources with the same answers."""
    pdf = folder / f"confirmed-{sources}.pdf"
    if sources == "headers":
        proc = run_cli([*CONFIRMED_ARGS, "--pdf", str(pdf), "--json"], cwd=CONFIRMED)
    else:
        with EsploraServer(main_chain()) as esplora, BitcoinRpcServer(main_chain()) as node:
            proc = run_cli([*CONFIRMED_ARGS, "--bitcoin-node", node.url_with_credentials(),
                            "--esplora", esplora.url, "--esplora", esplora.url + "/",
                            "--pdf", str(pdf), "--json"], cwd=CONFIRMED)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    reader = pypdf.PdfReader(pdf)
    pages = [page.extract_text() for page in reader.pages]
    return report, "\f".join(pages)


@pytest.fixture(scope="module", params=["headers", "four-sources"])
def confirmed(request, tmp_path_factory):
    return _confirmed_pdf(tmp_path_factory.mktemp("confirmed"), request.param)


def test_a_confirmed_certificates_pdf_is_at_most_six_pages(confirmed):
    report, text = confirmed
    chain = next(c for c in report["checks"] if c["id"] == "anchor.chain")
    assert report["indication"] == "PASSED" and chain["indication"] == "PASSED"
    assert report["certificate"]["status"] == "confirmed"
    pages = text.split("\f")
    assert len(pages) <= 6, len(pages)


def test_the_verdict_facts_and_steps_come_before_the_appendix(confirmed):
    report, text = confirmed
    pages = text.split("\f")
    order = ["PASSED", "1. Subject", "Established by the evidence", "Claims of the bundle",
             "4. Checks", "5. Verify it yourself", "APPENDIX", "A. Details of the checks",
             "B. Chain sources and their answers"]
    where = [text.index(heading) for heading in order]
    assert where == sorted(where), list(zip(order, where, strict=True))
    steps_page = next(n for n, page in enumerate(pages, start=1)
                      if "5. Verify it yourself" in page)
    assert steps_page <= 3, steps_page
    assert report["subject"]["sha256"] in pages[0]
    assert report["existence"]["notAfter"] in pages[0]


def test_the_chain_sources_answers_are_printed_once(confirmed):
    report, text = confirmed
    chain = next(c for c in report["checks"] if c["id"] == "anchor.chain")
    sources = chain["details"]["sources"]
    for source in sources:
        assert source["source"].split("@")[-1] in text.replace("\n", "")
    headers = {a["answer"] for s in sources for a in s["answers"] if a["question"] == "header"}
    assert headers
    for header in headers:  # 80-byte headers are shown by their ends, once
        assert text.count(f"{header[:16]}…{header[-16:]}") == 1, header
    givers: dict[str, list[int]] = {}  # each distinct answer: the sources that gave it
    for number, source in enumerate(sources, start=1):
        for answer in source["answers"]:
            givers.setdefault(json.dumps(answer, sort_keys=True), []).append(number)
    answers = text[text.index("B. Chain sources and their answers"):]
    rows = [line for line in answers.splitlines()
            if re.match(r"\d+ (genesis|tip|blockHash|header|blockStatus)\b", line)]
    assert len(rows) == len(givers), rows
    if len(sources) > 1:
        expected = ["all" if len(g) == len(sources) else ", ".join(map(str, g))
                    for g in givers.values()]
        assert all(row.rstrip().endswith(" " + by)
                   for row, by in zip(rows, expected, strict=True)), (rows, expected)
        assert "all" in expected  # the sources agree on most: those rows are not repeated


def _commands(report) -> list[str]:
    return [c for step in report["howToCheck"] for c in step["commands"]]


def test_no_command_is_broken_inside_a_word_in_the_pdf(confirmed):
    """Each command is in the PDF's text whole, once the page's own continuations
    (" \\", a newline, an indent) are joined: the printer broke none of them."""
    report, text = confirmed
    joined = " ".join(CONTINUED.sub(" ", text).split(" "))
    lines = {" ".join(line.split()) for line in joined.splitlines()}
    for command in _commands(report):
        assert " ".join(command.split()) in lines, command
    assert " \\\n    " in text  # some command was long enough to be continued


def test_commands_copied_from_the_pdf_run(confirmed, tmp_path):
    """The Merkle step and the header-hash command, copied from the PDF's text as they
    are printed (continuation lines included), give what the report says."""
    if not all(shutil.which(t) for t in ("jq", "xxd", "sha256sum", "fold", "tac")):
        pytest.skip("jq, xxd, sha256sum, fold or tac is not installed (scripts/test installs "
                    "them): the test runs the printed commands")
    report, text = confirmed
    flat = text.replace("\f", "\n")
    merkle = flat[flat.index("(anchor.merkle-path)"):].split("\n", 1)[1]
    merkle = merkle[:merkle.index("Expect:")]
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", merkle], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)
    bundle = json.loads((CONFIRMED / "proof.json").read_text())
    assert proc.stdout.split()[-1] == bundle["anchor"]["merkleRoot"], proc.stderr
    work = flat[flat.index("(anchor.proof-of-work)"):].split("\n", 1)[1]
    first = work[:work.index("\n# ")]
    assert "\\\n" in first  # the printed command is continued over two lines
    shutil.copy(CONFIRMED / "proof.json", tmp_path / "proof.json")
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", first], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)
    assert proc.stdout.strip() == bundle["anchor"]["block"]["hash"], proc.stderr
