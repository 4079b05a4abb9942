"""The evidence report as one self-contained HTML page, from reports' JSON objects.

The page holds no script and loads nothing; a Content-Security-Policy admits only its
own inline stylesheet, so even a defect here could not make a browser fetch anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..report import TOOL_NAME
from .batch import batch_sections
from .markup import ReportDict, e, subject_name
from .sections import item_sections
from .style import CSS, css_hash_source


def render_html(
    report: ReportDict | Sequence[ReportDict], *, passed_in_full: bool = False
) -> str:
    """The evidence report page for one report (a ``Report.to_dict()`` object) or for a
    batch (a sequence of them).

    A batch page opens with counts per indication and per check that did not pass,
    then one row per item, then full details for each item that did not pass (with
    ``passed_in_full``, for every item): thousands of PASSED items stay one row each.

    Raises:
        TypeError: ``report`` is neither a mapping nor a sequence of mappings.
    """
    if isinstance(report, Mapping):
        title = f"Evidence report: {subject_name(report)} - {report.get('indication')}"
        return _page(title, item_sections(report), [report])
    if isinstance(report, Sequence) and not isinstance(report, (str, bytes)) and all(
        isinstance(r, Mapping) for r in report
    ):
        items = list(report)
        title = f"Batch evidence report: {len(items)} verifications"
        return _page(title, batch_sections(items, passed_in_full=passed_in_full),
                     items)
    raise TypeError("render_html takes a report's dict or a sequence of them")


def _page(title: str, body: list[str], reports: Sequence[ReportDict]) -> str:
    csp = (f"default-src 'none'; style-src {css_hash_source()}; img-src 'none'; "
           "base-uri 'none'; form-action 'none'")
    versions = sorted({str(tool.get("version")) for r in reports
                       if isinstance(tool := r.get("tool"), Mapping)})
    generator = f"{TOOL_NAME} {', '.join(versions)}".strip()
    created = max((str(r["verifiedAt"]) for r in reports if r.get("verifiedAt")), default="")
    head = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{e(csp)}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="{e(generator)}">',
    ]
    if created:
        head.append(f'<meta name="dcterms.created" content="{e(created)}">')
    head += [f"<title>{e(title)}</title>", f"<style>{CSS}</style>", "</head>", "<body>"]
    foot = [
        "<footer>",
        f"<p>Made by {e(generator)}. This page holds no scripts and loads nothing from "
        "the network; it can be filed as it is. Its machine-readable twin is the JSON "
        "report (<code>provelio-verify --json</code>), which holds the same facts.</p>",
        "</footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(head + body + foot) + "\n"
