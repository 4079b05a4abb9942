"""The ``anchor.*`` checks, in order, on the recorder of ``verifier.py``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .bundle import Bundle, Status
from .core.merkle import check_path
from .outcome import Passed
from .policy import Policy
from .report import ANCHOR_CHECKS, SubIndication

if TYPE_CHECKING:
    from .verifier import Recorder


@dataclass(frozen=True)
class AnchorFacts:
    """What the anchor established, for ``existence`` and the report."""

    block_time: datetime | None


def anchor_required(bundle: Bundle, policy: Policy) -> bool:
    """Contract section 4: the anchor is required for a confirmed certificate, and
    always under ``--require-anchor``."""
    return bundle.certificate.status is Status.CONFIRMED or policy.require_anchor


def _pending_reason(bundle: Bundle) -> str:
    status = bundle.certificate.status
    if status is Status.FAILED:
        return "certificate status is failed: anchoring failed, no anchor will follow"
    if status is Status.CREATED:
        return "certificate status is created: not yet batched for anchoring"
    return f"certificate status is {status.value}: the anchor is not complete yet"


def run(
    rec: Recorder, bundle: Bundle, policy: Policy, sources: Sequence[Any], now: datetime
) -> AnchorFacts | None:
    required = anchor_required(bundle, policy)
    anchor = bundle.anchor
    if anchor is None or anchor.merkle_root is None or anchor.path is None:
        for check_id in ANCHOR_CHECKS:
            rec.skip(check_id, SubIndication.ANCHOR_PENDING, _pending_reason(bundle),
                     required=required)
        return None
    root, path = anchor.merkle_root, anchor.path
    leaf = bundle.certificate.sha256_hash

    def merkle() -> Passed:
        replay = check_path(leaf, path, root)
        return Passed(
            f"path of {len(path)} steps leads from sha256Hash to merkleRoot {root.hex()}",
            {"steps": len(path), "merkleRoot": root.hex(),
             "intermediates": [h.hex() for h in replay.intermediates]},
        )

    rec.run("anchor.merkle-path", merkle, required=required)
    for check_id in ANCHOR_CHECKS[1:]:
        if anchor.transaction is None:
            rec.skip(check_id, SubIndication.ANCHOR_PENDING, _pending_reason(bundle),
                     required=required)
        else:
            rec.skip(check_id, SubIndication.NOT_IMPLEMENTED,
                     "not checked by this version", required=required)
    return None
