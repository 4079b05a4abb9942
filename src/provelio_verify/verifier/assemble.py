"""What a report says besides its checks: the existence bound, the added keys, and the
evidence keys computed when it is first rendered."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from .._time import rfc3339, shift
from ..bundle import Bundle
from ..policy import Policy
from ..report import ANCHOR_CHECKS, TIMESTAMP_EVIDENCE_CHECKS, Report
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
    # Imported here: a run that never renders a report never loads the renderer.
    from ..evidence_report import evidence_keys

    return evidence_keys(report, bundle, policy)
