"""The sections of the evidence report for one verification."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..howto import HOW_TO_CHECK
from ..report import Indication
from .markup import (
    ReportDict,
    anchor_id,
    checks_of,
    command_html,
    condensed,
    condensed_rows,
    deciding_check,
    e,
    get,
    indication_html,
    inline_pairs,
    kv_table,
    maybe,
    section,
    steps_of,
    subject_name,
    value_html,
    verdict_words,
)

NOT_KNOWN = "not recorded"
HEX_DIGITS = re.compile(r"[0-9a-fA-F]+")
#: The check whose details list the chain sources' answers (shown once, in appendix B).
CHAIN_CHECK = "anchor.chain"
EVIDENCE_NAMES = {"rfc3161": "RFC 3161 timestamp", "bitcoin": "Bitcoin anchor"}
#: Certificate fields shown first, in this order, with their labels.
CERTIFICATE_FIELDS = (
    ("certificateId", "certificate id"), ("publicId", "public id"), ("status", "status"),
    ("testMode", "mode"), ("sha256Hash", "sha256Hash"), ("fileName", "file name"),
    ("fileSize", "file size"), ("fileType", "file type"),
    ("createdAt", "created at (claimed)"),
)


@dataclass
class Shown:
    """What a page has shown already, so a batch page shows each thing once: objects
    inside checks' details (JSON text -> where), and whole blocks (a check's details,
    a chain's answers, a policy: JSON text -> (label, element id))."""

    objects: dict[str, str] = field(default_factory=dict)
    blocks: dict[str, tuple[str, str]] = field(default_factory=dict)

    def first(self, kind: str, value: Any, label: str, ident: str) -> tuple[str, str] | None:
        """Where ``value`` was shown before (None the first time, noting it here)."""
        key = kind + "\0" + json.dumps(value, sort_keys=True, default=str)
        if key in self.blocks:
            return self.blocks[key]
        self.blocks[key] = (label, ident)
        return None


def item_sections(
    report: ReportDict, *, prefix: str = "", level: int = 2, shared: bool = True,
    shown: Shown | None = None, label: str = "",
) -> list[str]:
    """The sections for one report. ``prefix`` keeps element ids unique on a batch page;
    ``shared`` adds the trust anchors and environment (a batch page shows them once);
    ``shown`` (one per page) and ``label`` (``item 3``) let a batch page name what an
    earlier item showed instead of repeating it.

    What a reader acts on comes first: the verdict, the facts, the checks (one line
    each, with details where a check did not pass) and the commands to re-check it by
    hand. The checks' details and the chain sources' raw answers follow in an appendix,
    each once."""
    shown = shown if shown is not None else Shown()
    parts = [] if prefix else [_header(report)]
    parts.append(_verdict(report))
    bodies = [
        ("subject", "Subject", _subject(report)),
        ("certificate", "Certificate record", _certificate(report, level + 1)),
        ("times", "Times", _times(report)),
        ("checks", "Checks", _checks(report, prefix, level + 1)),
        ("verify-yourself", "Verify it yourself", _how_to(report, level + 1)),
        ("warnings", "Warnings", _warnings(report)),
    ]
    if shared:
        bodies.append(("trust", "Trust anchors",
                       trust_anchors_html(report.get("trustAnchors"), report.get("policy"))))
    for number, (ident, title, body) in enumerate(bodies, start=1):
        parts.append(section(level, anchor_id(prefix, ident), f"{number}. {title}", body))
    policy_id = anchor_id(prefix, "policy")
    policy_seen = shown.first("policy", report.get("policy"), label, policy_id)
    appendix = [
        ("details", "Details of the checks", _appendix_details(report, prefix, shown, label)),
        ("chain", "Chain sources and their answers",
         _chain(report, shown, label, anchor_id(prefix, "chain"))),
        ("policy", "Verification policy", _same_as(policy_seen) if policy_seen
         else _policy(report.get("policy"))),
    ]
    if shared:
        appendix.append(("environment", "Tool and environment",
                         environment_html(report.get("environment"))))
    parts.append(f'<div class="appendix" id="{anchor_id(prefix, "appendix")}">'
                 f'<p class="kicker">Appendix</p>')
    for letter, (ident, title, body) in zip("ABCDEFGH", appendix, strict=False):
        parts.append(section(level, anchor_id(prefix, ident), f"{letter}. {title}", body))
    parts.append("</div>")
    return parts


def _same_as(where: tuple[str, str]) -> str:
    """A reference to what an earlier part of the page showed."""
    label, ident = where
    return (f'<p class="muted">The same as for <a href="#{e(ident)}">{e(label or "above")}'
            "</a>.</p>")


def _policy(policy: Any) -> str:
    if not isinstance(policy, Mapping) or not policy:
        return condensed(policy)
    return inline_pairs(condensed_rows(policy))


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
    found = report.get("established")
    shown = {k for k, v in found.items() if get(v, "value") is not None} \
        if isinstance(found, Mapping) else set()
    rows = [
        ("genTime", "genTime (as the token states)", maybe(get(times, "genTime"))),
        ("blockTime", "block time (as the block header states)",
         maybe(get(times, "blockTime"))),
        ("notAfter", "existed no later than (existence.notAfter)",
         f'<span class="muted">{e(NO_EXISTENCE_ON_FAILED)}</span>'
         if report.get("indication") == Indication.FAILED.value
         else f"<strong>{e(not_after)}</strong> ({e(_evidence_words(existence))})" if not_after
         else '<span class="muted">no evidence established a time</span>'),
        ("", "created at (claimed by the bundle, not evidence)", maybe(get(cert, "createdAt"))),
        ("", "verified at (this tool's clock)", maybe(report.get("verifiedAt"))),
    ]
    above = [label for key, label, _ in rows if key in shown]
    note = (f"Shown above, with what establishes them: {', '.join(above)}. " if above else "")
    return kv_table([(label, value) for key, label, value in rows if key not in shown]) + (
        f'<p class="note">{e(note)}existence.notAfter is the earliest of genTime plus its '
        "accuracy and the block time plus Bitcoin's two-hour tolerance, over the evidence "
        "whose checks all passed, rounded up to the second (UTC).</p>")


def _checks(report: ReportDict, prefix: str, level: int) -> str:
    checks = checks_of(report)
    if not checks:
        return '<p class="muted">(no checks recorded)</p>'
    rows = []
    for check in checks:
        cid = str(check.get("id"))
        indication = str(check.get("indication"))
        optional = "" if check.get("required", True) else " (not required)"
        sub = check.get("subIndication")
        where = (f' <a href="#{anchor_id(prefix, "details", cid)}">details</a>'
                 if _has_details(check) and indication == Indication.PASSED.value else "")
        rows.append(
            f'<tr id="{anchor_id(prefix, "check", cid)}"><td><code>{e(cid)}</code><br>'
            f"{indication_html(indication)}{e(optional)}"
            + (f" {e(sub)}" if sub else "") + "</td>"
            f'<td class="wrap">{e(check.get("message"))}{where}</td></tr>')
    table = ('<table class="checks"><thead><tr><th>check and result</th>'
             f"<th>what it found</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")
    unsettled = [c for c in checks if str(c.get("indication")) != Indication.PASSED.value
                 and _has_details(c)]
    notes = ('<p class="note">The details of each check that passed are in appendix A; '
             "those of each check that did not pass follow here.</p>")
    return table + notes + "".join(_check_block(c, prefix, level) for c in unsettled)


def _has_details(check: Mapping[str, Any]) -> bool:
    details = check.get("details")
    if isinstance(details, Mapping):
        return any(k != HOW_TO_CHECK and k != "sources" for k in details) or (
            "sources" in details and check.get("id") != CHAIN_CHECK)
    return bool(details)


def _appendix_details(report: ReportDict, prefix: str, shown: Shown, label: str) -> str:
    passed = [c for c in checks_of(report)
              if str(c.get("indication")) == Indication.PASSED.value and _has_details(c)]
    if not passed:
        return '<p class="muted">(no check that passed recorded details)</p>'
    groups = []
    for check in passed:
        cid = str(check.get("id"))
        ident = anchor_id(prefix, "details", cid)
        details = _shown_details(check)
        before = shown.first("details " + cid, details, f"{label} {cid}".strip(), ident)
        if before is not None:
            body = (f'<p class="pairs muted">The same as <a href="#{e(before[1])}">'
                    f"{e(before[0])}</a>.</p>")
        else:
            rows = condensed_rows(details, shown.objects, f"{label} {cid}".strip())
            if _lists_sources(check):
                rows.append(("sources", '<span class="muted">what each answered: appendix '
                             "B</span>"))
            body = inline_pairs(rows)
        groups.append(f'<div class="check-group" id="{ident}">'
                      f'<p class="group"><code>{e(cid)}</code> '
                      f"{indication_html(check.get('indication'))}</p>{body}</div>")
    return ('<p class="note">What each check that passed recorded, condensed: nested '
            "fields as dotted names; an object already listed is named, not repeated. The "
            "JSON report holds the same, in full.</p>" + "".join(groups))


def _check_block(check: Mapping[str, Any], prefix: str, level: int,
                 seen: dict[str, str] | None = None) -> str:
    cid = str(check.get("id"))
    indication = str(check.get("indication"))
    cls = indication if indication in Indication.__members__ else "unknown"
    sub = check.get("subIndication")
    head = f"<code>{e(cid)}</code> {indication_html(indication)}"
    if sub:
        head += f" {e(sub)}"
    if not check.get("required", True):
        head += ' <span class="muted">(not required)</span>'
    return (f'<div class="check {cls}" id="{anchor_id(prefix, "details", cid)}">'
            f"<h{level}>{head}</h{level}>{_details(check, seen)}</div>")


def _details(check: Mapping[str, Any], seen: dict[str, str] | None = None) -> str:
    """A check's details, condensed; its commands go to "Verify it yourself" and the
    chain sources' answers to their own appendix."""
    shown = _shown_details(check)
    body = condensed(shown, seen, str(check.get("id"))) if shown else ""
    if _lists_sources(check):
        body += '<p class="note">What each chain source answered: appendix B.</p>'
    return body


def _shown_details(check: Mapping[str, Any]) -> Any:
    details = check.get("details")
    skip = {HOW_TO_CHECK} | ({"sources"} if check.get("id") == CHAIN_CHECK else set())
    return ({k: v for k, v in details.items() if k not in skip}
            if isinstance(details, Mapping) else details)


def _lists_sources(check: Mapping[str, Any]) -> bool:
    details = check.get("details")
    return check.get("id") == CHAIN_CHECK and isinstance(details, Mapping) \
        and "sources" in details


def _warnings(report: ReportDict) -> str:
    warnings = report.get("warnings")
    if not isinstance(warnings, list) or not warnings:
        return '<p class="muted">(none)</p>'
    return "<ul>" + "".join(f"<li>{e(w)}</li>" for w in warnings) + "</ul>"


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


def _chain(report: ReportDict, shown: Shown | None = None, label: str = "",
           ident: str = "") -> str:
    policy = report.get("policy")
    need = get(policy, "minConfirmations")
    intro = ('<p class="note">Each chain source the verification asked and what it '
             f"answered, as <code>{CHAIN_CHECK}</code> recorded it (its verdict is in the "
             "table of checks). Answers longer than 32 bytes (block headers), and the hashes "
             "a question was about, are shown by their ends; the JSON report (attached to "
             "the PDF as report.json) holds them in full. Depth demanded: "
             f"{e(need if need is not None else 'not recorded')} confirmations.</p>")
    check = next((c for c in checks_of(report) if c.get("id") == CHAIN_CHECK), None)
    if check is None:
        return intro + '<p class="muted">(not in this report)</p>'
    details = check.get("details")
    sources = details.get("sources") if isinstance(details, Mapping) else None
    if not isinstance(sources, list) or not sources:
        return intro + '<p class="muted">(no chain source was asked)</p>'
    before = (shown or Shown()).first("sources", sources, label, ident)
    if before is not None:
        return intro + _same_as(before)
    return intro + "".join(_source_html(number, source)
                           for number, source in enumerate(sources, start=1)) \
        + _answers_html(sources)


def _source_html(number: int, source: Any) -> str:
    """What one chain source says of itself (its answers are merged in one table)."""
    if not isinstance(source, Mapping):
        return condensed(source)
    own = {k: v for k, v in source.items() if k != "answers"}
    name = source.get("source") or source.get("name") or f"source {number}"
    return (f'<div class="source"><p class="source-name">{e(number)}. {e(name)}</p>'
            f"{inline_pairs(condensed_rows(own))}</div>")


def _answers_html(sources: list[Any]) -> str:
    """Every answer of every source, once: an answer that several sources gave alike is
    one row naming them all."""
    merged: dict[str, tuple[Any, list[int]]] = {}
    for number, source in enumerate(sources, start=1):
        answers = source.get("answers") if isinstance(source, Mapping) else None
        for answer in answers if isinstance(answers, list) else []:
            key = json.dumps(answer, sort_keys=True, default=str)
            merged.setdefault(key, (answer, []))[1].append(number)
    if not merged:
        return ""
    several = len(sources) > 1
    rows = []
    for index, (answer, givers) in enumerate(merged.values(), start=1):
        named = "all" if len(givers) == len(sources) else ", ".join(map(str, givers))
        by = f'<td class="num">{e(named)}</td>' if several else ""
        if not isinstance(answer, Mapping):
            rows.append(f'<tr><td class="num">{index}</td><td colspan="3">'
                        f"{value_html(answer)}</td>{by}</tr>")
            continue
        about = ", ".join(f"{e(k)} {_inline(v, short=True, keep=16)}"
                          for k, v in answer.items() if k not in ("question", "answer"))
        rows.append(f'<tr><td class="num">{index}</td><td>{e(answer.get("question"))}</td>'
                    f'<td class="hexcell">{about}</td>'
                    f'<td class="hexcell">{_inline(answer.get("answer"), short=True)}</td>'
                    f"{by}</tr>")
    head = '<th class="num">sources</th>' if several else ""
    return ('<table class="answers"><thead><tr><th class="num">#</th><th>question</th>'
            f"<th>about</th><th>answer</th>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _inline(value: Any, short: bool = False, keep: int = 64) -> str:
    """A value on one line: scalars as themselves, objects as ``key value`` pairs; with
    ``short``, hex longer than ``keep`` digits as its ends and its length."""
    if isinstance(value, Mapping):
        return ", ".join(f"{e(k)} {_inline(v, short, keep)}"
                         for k, v in value.items()) or "(empty)"
    if isinstance(value, (list, tuple)):
        return "; ".join(_inline(v, short, keep) for v in value) or "(none)"
    if short and isinstance(value, str) and len(value) > keep \
            and HEX_DIGITS.fullmatch(value):
        end = 16 if keep >= 32 else 8
        return (f'<code class="hex">{e(value[:end])}…{e(value[-end:])}</code>'
                + (f' <span class="muted">({len(value) // 2:,} bytes)</span>'
                   if len(value) > 64 else ""))
    return value_html(value)


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
        part += ('<pre class="commands">' + "\n".join(command_html(line) for line in lines)
                 + "</pre>")
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
    return inline_pairs(rows)
