"""What a report says besides its checks: the existence bound, the added keys, and the
evidence keys computed when it is first rendered (``environment``, ``trustAnchors``,
``howToCheck``: contract section 4 allows added keys). The JSON report's keys are
computed here, beside the report, and the renderer only shows them."""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509

from .._time import rfc3339, shift
from .._version import __version__
from ..bundle import Bundle
from ..howto import how_to_check, working_directory
from ..policy import Policy
from ..report import (
    ANCHOR_CHECKS,
    TIMESTAMP_EVIDENCE_CHECKS,
    TOOL_NAME,
    Indication,
    Report,
    SubIndication,
)
from . import anchor as _anchor_steps
from . import timestamp as _timestamp_steps

#: Bitcoin's tolerance on a block's timestamp: nodes accept a block up to two hours
#: ahead of their clock, so a block's nTime bounds existence only to nTime + 2 h.
BLOCK_TIME_TOLERANCE = timedelta(hours=2)


def existence(
    passed: Callable[[str], bool],
    ts: _timestamp_steps.TimestampFacts | None,
    anchor: _anchor_steps.AnchorFacts | None,
) -> dict[str, Any]:
    """Contract section 4: the earliest bound over the evidence that PASSED."""
    bounds: list[tuple[datetime, str]] = []
    if passed("file.sha256"):
        if ts is not None and ts.not_after is not None and all(
            passed(c) for c in TIMESTAMP_EVIDENCE_CHECKS
        ):
            bounds.append((ts.not_after, "rfc3161"))
        if anchor is not None and anchor.block_time is not None and all(
            passed(c) for c in ANCHOR_CHECKS
        ):
            # nTime is a uint32 (at most 2106-02-07), so this sum cannot reach the
            # calendar's end; shift() holds it there all the same.
            bounds.append((shift(anchor.block_time, BLOCK_TIME_TOLERANCE), "bitcoin"))
    if not bounds:
        return {"notAfter": None, "evidence": []}
    return {
        "notAfter": rfc3339(min(b for b, _ in bounds), round_up=True),
        "evidence": [name for _, name in bounds],
    }


def policy_keys(policy: Policy) -> dict[str, Any]:
    """The report's ``policy`` key: what the verification was told to trust and demand."""
    return {
        "minConfirmations": policy.min_confirmations,
        "requireAnchor": policy.require_anchor,
        "requireRevocation": policy.require_revocation,
        "allowTestMode": policy.allow_test_mode,
        "allowLegacySha1": policy.allow_legacy_sha1,
        "tsaRoots": len(policy.tsa_roots),
        "systemRoots": policy.use_system_roots,
        "crls": len(policy.crls),
        "ocspResponses": len(policy.ocsp_responses),
        "fetchRevocation": policy.fetch_revocation,
    }


def extra_keys(
    now: datetime,
    policy: Policy,
    bundle: Bundle | None,
    source: str | None,
    ts: _timestamp_steps.TimestampFacts | None = None,
    anchor: _anchor_steps.AnchorFacts | None = None,
) -> dict[str, Any]:
    gen_time = ts.gen_time if ts is not None else None
    block_time = anchor.block_time if anchor is not None else None
    return {
        "verifiedAt": rfc3339(now),
        "policy": policy_keys(policy),
        "bundle": {
            "sha256": bundle.source_sha256.hex() if bundle and bundle.source_sha256 else None,
            "path": source,
        },
        # The times the token and the block header state; they count towards
        # existence.notAfter only where every check of that evidence PASSED.
        "times": {
            "genTime": rfc3339(gen_time) if gen_time is not None else None,
            "blockTime": rfc3339(block_time) if block_time is not None else None,
        },
    }


def with_evidence(report: Report, bundle: Bundle | None, policy: Policy) -> Report:
    """Add what the evidence report shows (environment, trust anchors, howToCheck),
    computed when the report is first rendered (with the folder the verification ran
    in, which relative paths in the commands are joined to)."""
    return dataclasses.replace(
        report, derived=functools.partial(_evidence_keys, bundle=bundle, policy=policy,
                                          cwd=working_directory()))


def _evidence_keys(report: dict[str, Any], *, bundle: Bundle | None,
                   policy: Policy, cwd: str | None = None) -> dict[str, Any]:
    return evidence_keys(report, bundle, policy, cwd)


#: Distributions whose versions decide what this tool computes, as named on PyPI.
DEPENDENCIES = ("asn1crypto", "cryptography", "python-bitcoinlib", "click", "requests")


def evidence_keys(
    report: Mapping[str, Any], bundle: Bundle | None, policy: Policy, cwd: str | None = None
) -> dict[str, Any]:
    """The top-level keys the evidence report needs (contract section 4 allows added
    keys): ``environment``, ``trustAnchors`` and ``howToCheck``.

    ``report`` is the report's ``to_dict()`` so far; ``bundle`` the parsed bundle
    (``None`` when malformed); ``cwd`` the folder it ran in (see ``howto``).
    """
    return {
        # The cached dict itself: Report._json copies every added key (_jsonable).
        "environment": _environment(),
        "trustAnchors": trust_anchors(policy.tsa_roots),
        "howToCheck": how_to_check(report, bundle, cwd),
        **limits_keys(report),
    }


#: Certificate fields that nothing signs: the bundle says so, no check establishes them.
CLAIM_FIELDS = ("fileName", "fileType", "certificateId", "publicId", "createdAt",
                "metadata", "status")


def limits_keys(report: Mapping[str, Any]) -> dict[str, Any]:
    """``claims``, ``established`` and ``notShown`` (docs/evidence-report.md), from the
    report's JSON so far: what the bundle merely says, what the checks that PASSED
    establish (and which checks), and what this verdict does not show."""
    return {"claims": claims(report), "established": established(report),
            "notShown": not_shown(report)}


def _checks(report: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    checks = report.get("checks")
    if not isinstance(checks, list):
        return {}
    return {str(c.get("id")): c for c in checks if isinstance(c, Mapping)}


def _is(check: Mapping[str, Any] | None, indication: Indication) -> bool:
    return check is not None and check.get("indication") == indication.value


def claims(report: Mapping[str, Any]) -> dict[str, Any]:
    """The certificate fields the bundle states that nothing signs, as written."""
    cert = report.get("certificate")
    if not isinstance(cert, Mapping):
        return {}
    return {k: cert[k] for k in CLAIM_FIELDS if k in cert and cert[k] is not None}


def established(report: Mapping[str, Any]) -> dict[str, Any]:
    """Each value the evidence established, with the checks that PASSED to establish it.
    On FAILED no time is given: the report states no existence then, only why."""
    checks = _checks(report)
    out: dict[str, Any] = {}
    if not _is(checks.get("file.sha256"), Indication.PASSED):
        return out
    subject = report.get("subject")
    subject = subject if isinstance(subject, Mapping) else {}
    out["sha256"] = {"value": subject.get("sha256"), "establishedBy": ["file.sha256"]}
    if subject.get("size") is not None:
        out["fileSize"] = {"value": subject.get("size"), "establishedBy": ["file.sha256"]}
    if report.get("indication") == Indication.FAILED.value:
        return out
    times = report.get("times")
    times = times if isinstance(times, Mapping) else {}
    existence = report.get("existence")
    existence = existence if isinstance(existence, Mapping) else {}
    evidence = existence.get("evidence")
    evidence = evidence if isinstance(evidence, list) else []
    if "rfc3161" in evidence and times.get("genTime"):
        out["genTime"] = {"value": times["genTime"],
                          "establishedBy": ["file.sha256", *TIMESTAMP_EVIDENCE_CHECKS]}
    if "bitcoin" in evidence and times.get("blockTime"):
        out["blockTime"] = {"value": times["blockTime"],
                            "establishedBy": ["file.sha256", *ANCHOR_CHECKS]}
    if existence.get("notAfter"):
        out["notAfter"] = {"value": existence["notAfter"],
                           "establishedBy": [f"evidence: {k}" for k in evidence]}
    return out


def not_shown(report: Mapping[str, Any]) -> list[dict[str, str]]:
    """What this verdict does not show, computed from the checks' results: each entry
    ``{"id": …, "text": …}`` (ids: ``anchor-pending``, ``revocation-unknown``,
    ``best-chain-not-established``, ``beyond-checkpoints``, ``test-mode``,
    ``chosen-trust-anchors``)."""
    checks = _checks(report)
    out: list[dict[str, str]] = []

    def add(ident: str, text: str) -> None:
        out.append({"id": ident, "text": text})

    pending = [cid for cid in ANCHOR_CHECKS if _is(checks.get(cid), Indication.INDETERMINATE)
               and checks[cid].get("subIndication") == SubIndication.ANCHOR_PENDING.value]
    if pending:
        add("anchor-pending", "the Bitcoin anchor is pending: nothing shows the digest was "
            "written to Bitcoin (" + ", ".join(pending) + " ANCHOR_PENDING); the time rests on "
            "the TSA's word alone")
    revocation = checks.get("timestamp.revocation")
    if _is(revocation, Indication.INDETERMINATE):
        add("revocation-unknown", "the TSA certificate's revocation status is unknown "
            f"(timestamp.revocation {revocation.get('subIndication') if revocation else ''}): "
            "a certificate revoked before genTime would not be noticed; give a CRL or "
            "OCSP response, or --fetch-revocation")
    chain = checks.get("anchor.chain")
    if _is(chain, Indication.INDETERMINATE) and chain is not None \
            and chain.get("subIndication") != SubIndication.ANCHOR_PENDING.value:
        add("best-chain-not-established", "that the anchor block is in Bitcoin's best chain "
            f"with enough confirmations was not established (anchor.chain "
            f"{chain.get('subIndication')}): name a chain source (--headers, --bitcoin-node, "
            "--esplora)")
    above = [cid for cid in ANCHOR_CHECKS if _above_checkpoints(checks.get(cid))]
    if above:
        add("beyond-checkpoints", "the anchor block is above the last checkpoint shipped "
            "with this tool (" + ", ".join(above) + " details.checkpoint): no shipped data "
            "vouches for its chain; only the chain source chosen does")
    cert = report.get("certificate")
    if isinstance(cert, Mapping) and cert.get("testMode") is True:
        add("test-mode", "this is a test-mode certificate: it is not evidence")
    if _is(checks.get("timestamp.chain"), Indication.PASSED):
        policy = report.get("policy")
        policy = policy if isinstance(policy, Mapping) else {}
        system = " and the operating system's root store" if policy.get("systemRoots") else ""
        add("chosen-trust-anchors", "the TSA's certificate path ends at trust anchors you "
            f"chose ({policy.get('tsaRoots', 0)} given with --tsa-roots{system}): the "
            "report shows the path is valid to them, not that they deserve trust")
    return out


def _above_checkpoints(check: Mapping[str, Any] | None) -> bool:
    details = check.get("details") if check is not None else None
    row = details.get("checkpoint") if isinstance(details, Mapping) else None
    return isinstance(row, Mapping) and row.get("anchorAbove") is True


def environment() -> dict[str, Any]:
    """The tool, Python, the dependencies and the OpenSSL libraries in use, by version."""
    return copy.deepcopy(_environment())


@functools.cache
def _environment() -> dict[str, Any]:
    # Imported and read once, when a report is first rendered: none of it changes while
    # the process runs, and a run that renders no report never pays for it.
    import platform
    import ssl

    return {
        "tool": {"name": TOOL_NAME, "version": __version__},
        "python": f"{platform.python_version()} ({platform.python_implementation()})",
        "platform": platform.platform(),
        "packages": dict(_package_versions()),
        "openssl": {
            "cryptography": _cryptography_openssl(),
            "python": ssl.OPENSSL_VERSION,
        },
    }


@functools.cache
def _package_versions() -> tuple[tuple[str, str | None], ...]:
    # Cached: installed versions do not change while a batch runs, and reading the
    # metadata costs milliseconds per call.
    return tuple((name, _version(name)) for name in DEPENDENCIES)


def _version(name: str) -> str | None:
    import importlib.metadata

    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cryptography_openssl() -> str:
    """The OpenSSL that cryptography is linked with: it checks the signatures."""
    from cryptography.hazmat.backends.openssl.backend import backend

    return str(backend.openssl_version_text())


def trust_anchors(roots: Iterable[bytes]) -> list[dict[str, Any]]:
    """Subject, SHA-256 fingerprint, serial and validity of each configured root (DER)."""
    return [dict(_trust_anchor(der)) for der in roots]


@functools.lru_cache(maxsize=256)
def _trust_anchor(der: bytes) -> dict[str, Any]:
    # Once per root: a batch reports the same roots for every item.
    entry: dict[str, Any] = {"sha256": hashlib.sha256(der).hexdigest()}
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as exc:
        entry["error"] = f"does not parse as an X.509 certificate: {exc}"
    else:
        entry.update({
            "subject": cert.subject.rfc4514_string(),
            "issuer": cert.issuer.rfc4514_string(),
            "serialNumber": format(cert.serial_number, "x"),
            "notBefore": rfc3339(cert.not_valid_before_utc),
            "notAfter": rfc3339(cert.not_valid_after_utc),
        })
    return entry
