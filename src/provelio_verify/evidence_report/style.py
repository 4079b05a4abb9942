"""The evidence report's one stylesheet, inlined into every page.

No web fonts, no ``url()``, no ``@import``: the page loads nothing. The printed page
takes the printer's paper (A4 or Letter; the layout fits the narrower A4 width and
the shorter Letter height), with page numbers in the bottom margin.
"""

from __future__ import annotations

import base64
import hashlib

CSS = """
:root {
  --ink: #1b1f24; --muted: #57606a; --rule: #d0d7de; --soft: #f6f8fa;
  --passed: #1a7f37; --failed: #b42318; --indeterminate: #8a5a00;
  --passed-bg: #e8f5ec; --failed-bg: #fdecea; --indeterminate-bg: #fff4d6;
}
html { color: var(--ink); background: #fff; }
body {
  font-family: "DejaVu Sans", "Liberation Sans", "Helvetica Neue", Arial, sans-serif;
  font-size: 10.5pt; line-height: 1.4; margin: 0 auto; padding: 1.5rem;
  max-width: 56rem;
}
code, pre, .hex, .mono {
  font-family: "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace;
  font-size: 0.92em;
}
.hex, .wrap { overflow-wrap: anywhere; word-break: break-all; }
h1 { font-size: 1.6rem; margin: 0.2rem 0 0.3rem; overflow-wrap: anywhere; }
h2 {
  font-size: 1.2rem; margin: 1.6rem 0 0.5rem; padding-bottom: 0.2rem;
  border-bottom: 2px solid var(--rule); break-after: avoid; page-break-after: avoid;
}
h3 { font-size: 1.02rem; margin: 1rem 0 0.35rem; break-after: avoid; }
h4 { font-size: 0.95rem; margin: 0.8rem 0 0.3rem; break-after: avoid; }
p { margin: 0.35rem 0; }
a { color: #0550ae; overflow-wrap: anywhere; }
.kicker { text-transform: uppercase; letter-spacing: 0.08em; color: var(--muted);
          font-size: 0.8rem; margin: 0; }
.muted, .note { color: var(--muted); }
.note { font-size: 0.9em; }
table { border-collapse: collapse; width: 100%; margin: 0.3rem 0 0.6rem; }
th, td { border: 1px solid var(--rule); padding: 0.25rem 0.45rem; text-align: left;
         vertical-align: top; }
thead th { background: var(--soft); }
table.kv > tbody > tr > th { width: 28%; font-weight: 600; background: var(--soft); }
table.kv table.kv { margin: 0; font-size: 0.95em; }
td.num, th.num { text-align: right; white-space: nowrap; }
tr { break-inside: avoid; page-break-inside: avoid; }
ol.values { margin: 0; padding-left: 1.6rem; }
.verdict {
  border: 2px solid; border-left-width: 10px; padding: 0.7rem 1rem; margin: 1rem 0;
  break-inside: avoid; page-break-inside: avoid;
}
.verdict .word { font-size: 1.7rem; font-weight: 700; margin: 0; letter-spacing: 0.03em; }
.verdict .sub { font-size: 1rem; font-weight: 600; }
.ind { font-weight: 700; white-space: nowrap; }
.ind.PASSED, .verdict.PASSED .word { color: var(--passed); }
.ind.FAILED, .verdict.FAILED .word { color: var(--failed); }
.ind.INDETERMINATE, .verdict.INDETERMINATE .word { color: var(--indeterminate); }
.verdict.PASSED { border-color: var(--passed); background: var(--passed-bg); }
.verdict.FAILED { border-color: var(--failed); background: var(--failed-bg); }
.verdict.INDETERMINATE { border-color: var(--indeterminate); background: var(--indeterminate-bg); }
.banner { border: 2px dashed var(--failed); padding: 0.4rem 0.7rem; font-weight: 600;
          color: var(--failed); }
.check { border: 1px solid var(--rule); border-left: 6px solid var(--rule);
         padding: 0.4rem 0.7rem; margin: 0.6rem 0; }
.check.PASSED { border-left-color: var(--passed); }
.check.FAILED { border-left-color: var(--failed); }
.check.INDETERMINATE { border-left-color: var(--indeterminate); }
.check h3, .check h4 { margin-top: 0.2rem; }
.step { margin: 0.6rem 0 0.9rem; break-inside: avoid; page-break-inside: avoid; }
pre {
  background: var(--soft); border: 1px solid var(--rule); padding: 0.45rem 0.6rem;
  margin: 0.3rem 0;
}
/* Commands: never wrapped by the browser or the printer (that would break a word and a
   copied command); the page wraps long ones itself at spaces, with the shell's own
   " \\" continuation, and a screen too narrow scrolls sideways. */
pre.commands { white-space: pre; overflow-x: auto; overflow-wrap: normal; word-break: normal; }
pre.wrap { white-space: pre-wrap; }
.cont { color: var(--muted); }
table.checks td:first-child { white-space: nowrap; width: 30%; }
table.flat, table.answers { font-size: 0.86em; margin: 0.2rem 0 0.5rem; }
table.flat th, table.flat td, table.answers th, table.answers td { padding: 0.1rem 0.35rem; }
table.flat > tbody > tr > th { width: 30%; font-weight: 600; background: var(--soft);
  font-family: "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace;
  font-size: 0.92em; overflow-wrap: anywhere; }
td.hexcell { font-family: "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace;
  font-size: 0.92em; overflow-wrap: anywhere; word-break: break-all; }
.check-group { margin: 0.3rem 0; border-left: 4px solid var(--passed); padding-left: 0.5rem; }
.check-group .group { margin: 0; font-weight: 600; }
.check-group .pairs { margin: 0.1rem 0 0; }
.pairs .k { font-weight: 600; white-space: nowrap; font-family: "DejaVu Sans Mono",
  "Liberation Mono", Menlo, Consolas, monospace; font-size: 0.9em; }

table.index { table-layout: fixed; margin: 0; }
table.index th:nth-child(1) { width: 3.8em; }
table.index th:nth-child(2) { width: 26%; }
table.index th:nth-child(3) { width: 32%; }
table.index th:nth-child(4) { width: 17%; }
table.index th:nth-child(5) { width: 17%; }
table.index td { overflow-wrap: anywhere; }
.rows + .rows thead { display: none; }
/* On screen, a browser may skip laying out and painting what is off screen: a batch
   page of 10,000 items opens in a second (benchmarks/report_batch.py). */
@media screen {
  .rows { content-visibility: auto; contain-intrinsic-size: auto 30000px; }
  .item { content-visibility: auto; contain-intrinsic-size: auto 4000px; }
}
.source-name { font-weight: 600; margin-top: 0.6rem; }
.appendix { margin-top: 2rem; border-top: 3px double var(--rule); }
.appendix .check { padding: 0.2rem 0.5rem; margin: 0.4rem 0; }
.appendix .check h3, .appendix .check h4 { font-size: 0.9rem; margin: 0.1rem 0 0.2rem; }
.item { border-top: 3px solid var(--ink); margin-top: 1.8rem; }
footer { margin-top: 2rem; padding-top: 0.5rem; border-top: 1px solid var(--rule);
         color: var(--muted); font-size: 0.85em; }
* { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
@page {
  margin: 13mm 13mm 15mm 13mm;
  @bottom-right { content: "page " counter(page) " of " counter(pages);
                  font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif;
                  font-size: 8pt; color: #57606a; }
  @bottom-left { content: "provelio-verify evidence report";
                 font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif;
                 font-size: 8pt; color: #57606a; }
}
@media print {
  body { max-width: none; padding: 0; font-size: 9pt; line-height: 1.3; }
  th, td { padding: 0.1rem 0.35rem; }
  h2 { margin: 0.9rem 0 0.35rem; }
  h3 { margin: 0.6rem 0 0.25rem; }
  .verdict { margin: 0.6rem 0; padding: 0.5rem 0.8rem; }
  .step { margin: 0.35rem 0 0.5rem; }
  .check-group .group { break-after: avoid; page-break-after: avoid; }
  a { color: inherit; text-decoration: none; }
  h2 { break-before: auto; }
  .check { break-inside: avoid; page-break-inside: avoid; }
  pre.commands { font-size: 7.8pt; overflow: visible; }
  .appendix { font-size: 7.8pt; }
  footer { margin-top: 0.6rem; padding-top: 0.2rem; font-size: 7.5pt; }
  .appendix .check { break-inside: auto; page-break-inside: auto; }
  .item { break-before: page; page-break-before: always; border-top: none; }
  .rows + .rows thead { display: table-header-group; }
}
"""


def css_hash_source() -> str:
    """The Content-Security-Policy source that admits exactly this stylesheet."""
    digest = hashlib.sha256(CSS.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"
