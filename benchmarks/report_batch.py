#!/usr/bin/env python3
"""Batch evidence reports at scale (issue 10, item 6), as figures, targets and ratios
against baselines measured in the same run.

    python benchmarks/report_batch.py                      # every figure
    python benchmarks/report_batch.py --items 5000 --skip-pdf
    python benchmarks/report_batch.py --skip-browser       # without Chromium

The reports are real: the scenarios ok-confirmed-regtest and ok-created (PASSED),
merkle-sibling-tampered and tsa-wrong-imprint (FAILED) and require-anchor-unanchored
(INDETERMINATE) verified once each by the command line (--json); a batch of N items
repeats them under distinct file names and digests, --not-passed of them (default 1%)
from the three that did not pass, in turn.

1. HTML of --items items (default 10,000): the time render_html takes, the file's
   size (target <= 10 MB) and bytes per item, and the time headless Chromium takes to
   load it and paint a screenshot (target <= 10 s), against the same for the page of
   one confirmed certificate.
2. PDF of --pdf-items items (default 120) with WeasyPrint: the time (target <= 30 s)
   and the pages, against the PDF of one confirmed certificate.

With --full, every item gets its full sections (``passed_in_full``), the figure a
user choosing that option would see.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SCENARIOS = REPO / "tests" / "fixtures" / "scenarios"
sys.path.insert(0, str(REPO / "tests"))

from provelio_verify.evidence_report import render_html, write_pdf  # noqa: E402

MB = 1_000_000
PASSED_CASES = ("ok-confirmed-regtest", "ok-created")
OTHER_CASES = ("merkle-sibling-tampered", "tsa-wrong-imprint", "require-anchor-unanchored")


def scenario_report(name: str) -> dict[str, Any]:
    manifest = json.loads((REPO / "tests" / "fixtures" / "manifest.json").read_text())
    cases = manifest if isinstance(manifest, list) else manifest["scenarios"]
    args = next(c["args"] for c in cases if c["name"] == name)
    proc = subprocess.run([sys.executable, "-m", "provelio_verify", *args, "--json"],
                          cwd=SCENARIOS / name, capture_output=True, text=True, timeout=120)
    if proc.returncode not in (0, 1, 3):
        raise SystemExit(f"{name}: {proc.stderr}")
    return dict(json.loads(proc.stdout))


def batch(bases: dict[str, dict[str, Any]], items: int, not_passed: float
          ) -> list[dict[str, Any]]:
    """``items`` reports: copies of the scenario reports under distinct names and
    digests, every ``1/not_passed``-th one from a case that did not pass."""
    every = max(1, round(1 / not_passed)) if not_passed > 0 else items + 1
    out = []
    for i in range(items):
        cases = OTHER_CASES if i % every == every - 1 else PASSED_CASES
        report = json.loads(json.dumps(bases[cases[i % len(cases)]]))
        digest = hashlib.sha256(b"item %d" % i).hexdigest()
        report["subject"]["path"] = f"archive/2026/contract-{i:05d}.pdf"
        report["subject"]["sha256"] = digest
        out.append(report)
    return out


def browser_seconds(page: Path) -> tuple[float, float]:
    """Seconds headless Chromium takes to load ``page`` and paint a screenshot of it,
    and to have laid out all of it too."""
    from helpers.browser import DevToolsPipe, file_url, find_chromium

    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("chromium is not installed (scripts/test installs it); "
                         "or give --skip-browser")
    with DevToolsPipe(chromium) as browser:
        started = time.perf_counter()
        browser.open(file_url(page), settle=0)
        browser.screenshot()
        shown = time.perf_counter() - started
        # Then every part laid out, as if scrolled through (content-visibility off).
        browser.call("Runtime.evaluate", {"expression": LAY_OUT_ALL, "returnByValue": True},
                     session=browser.session)
        return shown, time.perf_counter() - started


#: Run in the benchmark's browser (never part of the page): lay out the whole page.
LAY_OUT_ALL = ("for (const e of document.querySelectorAll('.rows, .item')) "
               "e.style.contentVisibility = 'visible'; document.body.offsetHeight")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--pdf-items", type=int, default=120)
    parser.add_argument("--not-passed", type=float, default=0.01,
                        help="share of items that did not pass (default 0.01)")
    parser.add_argument("--full", action="store_true", help="every item in full")
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--skip-pdf", action="store_true")
    options = parser.parse_args()

    started = time.perf_counter()
    bases = {name: scenario_report(name) for name in (*PASSED_CASES, *OTHER_CASES)}
    print(f"scenario reports: {len(bases)} verified in {time.perf_counter() - started:.2f} s")
    single = bases["ok-confirmed-regtest"]
    ok = True
    with tempfile.TemporaryDirectory(prefix="report-batch-") as work:
        folder = Path(work)
        started = time.perf_counter()
        one_page = render_html(single)
        one_render = time.perf_counter() - started
        (folder / "one.html").write_text(one_page, encoding="utf-8")

        reports = batch(bases, options.items, options.not_passed)
        failing = sum(r["indication"] != "PASSED" for r in reports)
        started = time.perf_counter()
        page = render_html(reports, passed_in_full=options.full)
        render = time.perf_counter() - started
        size = len(page.encode("utf-8"))
        (folder / "batch.html").write_text(page, encoding="utf-8")
        print(f"\nHTML, {options.items:,} items ({failing:,} did not pass"
              + (", every item in full" if options.full else "") + ")")
        print(f"  render_html:        {render:8.2f} s   (one certificate's page "
              f"{one_render * 1000:.1f} ms; per item {render / options.items * 1000:.3f} ms)")
        print(f"  size:               {size / MB:8.2f} MB  (target <= 10 MB: "
              f"{'met' if size <= 10 * MB else 'MISSED'}; ratio {size / (10 * MB):.2f}; "
              f"{size / options.items:,.0f} bytes per item; one certificate's page "
              f"{len(one_page.encode()):,} bytes)")
        ok &= size <= 10 * MB
        if not options.skip_browser:
            one, _ = browser_seconds(folder / "one.html")
            many, whole = browser_seconds(folder / "batch.html")
            print(f"  Chromium load+paint:{many:8.2f} s   (target <= 10 s: "
                  f"{'met' if many <= 10 else 'MISSED'}; ratio {many / 10:.2f}; one "
                  f"certificate's page {one:.2f} s, ratio {many / one:.1f})")
            print(f"  ... all laid out:   {whole:8.2f} s   (as if scrolled to the end; "
                  f"ratio to the target {whole / 10:.2f})")
            ok &= many <= 10
        if not options.skip_pdf:
            started = time.perf_counter()
            write_pdf(folder / "one.pdf", single)
            one_pdf = time.perf_counter() - started
            pdf_reports = batch(bases, options.pdf_items, options.not_passed)
            pdf_failing = sum(r["indication"] != "PASSED" for r in pdf_reports)
            started = time.perf_counter()
            write_pdf(folder / "batch.pdf", pdf_reports, passed_in_full=options.full)
            pdf = time.perf_counter() - started
            pages = _pages(folder / "batch.pdf")
            print(f"\nPDF, {options.pdf_items:,} items ({pdf_failing} did not pass)")
            print(f"  write_pdf:          {pdf:8.2f} s   (target <= 30 s: "
                  f"{'met' if pdf <= 30 else 'MISSED'}; ratio {pdf / 30:.2f}; one "
                  f"certificate's PDF {one_pdf:.2f} s, ratio {pdf / one_pdf:.1f})")
            print(f"  pages:              {pages:8d}     (one certificate's PDF "
                  f"{_pages(folder / 'one.pdf')})")
            ok &= pdf <= 30
    print("\nall targets met" if ok else "\nSOME TARGET MISSED")
    return 0 if ok else 1


def _pages(path: Path) -> int:
    import pypdf

    return len(pypdf.PdfReader(path).pages)


if __name__ == "__main__":
    sys.exit(main())
