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
from ..howto import how_to_check
from ..policy import Policy
from ..report import ANCHOR_CHECKS, TIMESTAMP_EVIDENCE_CHECKS, TOOL_NAME, Report
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
        "policy": {
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
        },
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
    computed when the report is first rendered."""
    return dataclasses.replace(
        report, derived=functools.partial(_evidence_keys, bundle=bundle, policy=policy))


def _evidence_keys(report: dict[str, Any], *, bundle: Bundle | None,
                   policy: Policy) -> dict[str, Any]:
    return evidence_keys(report, bundle, policy)


#: Distributions whose versions decide what this tool computes, as named on PyPI.
DEPENDENCIES = ("asn1crypto", "cryptography", "python-bitcoinlib", "click", "requests")


def evidence_keys(
    report: Mapping[str, Any], bundle: Bundle | None, policy: Policy
) -> dict[str, Any]:
    """The top-level keys the evidence report needs (contract section 4 allows added
    keys): ``environment``, ``trustAnchors`` and ``howToCheck``.

    ``report`` is the report's ``to_dict()`` so far; ``bundle`` the parsed bundle
    (``None`` when malformed).
    """
    return {
        "environment": environment(),
        "trustAnchors": trust_anchors(policy.tsa_roots),
        "howToCheck": how_to_check(report, bundle),
    }


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
