"""The evidence report in a real browser: Debian's chromium, headless.

What a reader sees (``--dump-dom``), a screenshot and a print to PDF, and proof from
Chromium's own DevTools account that the page asks for nothing but itself while it
is loaded, printed and captured. scripts/test installs chromium; without it these
tests are skipped, saying so.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pypdf
import pytest
from PIL import Image

from helpers.browser import DevToolsPipe, file_url, find_chromium, run_chromium
from helpers.hostile import HOSTILE, RLO, hostile_report
from helpers.reports import PageParts, scenario_report
from provelio_verify import CHECK_IDS
from provelio_verify.evidence_report import render_html

CHROMIUM = find_chromium()
if CHROMIUM is None:
    pytest.skip("chromium is not installed (scripts/test installs Debian's chromium); the "
                "evidence report's browser tests need it", allow_module_level=True)
assert CHROMIUM is not None

ARGS = ["document.txt", "proof.json", "--tsa-roots", "roots.pem", "--allow-test-mode",
        "--headers", "headers.bin"]
#: The verdict box's background per verdict (style.py: --passed-bg and its siblings).
VERDICT_BACKGROUND = {"PASSED": (0xE8, 0xF5, 0xEC), "FAILED": (0xFD, 0xEC, 0xEA),
                      "INDETERMINATE": (0xFF, 0xF4, 0xD6)}


@pytest.fixture(scope="module")
def report() -> dict[str, object]:
    return scenario_report("ok-confirmed-regtest", ARGS)


@pytest.fixture(scope="module")
def page(report, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("page") / "report.html"
    path.write_text(render_html(report), encoding="utf-8")
    return path


def _assert_shows_the_report(text: str, report) -> None:
    flat = "".join(text.split())
    verdict = report["indication"] + (f"({report['subIndication']})"
                                      if report["subIndication"] else "")
    assert verdict in flat
    assert report["subject"]["sha256"] in flat
    for check_id in CHECK_IDS:
        assert check_id in flat, check_id


def test_dump_dom_shows_the_verdict_the_hash_and_every_check(page, report):
    proc = run_chromium(CHROMIUM, "--dump-dom", file_url(page))
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = PageParts(proc.stdout)
    _assert_shows_the_report(dom.text, report)
    assert "Verify it yourself" in dom.text
    assert "script" not in dom.tags


def test_screenshot_is_the_styled_report(page, report, tmp_path):
    shot = tmp_path / "report.png"
    proc = run_chromium(CHROMIUM, f"--screenshot={shot}", "--window-size=1000,1400",
                        file_url(page))
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 20_000
    image = Image.open(io.BytesIO(data)).convert("RGB")
    assert image.size == (1000, 1400)
    colours = image.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 50  # text, not a blank page
    # The verdict box is painted: the stylesheet passed the page's own CSP.
    box = sum(n for n, rgb in colours if rgb == VERDICT_BACKGROUND[report["indication"]])
    assert box > 20_000, box


def test_print_to_pdf_holds_the_report(page, report, tmp_path):
    pdf = tmp_path / "report.pdf"
    proc = run_chromium(CHROMIUM, f"--print-to-pdf={pdf}", "--no-pdf-header-footer",
                        file_url(page))
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 3
    _assert_shows_the_report("".join(p.extract_text() for p in reader.pages), report)
    footer = reader.pages[0].extract_text()
    assert re.search(r"page 1 of \d+", footer), footer  # the @page margin boxes


def test_the_page_asks_for_nothing_while_shown_printed_and_captured(page):
    with DevToolsPipe(CHROMIUM) as browser:
        browser.open(file_url(page))
        assert browser.print_to_pdf().startswith(b"%PDF-")
        assert browser.screenshot().startswith(b"\x89PNG")
        browser.drain(0.3)
        assert browser.requested_urls() == [file_url(page)]


def test_the_request_detector_sees_a_page_that_does_ask(page, tmp_path):
    """The same report with an image and a print-only stylesheet from the network slipped
    in: the detector must list both, even though the report's CSP blocks them."""
    injected = page.read_text().replace(
        "<body>", '<body><img src="http://example.invalid/pixel.png">'
        '<link rel="stylesheet" media="print" href="https://fonts.example.invalid/a.css">', 1)
    bad = tmp_path / "bad.html"
    bad.write_text(injected)
    with DevToolsPipe(CHROMIUM) as browser:
        browser.open(file_url(bad))
        browser.print_to_pdf()
        browser.drain(0.3)
        urls = browser.requested_urls()
    assert file_url(bad) in urls
    assert "http://example.invalid/pixel.png" in urls
    assert "https://fonts.example.invalid/a.css" in urls


def test_hostile_names_render_as_text_in_the_browser(report, tmp_path):
    hostile = json.loads(json.dumps(report))
    hostile["subject"]["path"] = '<img src="http://example.invalid/x.png" onerror="x()">'
    hostile["certificate"]["metadata"] = {"</style><script>": "<iframe src=//e.invalid>"}
    path = tmp_path / "hostile.html"
    path.write_text(render_html(hostile))
    proc = run_chromium(CHROMIUM, "--dump-dom", file_url(path))
    dom = PageParts(proc.stdout)
    assert not {"img", "script", "iframe"} & dom.tags
    assert hostile["subject"]["path"] in dom.text
    assert "<iframe src=//e.invalid>" in dom.text


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_a_hostile_bundle_makes_no_element_in_the_browser(kind, tmp_path):
    """Every string of the bundle an injection attempt (or a right-to-left override):
    Chromium's DOM holds no element and no handler from them, and shows them all."""
    report = hostile_report(tmp_path, HOSTILE[kind])
    path = tmp_path / "hostile.html"
    path.write_text(render_html(report), encoding="utf-8")
    proc = run_chromium(CHROMIUM, "--dump-dom", file_url(path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = PageParts(proc.stdout)
    assert not {"script", "img", "iframe", "object", "embed", "svg"} & dom.tags
    assert all(not a.startswith("on") for _, attrs in dom.elements for a in attrs)
    assert RLO not in proc.stdout
    visible = HOSTILE[kind].replace(RLO, "\\u202e")
    assert dom.text.count(visible) >= 5, dom.text.count(visible)


def test_chromiums_print_breaks_no_command_inside_a_word(page, report, tmp_path):
    """Printed by the browser too (its own print engine, the page's print stylesheet),
    every command is whole once the page's own " \\" continuations are joined."""
    pdf = tmp_path / "report.pdf"
    proc = run_chromium(CHROMIUM, f"--print-to-pdf={pdf}", "--no-pdf-header-footer",
                        file_url(page))
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(pdf).pages)
    joined = re.sub(r" \\\n(?:    |#   )", " ", text)
    lines = {" ".join(line.split()) for line in joined.splitlines()}
    for command in (c for s in report["howToCheck"] for c in s["commands"]):
        assert " ".join(command.split()) in lines, command
