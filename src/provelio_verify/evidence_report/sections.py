"""The sections of the evidence report for one verification."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..howto import HOW_TO_CHECK
from ..report import Indication
from .markup import (
    ReportDict,
    anchor_id,
    checks_of,
    command_html,
    deciding_check,
    e,
    get,
    indication_html,
    kv_table,
    maybe,
    section,
    steps_of,
    subject_name,
    value_html,
    verdict_words,
)

NOT_KNOWN = "not recorded"
EVIDENCE_NAMES = {"rfc3161": "RFC 3161 timestamp", "bitcoin": "Bitcoin anchor"}
#: Certificate fields shown first, in this order, with their labels.
CERTIFICATE_FIELDS = (
    ("certificateId", "certificate id"), ("publicId", "public id"), ("status", "status"),
    ("testMode", "mode"), ("sha256Hash", "sha256Hash"), ("fileName", "file name"),
    ("fileSize", "file size"), ("fileType", "file type"),
    ("createdAt", "created at (claimed)"),
)



def item_sections(
    report: ReportDict, *, prefix: str = "", level: int = 2, shared: bool = True
) -> list[str]:
    """The sections for one report. ``prefix`` keeps element ids unique on a batch page;
    ``shared`` adds the trust anchors and environment (a batch page shows them once)."""
    parts = [] if prefix else [_header(report)]
    parts.append(_verdict(report))
    bodies = [
        ("subject", "Subject", _subject(report)),
        ("certificate", "Certificate record", _certificate(report, level + 1)),
        ("times", "Times", _times(report)),
        ("checks", "Checks", _checks(report, prefix, level + 1)),
        ("warnings", "Warnings", _warnings(report)),
    ]
    if shared:
        bodies.append(("trust", "Trust anchors", _trust(report, level + 1)))
    bodies += [
        ("chain", "Chain sources", _chain(report)),
        ("policy", "Verification policy", value_html(report.get("policy"))),
        ("verify-yourself", "Verify it yourself", _how_to(report, level + 1)),
    ]
    if shared:
        bodies.append(("environment", "Tool and environment",
                       environment_html(report.get("environment"))))
    for number, (ident, title, body) in enumerate(bodies, start=1):
        parts.append(section(level, anchor_id(prefix, ident), f"{number}. {title}", body))
    return parts


def _header(report: ReportDict) -> str:
    tool = report.get("tool")
    version = get(tool, "version")
    return (
        '<header><p class="kicker">provelio-verify evidence report</p>'
        f"<h1>{e(subject_name(report))}</h1>"
        f"<p>Verified at {e(report.get('verifiedAt') or 'an unrecorded time')} by "
        f"provelio-verify {e(version or '(unknown version)')}.</p></header>"
    )


def _verdict(report: ReportDict) -> str:
    indication = report.get("indication")
    cls = str(indication) if str(indication) in Indication.__members__ else "unknown"
    sub = report.get("subIndication")
    lines = [f'<p class="word">{e(indication)}'
             + (f' <span class="sub">({e(sub)})</span>' if sub else "") + "</p>",
             f"<p>In plain words: {e(verdict_words(indication))}"
             + (", within the limits listed below" if report.get("notShown") else "")
             + ".</p>"]
    decider = deciding_check(report)
    if decider is not None:
        lines.append(f"<p>Decided by the check <code>{e(decider.get('id'))}</code>: "
                     f"{e(decider.get('message'))}</p>")
    existence = report.get("existence")
    not_after = get(existence, "notAfter")
    if indication == Indication.FAILED.value:
        lines.append(f"<p>{e(NO_EXISTENCE_ON_FAILED)}.</p>")
    elif not_after:
        lines.append(f"<p>The evidence shows that this data existed no later than "
                     f"<strong>{e(not_after)}</strong> ({e(_evidence_words(existence))}).</p>")
    else:
        lines.append("<p>No evidence established a time of existence.</p>")
    if get(report.get("certificate"), "testMode") is True:
        lines.append('<p class="banner">This is a test-mode certificate: it is not '
                     "evidence.</p>")
    lines.append(not_shown_html(report))
    return f'<div class="verdict {cls}">{"".join(lines)}</div>'


#: What a FAILED report says instead of a time of existence (it gives only why).
NO_EXISTENCE_ON_FAILED = ("The verdict is FAILED: this report makes no statement about "
                          "when the data existed")


def not_shown_html(report: ReportDict) -> str:
    """The report's ``notShown`` list, under "What this does not show"."""
    items = report.get("notShown")
    items = [i for i in items if isinstance(i, Mapping)] if isinstance(items, list) else []
    if not items:
        return ('<div class="not-shown"><p><strong>What this does not show:</strong> '
                "nothing beyond the checks' own scope is listed.</p></div>")
    rows = "".join(f'<li data-id="{e(i.get("id"))}">{e(i.get("text"))}</li>' for i in items)
    return (f'<div class="not-shown"><p><strong>What this does not show:</strong></p>'
            f"<ul>{rows}</ul></div>")


def _evidence_words(existence: Any) -> str:
    kinds = get(existence, "evidence")
    kinds = kinds if isinstance(kinds, list) else []
    return "evidence: " + (", ".join(EVIDENCE_NAMES.get(str(k), str(k)) for k in kinds)
                           or "none")


def _subject(report: ReportDict) -> str:
    subject = report.get("subject")
    path = get(subject, "path")
    size = get(subject, "size")
    bundle = report.get("bundle")
    rows = [
        ("file", value_html(path) if path else '<span class="muted">not read: the '
         "digest was given</span>"),
        ("size", f"{size:,} bytes" if isinstance(size, int) else maybe(size, NOT_KNOWN)),
        ("SHA-256 (computed)", maybe(get(subject, "sha256"), NOT_KNOWN)),
        ("proof bundle", maybe(get(bundle, "path"), NOT_KNOWN)),
        ("SHA-256 of the bundle", maybe(get(bundle, "sha256"), NOT_KNOWN)),
    ]
    return kv_table(rows)


def _certificate(report: ReportDict, level: int) -> str:
    cert = report.get("certificate")
    if not isinstance(cert, Mapping):
        return '<p>The bundle is malformed: no certificate record could be read.</p>'
    claimed = report.get("claims")
    claimed = claimed if isinstance(claimed, Mapping) else {}
    modes = {True: "test mode (not evidence)", False: "live"}
    rows = [(label, modes[cert[key]] if key == "testMode" and isinstance(cert[key], bool)
             else value_html(cert[key]) + (UNSIGNED_MARK if key in claimed else ""))
            for key, label in CERTIFICATE_FIELDS if key in cert]
    known = {key for key, _ in CERTIFICATE_FIELDS} | {"metadata"}
    rows += [(str(k), value_html(v)) for k, v in cert.items() if k not in known]
    return (_established_html(report, level) + f"<h{level}>Claims of the bundle</h{level}>"
            f'<p class="note">{e(CLAIMS_NOTE)}.</p>'
            + kv_table(rows) + f"<h{level}>Metadata</h{level}>"
            '<p class="note">As written in the bundle: echoed, never interpreted or '
            "checked; an unsigned claim.</p>" + value_html(cert.get("metadata")))


#: What the report says of the bundle's certificate fields (the ``claims`` key).
CLAIMS_NOTE = ("Unsigned claims: file name, file type, certificate id, public id, created "
               "at, metadata and status are what the bundle says; nothing signs them and no "
               "check establishes them")
UNSIGNED_MARK = ' <span class="muted">(unsigned claim)</span>'


def _established_html(report: ReportDict, level: int) -> str:
    found = report.get("established")
    found = found if isinstance(found, Mapping) else {}
    rows = [(str(k), f"{value_html(get(v, 'value'))} <span class=\"muted\">established by "
             + e(", ".join(str(c) for c in (get(v, "establishedBy") or []))) + "</span>")
            for k, v in found.items()]
    body = kv_table(rows) if rows else "<p>Nothing was established by the evidence.</p>"
    return f"<h{level}>Established by the evidence</h{level}>{body}"


def _times(report: ReportDict) -> str:
    times = report.get("times")
    existence = report.get("existence")
    not_after = get(existence, "notAfter")
    cert = report.get("certificate")
    rows = [
        ("genTime (as the token states)", maybe(get(times, "genTime"))),
        ("block time (as the block header states)", maybe(get(times, "blockTime"))),
        ("existed no later than (existence.notAfter)",
         f'<span class="muted">{e(NO_EXISTENCE_ON_FAILED)}</span>'
         if report.get("indication") == Indication.FAILED.value
         else f"<strong>{e(not_after)}</strong> ({e(_evidence_words(existence))})" if not_after
         else '<span class="muted">no evidence established a time</span>'),
        ("created at (claimed by the bundle, not evidence)", maybe(get(cert, "createdAt"))),
        ("verified at (this tool's clock)", maybe(report.get("verifiedAt"))),
    ]
    return kv_table(rows) + (
        '<p class="note">existence.notAfter is the earliest of genTime plus its accuracy '
        "and the block time plus Bitcoin's two-hour tolerance, over the evidence whose "
        "checks all passed, rounded up to the second (UTC).</p>")


def _checks(report: ReportDict, prefix: str, level: int) -> str:
    checks = checks_of(report)
    if not checks:
        return '<p class="muted">(no checks recorded)</p>'
    rows = []
    for check in checks:
        cid = str(check.get("id"))
        optional = "" if check.get("required", True) else " (not required)"
        rows.append(
            f'<tr><td><a href="#{anchor_id(prefix, "check", cid)}"><code>{e(cid)}</code></a>'
            f"</td><td>{indication_html(check.get('indication'))}{e(optional)}</td>"
            f"<td>{e(check.get('subIndication') or '')}</td></tr>")
    overview = ("<table><thead><tr><th>check</th><th>indication</th><th>sub-indication"
                f"</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")
    return overview + "".join(_check_block(c, prefix, level) for c in checks)


def _check_block(check: Mapping[str, Any], prefix: str, level: int) -> str:
    cid = str(check.get("id"))
    indication = str(check.get("indication"))
    cls = indication if indication in Indication.__members__ else "unknown"
    sub = check.get("subIndication")
    head = f"<code>{e(cid)}</code> {indication_html(indication)}"
    if sub:
        head += f" {e(sub)}"
    if not check.get("required", True):
        head += ' <span class="muted">(not required)</span>'
    body = f"<p>{e(check.get('message'))}</p>" + _details(check)
    if isinstance(details := check.get("details"), Mapping) and HOW_TO_CHECK in details:
        body += ('<p class="note">Commands to check this by hand are under '
                 "“Verify it yourself”.</p>")
    return (f'<div class="check {cls}" id="{anchor_id(prefix, "check", cid)}">'
            f"<h{level}>{head}</h{level}>{body}</div>")


def _details(check: Mapping[str, Any]) -> str:
    """A check's details as nested tables; its commands go to "Verify it yourself"."""
    details = check.get("details")
    shown = ({k: v for k, v in details.items() if k != HOW_TO_CHECK}
             if isinstance(details, Mapping) else details)
    return value_html(shown) if shown else ""


def _warnings(report: ReportDict) -> str:
    warnings = report.get("warnings")
    if not isinstance(warnings, list) or not warnings:
        return '<p class="muted">(none)</p>'
    return "<ul>" + "".join(f"<li>{e(w)}</li>" for w in warnings) + "</ul>"


def _trust(report: ReportDict, level: int) -> str:
    return trust_anchors_html(report.get("trustAnchors"), report.get("policy")) + (
        f"<h{level}>The TSA path, as <code>timestamp.chain</code> reports it</h{level}>"
        + _check_summary(report, "timestamp.chain"))


def trust_anchors_html(anchors: Any, policy: Any) -> str:
    parts = ['<p class="note">Only these certificates, chosen by whoever ran the '
             "verification, were trusted as roots of the TSA's certificate path; "
             "certificates inside the token or the bundle never are.</p>"]
    if isinstance(anchors, list) and anchors:
        parts += [_anchor_table(anchor) for anchor in anchors]
    else:
        parts.append("<p>No trust anchor was configured (<code>--tsa-roots</code>).</p>")
    if get(policy, "systemRoots") is True:
        parts.append("<p>The operating system's root store was trusted too "
                     "(<code>--system-roots</code>).</p>")
    return "".join(parts)


def _anchor_table(anchor: Any) -> str:
    if not isinstance(anchor, Mapping):
        return value_html(anchor)
    labels = {"subject": "subject", "sha256": "SHA-256 fingerprint", "issuer": "issuer",
              "serialNumber": "serial number", "notBefore": "valid from",
              "notAfter": "valid until"}
    rows = [(label, value_html(anchor[key])) for key, label in labels.items() if key in anchor]
    rows += [(str(k), value_html(v)) for k, v in anchor.items() if k not in labels]
    return kv_table(rows)


def _check_summary(report: ReportDict, check_id: str) -> str:
    for check in checks_of(report):
        if check.get("id") == check_id:
            return (f"<p>{indication_html(check.get('indication'))} "
                    f"{e(check.get('subIndication') or '')} {e(check.get('message'))}</p>"
                    + _details(check))
    return '<p class="muted">(not in this report)</p>'


def _chain(report: ReportDict) -> str:
    policy = report.get("policy")
    need = get(policy, "minConfirmations")
    return ('<p class="note">Each chain source the verification asked, and what it '
            f"answered, as <code>anchor.chain</code> reports it. Depth demanded: "
            f"{e(need if need is not None else 'not recorded')} confirmations.</p>"
            + _check_summary(report, "anchor.chain"))


def _how_to(report: ReportDict, level: int) -> str:
    steps = steps_of(report)
    if not steps:
        return "<p>The bundle is malformed: it makes no claim to check by hand.</p>"
    parts = ['<p class="note">Commands for a POSIX shell with standard tools '
             "(sha256sum and stat from GNU coreutils, jq, base64, xxd, openssl; "
             "bitcoin-cli or a block explorer for the anchor), run in the folder where "
             "the verification was run. They do not use provelio-verify.</p>"]
    for number, step in enumerate(steps, start=1):
        check = step.get("check")
        commands = step.get("commands")
        lines = [c for c in commands if isinstance(c, str)] if isinstance(commands, list) \
            else []
        title = f"Step {number}: {step.get('title')}"
        part = f'<div class="step"><h{level}>{e(title)}'
        if check:
            part += f' <span class="muted">(<code>{e(check)}</code>)</span>'
        part += f"</h{level}>"
        part += "<pre>" + "\n".join(command_html(line) for line in lines) + "</pre>"
        if step.get("expect"):
            part += f"<p>Expect: {e(step['expect'])}</p>"
        parts.append(part + "</div>")
    return "".join(parts)


def environment_html(env: Any) -> str:
    if not isinstance(env, Mapping):
        return '<p class="muted">(not recorded)</p>'
    tool = env.get("tool")
    rows = [("tool", e(f"{get(tool, 'name')} {get(tool, 'version')}")),
            ("python", maybe(env.get("python"))), ("platform", maybe(env.get("platform")))]
    packages = env.get("packages")
    if isinstance(packages, Mapping):
        rows += [(str(name), maybe(version)) for name, version in packages.items()]
    openssl = env.get("openssl")
    if isinstance(openssl, Mapping):
        rows += [(f"OpenSSL ({user})", maybe(version)) for user, version in openssl.items()]
    known = {"tool", "python", "platform", "packages", "openssl"}
    rows += [(str(k), value_html(v)) for k, v in env.items() if k not in known]
    return kv_table(rows)
