"""The sections of the evidence report for one verification: what each shows, taken
from the report's JSON object; ``templates/item.html`` lays them out."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

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
    get,
    inline_pairs,
    kv_table,
    maybe,
    section,
    steps_of,
    subject_name,
    value_html,
    verdict_words,
)
from .templating import macro

NOT_KNOWN = "not recorded"
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
) -> list[Markup]:
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
                       trust_anchors_html(report.get("trustAnchors"), report.get("policy"),
                                          checkpoint_rows([report]))))
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
    parts.append(_item("appendix")(anchor_id(prefix, "appendix"), [
        section(level, anchor_id(prefix, ident), f"{letter}. {title}", body)
        for letter, (ident, title, body) in zip("ABCDEFGH", appendix, strict=False)]))
    return parts


def _item(name: str) -> Callable[..., Markup]:
    """A macro of ``templates/item.html``."""
    return macro("item.html", name)


def _same_as(where: tuple[str, str]) -> Markup:
    """A reference to what an earlier part of the page showed."""
    label, ident = where
    return _item("same_as")(label, ident)


def _policy(policy: Any) -> Markup:
    if not isinstance(policy, Mapping) or not policy:
        return condensed(policy)
    return inline_pairs(condensed_rows(policy))


def _header(report: ReportDict) -> Markup:
    return _item("header")(subject_name(report), report.get("verifiedAt"),
                           get(report.get("tool"), "version"))


def _verdict(report: ReportDict) -> Markup:
    indication = report.get("indication")
    decider = deciding_check(report)
    existence = report.get("existence")
    return _item("verdict")({
        "cls": str(indication) if str(indication) in Indication.__members__ else "unknown",
        "indication": indication, "sub": report.get("subIndication"),
        "words": verdict_words(indication), "limited": bool(report.get("notShown")),
        "decided": decider is not None, "decider_id": get(decider, "id"),
        "decider_message": get(decider, "message"),
        "failed": indication == Indication.FAILED.value,
        "no_existence": NO_EXISTENCE_ON_FAILED, "not_after": get(existence, "notAfter"),
        "evidence": _evidence_words(existence),
        "test_mode": get(report.get("certificate"), "testMode") is True,
        "not_shown": _not_shown(report),
    })


#: What a FAILED report says instead of a time of existence (it gives only why).
NO_EXISTENCE_ON_FAILED = ("The verdict is FAILED: this report makes no statement about "
                          "when the data existed")


def _not_shown(report: ReportDict) -> list[Mapping[str, Any]]:
    """The report's ``notShown`` items (shown under "What this does not show")."""
    items = report.get("notShown")
    return [i for i in items if isinstance(i, Mapping)] if isinstance(items, list) else []


def not_shown_html(report: ReportDict) -> Markup:
    """The report's ``notShown`` list, under "What this does not show"."""
    return _item("not_shown")(_not_shown(report))


def _evidence_words(existence: Any) -> str:
    kinds = get(existence, "evidence")
    kinds = kinds if isinstance(kinds, list) else []
    return "evidence: " + (", ".join(EVIDENCE_NAMES.get(str(k), str(k)) for k in kinds)
                           or "none")


def _subject(report: ReportDict) -> Markup:
    subject = report.get("subject")
    path = get(subject, "path")
    size = get(subject, "size")
    bundle = report.get("bundle")
    rows = [
        ("file", value_html(path) if path
         else macro("values.html", "muted")("not read: the digest was given")),
        ("size", f"{size:,} bytes" if isinstance(size, int) else maybe(size, NOT_KNOWN)),
        ("SHA-256 (computed)", maybe(get(subject, "sha256"), NOT_KNOWN)),
        ("proof bundle", maybe(get(bundle, "path"), NOT_KNOWN)),
        ("SHA-256 of the bundle", maybe(get(bundle, "sha256"), NOT_KNOWN)),
    ]
    return kv_table(rows)


def _certificate(report: ReportDict, level: int) -> Markup:
    cert = report.get("certificate")
    if not isinstance(cert, Mapping):
        return _item("certificate")(None)
    claimed = report.get("claims")
    claimed = claimed if isinstance(claimed, Mapping) else {}
    modes = {True: "test mode (not evidence)", False: "live"}
    rows: list[tuple[str, Any]] = [
        (label, modes[cert[key]] if key == "testMode" and isinstance(cert[key], bool)
         else _item("claimed")(cert[key], key in claimed))
        for key, label in CERTIFICATE_FIELDS if key in cert]
    known = {key for key, _ in CERTIFICATE_FIELDS} | {"metadata"}
    rows += [(str(k), value_html(v)) for k, v in cert.items() if k not in known]
    return _item("certificate")({"level": level, "established": _established(report),
                                 "claims_note": CLAIMS_NOTE, "rows": rows,
                                 "metadata": cert.get("metadata")})


#: What the report says of the bundle's certificate fields (the ``claims`` key).
CLAIMS_NOTE = ("Unsigned claims: file name, file type, certificate id, public id, created "
               "at, metadata and status are what the bundle says; nothing signs them and no "
               "check establishes them")


def _established(report: ReportDict) -> list[tuple[str, Any, list[str]]]:
    """What the evidence established: (name, value, the checks that established it)."""
    found = report.get("established")
    found = found if isinstance(found, Mapping) else {}
    return [(str(k), get(v, "value"), [str(c) for c in (get(v, "establishedBy") or [])])
            for k, v in found.items()]


def _times(report: ReportDict) -> Markup:
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
         _item("not_after")(report.get("indication") == Indication.FAILED.value, not_after,
                            _evidence_words(existence), NO_EXISTENCE_ON_FAILED)),
        ("", "created at (claimed by the bundle, not evidence)", maybe(get(cert, "createdAt"))),
        ("", "verified at (this tool's clock)", maybe(report.get("verifiedAt"))),
    ]
    above = [label for key, label, _ in rows if key in shown]
    return _item("times")([(label, value) for key, label, value in rows if key not in shown],
                          above)


def _checks(report: ReportDict, prefix: str, level: int) -> Markup:
    checks = checks_of(report)
    rows = []
    for check in checks:
        cid = str(check.get("id"))
        indication = str(check.get("indication"))
        rows.append({
            "ident": anchor_id(prefix, "check", cid), "cid": cid, "indication": indication,
            "optional": "" if check.get("required", True) else " (not required)",
            "sub": check.get("subIndication"), "message": check.get("message"),
            "details": anchor_id(prefix, "details", cid)
            if _has_details(check) and indication == Indication.PASSED.value else "",
        })
    unsettled = [c for c in checks if str(c.get("indication")) != Indication.PASSED.value
                 and _has_details(c)]
    return _item("checks")(rows, [_check_block(c, prefix, level) for c in unsettled])


def _has_details(check: Mapping[str, Any]) -> bool:
    details = check.get("details")
    if isinstance(details, Mapping):
        return any(k != HOW_TO_CHECK and k != "sources" for k in details) or (
            "sources" in details and check.get("id") != CHAIN_CHECK)
    return bool(details)


def _appendix_details(report: ReportDict, prefix: str, shown: Shown, label: str) -> Markup:
    passed = [c for c in checks_of(report)
              if str(c.get("indication")) == Indication.PASSED.value and _has_details(c)]
    groups = []
    for check in passed:
        cid = str(check.get("id"))
        ident = anchor_id(prefix, "details", cid)
        details = _shown_details(check)
        before = shown.first("details " + cid, details, f"{label} {cid}".strip(), ident)
        pairs = None
        if before is None:
            rows = condensed_rows(details, shown.objects, f"{label} {cid}".strip())
            if _lists_sources(check):
                rows.append(("sources", _item("sources_elsewhere")()))
            pairs = inline_pairs(rows)
        groups.append({"ident": ident, "cid": cid, "result": check.get("indication"),
                       "before": before, "pairs": pairs})
    return _item("appendix_details")(groups)


def _check_block(check: Mapping[str, Any], prefix: str, level: int,
                 seen: dict[str, str] | None = None) -> Markup:
    cid = str(check.get("id"))
    indication = str(check.get("indication"))
    cls = indication if indication in Indication.__members__ else "unknown"
    return _item("check_block")(level, anchor_id(prefix, "details", cid), cls, cid,
                                indication, check.get("subIndication"),
                                check.get("required", True), _details(check, seen))


def _details(check: Mapping[str, Any], seen: dict[str, str] | None = None) -> Markup:
    """A check's details, condensed; its commands go to "Verify it yourself" and the
    chain sources' answers to their own appendix."""
    shown = _shown_details(check)
    body = condensed(shown, seen, str(check.get("id"))) if shown else ""
    return _item("details")(body, _lists_sources(check))


def _shown_details(check: Mapping[str, Any]) -> Any:
    details = check.get("details")
    skip = {HOW_TO_CHECK} | ({"sources"} if check.get("id") == CHAIN_CHECK else set())
    return ({k: v for k, v in details.items() if k not in skip}
            if isinstance(details, Mapping) else details)


def _lists_sources(check: Mapping[str, Any]) -> bool:
    details = check.get("details")
    return check.get("id") == CHAIN_CHECK and isinstance(details, Mapping) \
        and "sources" in details


def _warnings(report: ReportDict) -> Markup:
    warnings = report.get("warnings")
    return _item("warnings")(warnings if isinstance(warnings, list) else [])


def trust_anchors_html(anchors: Any, policy: Any,
                       checkpoints: list[Mapping[str, Any]] | None = None) -> Markup:
    """The TSA roots the user chose, and the shipped Bitcoin checkpoint rows the anchor
    checks relied on (``checkpoints``, from :func:`checkpoint_rows`)."""
    tables = [_anchor_table(anchor) for anchor in anchors] \
        if isinstance(anchors, list) else []
    rows = [_checkpoint_table(row) for row in checkpoints or []]
    return _item("trust_anchors")(tables, get(policy, "systemRoots") is True, rows)


#: What a checkpoint row was used for, by its ``use`` in the check's details.
CHECKPOINT_USES = {
    "target": "the target the block's proof-of-work is held to",
    "vouching": "the checkpointed block the chain must pass through to place the anchor",
    "bounds": "the last target known, which bounds the block's proof-of-work offline",
}


def checkpoint_rows(reports: Any) -> list[Mapping[str, Any]]:
    """The shipped checkpoint rows the anchor checks of ``reports`` name in their
    details (``details.checkpoint``), each once, with the checks that used it."""
    rows: dict[str, dict[str, Any]] = {}
    for report in reports:
        for check in checks_of(report):
            details = check.get("details")
            row = details.get("checkpoint") if isinstance(details, Mapping) else None
            if not isinstance(row, Mapping):
                continue
            key = json.dumps(row, sort_keys=True, default=str)
            entry = rows.setdefault(key, {"row": row, "checks": []})
            if check.get("id") not in entry["checks"]:
                entry["checks"].append(check.get("id"))
    return list(rows.values())


def _checkpoint_table(entry: Mapping[str, Any]) -> Markup:
    row = entry["row"]
    use = CHECKPOINT_USES.get(str(row.get("use")), str(row.get("use", NOT_KNOWN)))
    lists = row.get("lists")
    vouched = f"{row.get('sources', NOT_KNOWN)} independent project(s)"
    if isinstance(lists, list):
        vouched += ", in the lists " + ", ".join(str(x) for x in lists)
    of_period = row.get("targetOfPeriod")
    cells: list[tuple[str, Any]] = [
        ("used by", ", ".join(str(c) for c in entry["checks"]) + f": {use}"),
        ("period", row.get("period", NOT_KNOWN)),
        ("last block of the period", row.get("height", NOT_KNOWN)),
        ("its hash", value_html(row.get("blockHash", NOT_KNOWN))),
        ("target" if of_period is None else f"target of period {of_period}",
         value_html(row.get("target", NOT_KNOWN))),
        ("vouched by", vouched),
    ]
    if row.get("anchorAbove") is True:
        cells.append(("note", "the anchor block is above this row, the last shipped "
                              "checkpoint: beyond the checkpoints"))
    return kv_table(cells)


def _anchor_table(anchor: Any) -> Markup:
    if not isinstance(anchor, Mapping):
        return value_html(anchor)
    labels = {"subject": "subject", "sha256": "SHA-256 fingerprint", "issuer": "issuer",
              "serialNumber": "serial number", "notBefore": "valid from",
              "notAfter": "valid until"}
    rows = [(label, value_html(anchor[key])) for key, label in labels.items() if key in anchor]
    rows += [(str(k), value_html(v)) for k, v in anchor.items() if k not in labels]
    return kv_table(rows)


def _chain(report: ReportDict, shown: Shown | None = None, label: str = "",
           ident: str = "") -> Markup:
    need = get(report.get("policy"), "minConfirmations")
    chain = _item("chain")
    check = next((c for c in checks_of(report) if c.get("id") == CHAIN_CHECK), None)
    if check is None:
        return chain(CHAIN_CHECK, need, "(not in this report)", [])
    details = check.get("details")
    sources = details.get("sources") if isinstance(details, Mapping) else None
    if not isinstance(sources, list) or not sources:
        return chain(CHAIN_CHECK, need, "(no chain source was asked)", [])
    before = (shown or Shown()).first("sources", sources, label, ident)
    if before is not None:
        return chain(CHAIN_CHECK, need, "", [_same_as(before)])
    return chain(CHAIN_CHECK, need, "", [
        *(_source_html(number, source) for number, source in enumerate(sources, start=1)),
        _answers_html(sources)])


def _source_html(number: int, source: Any) -> Markup:
    """What one chain source says of itself (its answers are merged in one table)."""
    if not isinstance(source, Mapping):
        return condensed(source)
    own = {k: v for k, v in source.items() if k != "answers"}
    name = source.get("source") or source.get("name") or f"source {number}"
    return _item("source")(number, name, inline_pairs(condensed_rows(own)))


def _answers_html(sources: list[Any]) -> Markup:
    """Every answer of every source, once: an answer that several sources gave alike is
    one row naming them all."""
    merged: dict[str, tuple[Any, list[int]]] = {}
    for number, source in enumerate(sources, start=1):
        answers = source.get("answers") if isinstance(source, Mapping) else None
        for answer in answers if isinstance(answers, list) else []:
            key = json.dumps(answer, sort_keys=True, default=str)
            merged.setdefault(key, (answer, []))[1].append(number)
    rows = [(index, answer,
             "all" if len(givers) == len(sources) else ", ".join(map(str, givers)))
            for index, (answer, givers) in enumerate(merged.values(), start=1)]
    return _item("answers")(rows, len(sources) > 1)


def _how_to(report: ReportDict, level: int) -> Markup:
    steps = []
    for step in steps_of(report):
        commands = step.get("commands")
        lines = [c for c in commands if isinstance(c, str)] if isinstance(commands, list) \
            else []
        steps.append((step.get("title"), step.get("check"),
                      [command_html(line) for line in lines], step.get("expect")))
    return _item("how_to")(level, steps)


def environment_html(env: Any) -> Markup:
    if not isinstance(env, Mapping):
        return _item("environment")(None)
    tool = env.get("tool")
    rows: list[tuple[str, Any]] = [
        ("tool", f"{get(tool, 'name')} {get(tool, 'version')}"),
            ("python", maybe(env.get("python"))), ("platform", maybe(env.get("platform")))]
    packages = env.get("packages")
    if isinstance(packages, Mapping):
        rows += [(str(name), maybe(version)) for name, version in packages.items()]
    openssl = env.get("openssl")
    if isinstance(openssl, Mapping):
        rows += [(f"OpenSSL ({user})", maybe(version)) for user, version in openssl.items()]
    known = {"tool", "python", "platform", "packages", "openssl"}
    rows += [(str(k), value_html(v)) for k, v in env.items() if k not in known]
    return _item("environment")(inline_pairs(rows))
