"""The evidence report as one self-contained HTML page, from reports' JSON objects
(``templates/page.html``).

The page holds no script and loads nothing; a Content-Security-Policy admits only its
own inline stylesheet, so even a defect here could not make a browser fetch anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup

from ..report import TOOL_NAME
from .batch import batch_sections
from .markup import ReportDict, subject_name
from .sections import item_sections
from .style import CSS, css_hash_source
from .templating import render


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


def _page(title: str, body: list[Markup], reports: Sequence[ReportDict]) -> str:
    versions = sorted({str(tool.get("version")) for r in reports
                       if isinstance(tool := r.get("tool"), Mapping)})
    return render(
        "page.html", title=title, body=body,
        csp=(f"default-src 'none'; style-src {css_hash_source()}; img-src 'none'; "
             "base-uri 'none'; form-action 'none'"),
        generator=f"{TOOL_NAME} {', '.join(versions)}".strip(),
        created=max((str(r["verifiedAt"]) for r in reports if r.get("verifiedAt")),
                    default=""),
        # Our own stylesheet, a constant: inserted as it is (escaping would turn its
        # selectors' ">" into "&gt;"), and the CSP admits exactly these bytes.
        css=Markup(CSS),
    )
