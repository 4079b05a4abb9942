"""The report in words, for a person at a terminal or reading a log."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import click

from .._text import printable
from ..report import VERDICT_WORDS, Indication, Report
from ..verifier.assemble import claims, established, not_shown

_COLOURS = {
    Indication.PASSED: "green",
    Indication.FAILED: "red",
    Indication.INDETERMINATE: "yellow",
}



def render_text(report: Report, *, color: bool = False) -> str:
    """One line per check with its indication, then a verdict line."""

    def paint(text: str, indication: Indication, bold: bool = False) -> str:
        return click.style(text, fg=_COLOURS[indication], bold=bold) if color else text

    lines = []
    subject = report.subject
    name = printable(str(subject.get("path"))) if subject.get("path") else "(digest given)"
    size = f", {subject['size']:,} bytes" if subject.get("size") is not None else ""
    lines.append(f"subject      {name}{size}")
    if subject.get("sha256"):
        lines.append(f"sha256       {subject['sha256']}")
    cert = report.certificate
    if cert:
        ident = cert.get("certificateId") or cert.get("publicId") or "(no id)"
        mode = "test mode" if cert.get("testMode") else "live"
        lines.append(f"certificate  {printable(str(ident))} ({cert.get('status')}, {mode}; "
                     "claimed by the bundle, unsigned)")
    lines.append("")
    width = max(len(c.id) for c in report.checks)
    for check in report.checks:
        label = paint(f"{check.indication.value:<13}", check.indication)
        sub = f"[{check.sub_indication.value}] " if check.sub_indication else ""
        optional = "" if check.required or check.indication is not Indication.INDETERMINATE \
            else " (not required)"
        lines.append(f"  {label} {check.id:<{width}}  {sub}{printable(check.message)}{optional}")
    if report.warnings:
        lines.append("")
        lines.extend(f"warning: {printable(w)}" for w in report.warnings)
    data = report.to_dict()
    lines.append("")
    lines.extend(_claims_lines(data))
    existence = report.existence
    lines.append("")
    if report.indication is Indication.FAILED:
        lines.append("existence: no statement - the verdict is FAILED (see the checks for why)")
    elif existence.get("notAfter"):
        evidence = ", ".join(existence.get("evidence", []))
        lines.append(f"existed no later than {existence['notAfter']} (evidence: {evidence})")
    else:
        lines.append("existence: no evidence established a time")
    shown = data.get("notShown")
    limits = shown if isinstance(shown, list) else not_shown(data)
    if limits:
        lines.append("what this does not show:")
        lines.extend(f"  - {printable(str(item.get('text')))}" for item in limits)
    verdict = report.indication.value
    if report.sub_indication:
        verdict += f" ({report.sub_indication.value})"
    words = VERDICT_WORDS[report.indication]
    if limits:
        words += ", within the limits listed above"
    lines.append(paint(f"VERDICT: {verdict}", report.indication, bold=True) + f" - {words}")
    return "\n".join(lines)


def _claims_lines(data: Mapping[str, Any]) -> list[str]:
    """The bundle's unsigned claims, then what the evidence established and by which
    checks (the report's ``claims`` and ``established``)."""
    claimed = data.get("claims")
    claimed = claimed if isinstance(claimed, Mapping) else claims(data)
    found = data.get("established")
    found = found if isinstance(found, Mapping) else established(data)
    lines = []
    if claimed:
        lines.append("claims of the bundle (unsigned: nothing signs them, no check "
                     "establishes them):")
        lines.extend(f"  {k:<13} {printable(_claim_text(v))}" for k, v in claimed.items())
    if found:
        lines.append("established by the evidence:")
        for k, v in found.items():
            by = ", ".join(str(c) for c in v.get("establishedBy", []))
            lines.append(f"  {k:<13} {printable(str(v.get('value')))} (by {by})")
    return lines


def _claim_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
