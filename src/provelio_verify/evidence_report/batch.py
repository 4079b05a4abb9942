"""The batch page: counts, one row per item, full sections for items that did not pass."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from ..report import CHECK_IDS, Indication
from .markup import (
    ReportDict,
    checks_of,
    deciding_check,
    e,
    get,
    indication_html,
    maybe,
    section,
    subject_name,
)
from .sections import Shown, environment_html, item_sections, trust_anchors_html

#: Rows of the table of items per HTML table (see :func:`_index`).
ROWS_PER_TABLE = 500


def batch_sections(reports: Sequence[ReportDict], *, passed_in_full: bool = False
                   ) -> list[str]:
    """Counts, one row per item, the shared trust anchors and environment, then full
    sections for each item that did not pass (for every item with ``passed_in_full``)."""
    full = [passed_in_full or r.get("indication") != Indication.PASSED.value
            for r in reports]
    moments = sorted(str(r["verifiedAt"]) for r in reports if r.get("verifiedAt"))
    when = ("" if not moments else f" at {moments[0]}" if moments[0] == moments[-1]
            else f" between {moments[0]} and {moments[-1]}")
    parts = ['<header><p class="kicker">provelio-verify evidence report</p>'
             f"<h1>Batch of {len(reports):,} verifications</h1>"
             f"<p>Verified{e(when)}.</p></header>"]
    passed = len(reports) - sum(full)
    note = (f"Full details follow for {_items(sum(full))}"
            + (" (every item)." if passed_in_full else
               f" that did not pass. Items that passed ({_items(passed)}) "
               "are one row each in the table of items; their JSON reports hold every "
               "detail, and <code>provelio-verify FILE PROOF --html PATH</code> gives "
               "any one of them a full page."))
    summary = _counts(reports) + _failing(reports) + f'<p class="note">{note}</p>'
    parts.append(section(2, "summary", "1. Summary", summary))
    parts.append(section(2, "items", "2. Items", _index(reports, full)))
    anchors = _distinct(r.get("trustAnchors") for r in reports)
    policies = _distinct(r.get("policy") for r in reports)
    trust = "".join(trust_anchors_html(a, policies[0] if policies else None) for a in anchors) \
        or trust_anchors_html(None, None)
    parts.append(section(2, "trust", "3. Trust anchors", trust))
    environments = _distinct(r.get("environment") for r in reports)
    parts.append(section(2, "environment", "4. Tool and environment",
                          "".join(environment_html(env) for env in environments)
                          or environment_html(None)))
    shown = Shown()
    for number, (report, in_full) in enumerate(zip(reports, full, strict=True), start=1):
        if in_full:
            parts.append(f'<section class="item" id="item-{number}"><h2>Item {number}: '
                         f"{e(subject_name(report))}</h2>")
            parts += item_sections(report, prefix=f"item-{number}", level=3, shared=False,
                                   shown=shown, label=f"item {number}")
            parts.append("</section>")
    return parts


def _items(count: int) -> str:
    return f"{count:,} item" + ("" if count == 1 else "s")


def _counts(reports: Sequence[ReportDict]) -> str:
    counts = Counter(str(r.get("indication")) for r in reports)
    rows = "".join(f"<tr><td>{indication_html(name)}</td><td class=\"num\">{counts[name]:,}"
                   "</td></tr>" for name in [*Indication.__members__, *sorted(
                       set(counts) - set(Indication.__members__))])
    return ("<table><thead><tr><th>indication</th><th class=\"num\">items</th></tr></thead>"
            f"<tbody>{rows}<tr><th>total</th><td class=\"num\">{len(reports):,}</td></tr>"
            "</tbody></table>")


def _failing(reports: Sequence[ReportDict]) -> str:
    """How many items each check failed, or left undecided where it was required."""
    counts: Counter[tuple[str, str, str]] = Counter()
    for report in reports:
        for check in checks_of(report):
            indication = check.get("indication")
            if indication == Indication.FAILED.value or (
                    indication == Indication.INDETERMINATE.value and check.get("required",
                                                                               True)):
                counts[(str(check.get("id")), str(indication),
                        str(check.get("subIndication") or ""))] += 1
    if not counts:
        return "<p>Every check of every item passed, or was not required.</p>"

    def order(key: tuple[str, str, str]) -> tuple[int, str, str]:
        cid = key[0]
        return (CHECK_IDS.index(cid) if cid in CHECK_IDS else len(CHECK_IDS), key[1], key[2])

    rows = "".join(
        f"<tr><td><code>{e(cid)}</code></td><td>{indication_html(ind)}</td><td>{e(sub)}</td>"
        f'<td class="num">{counts[(cid, ind, sub)]:,}</td></tr>'
        for cid, ind, sub in sorted(counts, key=order))
    return ("<p>Checks that did not pass (INDETERMINATE counted where the check was "
            "required):</p><table><thead><tr><th>check</th><th>indication</th>"
            '<th>sub-indication</th><th class="num">items</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>")


def _index(reports: Sequence[ReportDict], full: Sequence[bool]) -> str:
    rows = []
    for number, (report, in_full) in enumerate(zip(reports, full, strict=True), start=1):
        label = f'<a href="#item-{number}">{number}</a>' if in_full else str(number)
        decider = deciding_check(report)
        why = (f"<code>{e(decider.get('id'))}</code> {e(decider.get('subIndication') or '')}"
               if decider else "")
        rows.append(
            f'<tr><td class="num">{label}</td><td class="wrap">{e(subject_name(report))}</td>'
            f"<td>{maybe(get(report.get('subject'), 'sha256'))}</td>"
            f"<td>{indication_html(report.get('indication'))}<br>{why}</td>"
            f"<td>{e(_not_after(report))}</td></tr>")
    head = ('<table class="index"><thead><tr><th class="num">#</th><th>subject</th>'
            "<th>SHA-256</th><th>verdict</th><th>existed no later than</th></tr></thead>")
    # Tables of ROWS_PER_TABLE rows, each in a block the browser may skip laying out
    # and painting while it is off screen (content-visibility): a page of 10,000 items
    # opens in seconds. Fixed column widths keep the tables aligned.
    return "".join(f'<div class="rows">{head}<tbody>{"".join(rows[at:at + ROWS_PER_TABLE])}'
                   "</tbody></table></div>" for at in range(0, len(rows), ROWS_PER_TABLE))


def _distinct(values: Any) -> list[Any]:
    """The distinct values, in first-seen order (compared as their JSON text)."""
    seen: dict[str, Any] = {}
    for value in values:
        if value is not None:
            seen.setdefault(json.dumps(value, sort_keys=True, default=str), value)
    return list(seen.values())


def _not_after(report: ReportDict) -> str:
    """A row's existence column: empty on FAILED (a FAILED item states only why)."""
    if report.get("indication") == Indication.FAILED.value:
        return ""
    return str(get(report.get("existence"), "notAfter") or "")
