"""The batch page: counts, one row per item, full sections for items that did not pass
(what they show; ``templates/batch.html`` lays them out)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from markupsafe import Markup

from ..report import CHECK_IDS, Indication
from .markup import (
    ReportDict,
    checks_of,
    deciding_check,
    get,
    section,
    subject_name,
)
from .sections import (
    Shown,
    checkpoint_rows,
    environment_html,
    item_sections,
    trust_anchors_html,
)
from .templating import macro

#: Rows of the table of items per HTML table (see :func:`_index`).
ROWS_PER_TABLE = 500


def batch_sections(reports: Sequence[ReportDict], *, passed_in_full: bool = False
                   ) -> list[Markup]:
    """Counts, one row per item, the shared trust anchors and environment, then full
    sections for each item that did not pass (for every item with ``passed_in_full``)."""
    full = [passed_in_full or r.get("indication") != Indication.PASSED.value
            for r in reports]
    moments = sorted(str(r["verifiedAt"]) for r in reports if r.get("verifiedAt"))
    when = ("" if not moments else f" at {moments[0]}" if moments[0] == moments[-1]
            else f" between {moments[0]} and {moments[-1]}")
    parts = [_batch("header")(len(reports), when)]
    counts = Counter(str(r.get("indication")) for r in reports)
    names = [*Indication.__members__, *sorted(set(counts) - set(Indication.__members__))]
    summary = _batch("summary")([(name, counts[name]) for name in names], len(reports),
                                _failing(reports), sum(full), len(reports) - sum(full),
                                passed_in_full)
    parts.append(section(2, "summary", "1. Summary", summary))
    parts.append(section(2, "items", "2. Items", _index(reports, full)))
    anchors = _distinct(r.get("trustAnchors") for r in reports)
    policies = _distinct(r.get("policy") for r in reports)
    checkpoints = checkpoint_rows(reports)
    trust = [trust_anchors_html(a, policies[0] if policies else None,
                                checkpoints if number == 0 else None)
             for number, a in enumerate(anchors)] \
        or [trust_anchors_html(None, None, checkpoints)]
    parts.append(section(2, "trust", "3. Trust anchors", _joined(trust)))
    environments = _distinct(r.get("environment") for r in reports)
    parts.append(section(2, "environment", "4. Tool and environment",
                          _joined([environment_html(env) for env in environments]
                                  or [environment_html(None)])))
    shown = Shown()
    for number, (report, in_full) in enumerate(zip(reports, full, strict=True), start=1):
        if in_full:
            parts.append(_batch("item")(number, subject_name(report), item_sections(
                report, prefix=f"item-{number}", level=3, shared=False, shown=shown,
                label=f"item {number}")))
    return parts


def _batch(name: str) -> Callable[..., Markup]:
    """A macro of ``templates/batch.html``."""
    return macro("batch.html", name)


def _joined(parts: list[Markup]) -> Markup:
    """Macros' markup one after the other (Markup.join escapes anything that is not)."""
    return Markup("").join(parts)


def _failing(reports: Sequence[ReportDict]) -> list[tuple[str, str, str, int]]:
    """How many items each check failed, or left undecided where it was required:
    (check id, indication, sub-indication, items), in the order of the check table."""
    counts: Counter[tuple[str, str, str]] = Counter()
    for report in reports:
        for check in checks_of(report):
            indication = check.get("indication")
            if indication == Indication.FAILED.value or (
                    indication == Indication.INDETERMINATE.value and check.get("required",
                                                                               True)):
                counts[(str(check.get("id")), str(indication),
                        str(check.get("subIndication") or ""))] += 1

    def order(key: tuple[str, str, str]) -> tuple[int, str, str]:
        cid = key[0]
        return (CHECK_IDS.index(cid) if cid in CHECK_IDS else len(CHECK_IDS), key[1], key[2])

    return [(cid, ind, sub, counts[(cid, ind, sub)])
            for cid, ind, sub in sorted(counts, key=order)]


def _index(reports: Sequence[ReportDict], full: Sequence[bool]) -> Markup:
    rows = []
    for number, (report, in_full) in enumerate(zip(reports, full, strict=True), start=1):
        decider = deciding_check(report)
        rows.append({"number": number, "linked": in_full, "name": subject_name(report),
                     "sha256": get(report.get("subject"), "sha256"),
                     "result": report.get("indication"), "decided": decider is not None,
                     "decider_id": get(decider, "id"),
                     "decider_sub": get(decider, "subIndication") or "",
                     "not_after": _not_after(report)})
    # Tables of ROWS_PER_TABLE rows, each in a block the browser may skip laying out
    # and painting while it is off screen (content-visibility): a page of 10,000 items
    # opens in seconds. Fixed column widths keep the tables aligned.
    return _batch("index")([rows[at:at + ROWS_PER_TABLE]
                            for at in range(0, len(rows), ROWS_PER_TABLE)])


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
