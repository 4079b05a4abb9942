"""The report in words, for a person at a terminal or reading a log."""

from __future__ import annotations

import click

from .._text import printable
from ..report import VERDICT_WORDS, Indication, Report

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
        lines.append(f"certificate  {printable(str(ident))} ({cert.get('status')}, {mode})")
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
    existence = report.existence
    lines.append("")
    if existence.get("notAfter"):
        evidence = ", ".join(existence.get("evidence", []))
        lines.append(f"existed no later than {existence['notAfter']} (evidence: {evidence})")
    else:
        lines.append("existence: no evidence established a time")
    verdict = report.indication.value
    if report.sub_indication:
        verdict += f" ({report.sub_indication.value})"
    lines.append(paint(f"VERDICT: {verdict}", report.indication, bold=True)
                 + f" - {VERDICT_WORDS[report.indication]}")
    return "\n".join(lines)
