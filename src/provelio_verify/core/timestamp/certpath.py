"""The TSA certificate's path at genTime (guide items D1, D2, D6, D8), as one outcome.

``evaluate_path`` validates with ``core.x509path`` (cryptography) at genTime, then
demands that every certificate of the validated path cover the whole interval genTime
± accuracy. A refusal is explained with ``core.pki``: a chain that reaches no
configured root is INDETERMINATE (the user may not have configured it yet); one that
reaches a root but breaks a rule is FAILED.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.hashes import SHA256

from ...outcome import SubIndication
from .certs import Cert
from .pki import find_chain, root_needed, validity_fault, weak_algorithm_fault
from .x509path import PathRejected, PathValidator

VALID = "valid"
INVALID = "invalid"
UNANCHORED = "unanchored"


@dataclass(frozen=True)
class Interval:
    """The instants a token vouches for: genTime, and genTime ± accuracy (D2)."""

    gen_time: datetime
    start: datetime
    end: datetime

    def details(self) -> dict[str, Any]:
        return {"genTime": self.gen_time, "intervalStart": self.start,
                "intervalEnd": self.end}


@dataclass(frozen=True)
class PathOutcome:
    """What the path check established. ``chain`` is the validated path (``VALID``) or
    the chain found (otherwise), leaf first. ``window`` is the span over which a valid
    path stays valid: the latest notBefore to the earliest notAfter on it."""

    status: str
    chain: tuple[Cert, ...]
    message: str
    sub_indication: SubIndication | None = None
    details: dict[str, Any] = field(default_factory=dict)
    window: tuple[datetime, datetime] | None = None


def chain_summary(chain: Sequence[Cert]) -> list[dict[str, Any]]:
    return [{"subject": c.subject, "sha256": c.fingerprint, "notBefore": c.validity_text[0],
             "notAfter": c.validity_text[1]} for c in chain]


def path_details(chain: Sequence[Cert], interval: Interval) -> dict[str, Any]:
    return {**interval.details(), "path": chain_summary(chain),
            "root": chain_summary(chain[-1:])[0]}


def _arrows(chain: Sequence[Cert]) -> str:
    return " -> ".join(c.subject for c in chain)


def evaluate_path(
    leaf: Cert,
    pool: Sequence[Cert],
    roots: Sequence[Cert],
    validator: PathValidator | None,
    interval: Interval,
) -> PathOutcome:
    """Judge the path from ``leaf`` to ``roots`` (validated by ``validator``, built on
    those roots) at genTime, valid over the whole ``interval``. ``pool`` holds the
    untrusted helpers: the token's certificates and ``extraCerts`` (D1)."""
    helpers = [c for c in pool if c != leaf]
    if validator is None:
        found = find_chain(leaf, helpers, ())
        return _unanchored(found.certs, found.notes, interval,
                           "no trusted roots are configured (--tsa-roots, --system-roots)")
    # (1) D2, RFC 5280 §6: path validation at genTime, not now; roots only from
    # configuration, the token's and bundle's certificates as helpers (D1).
    try:
        validated = validator.validate(leaf.crypto, [c.crypto for c in helpers],
                                       interval.gen_time)
    except PathRejected as exc:
        return _explain(leaf, helpers, roots, str(exc), interval)
    by_fingerprint = {c.sha256: c for c in (leaf, *roots, *pool)}
    chain = tuple(by_fingerprint[c.fingerprint(SHA256())] for c in validated)
    details = path_details(chain, interval)
    # (2) D2: valid over the whole interval genTime ± accuracy, not only at genTime.
    fault = validity_fault(chain, interval.start, interval.end)
    if fault is not None:
        return PathOutcome(INVALID, chain, fault.message, fault.sub_indication,
                           {**details, **fault.details})
    return valid_outcome(chain, interval)


def valid_outcome(chain: tuple[Cert, ...], interval: Interval) -> PathOutcome:
    """The outcome for a path known valid over the token's interval (also used to
    reuse a cached path for another token)."""
    window = (max(c.not_before for c in chain), min(c.not_after for c in chain))
    return PathOutcome(
        VALID, chain,
        f"path of {len(chain)} certificate(s) {_arrows(chain)} to the configured root, valid "
        f"at genTime {interval.gen_time.isoformat()} over the accuracy interval",
        None, path_details(chain, interval), window)


def _explain(leaf: Cert, helpers: Sequence[Cert], roots: Sequence[Cert], reason: str,
             interval: Interval) -> PathOutcome:
    """(3) Say why validation refused, in the contract's terms."""
    found = find_chain(leaf, helpers, roots)
    if not found.anchored:
        return _unanchored(found.certs, found.notes, interval,
                           "no path reaches a configured root")
    details = {**interval.details(), "chainFound": chain_summary(found.certs),
               "validatorSays": reason}
    for fault in (validity_fault(found.certs, interval.start, interval.end),
                  weak_algorithm_fault(found.certs)):
        if fault is not None:
            return PathOutcome(INVALID, found.certs, fault.message, fault.sub_indication,
                               {**details, **fault.details})
    return PathOutcome(
        INVALID, found.certs,
        f"path {_arrows(found.certs)} reaches a configured root but breaks a path rule: "
        f"{reason}", SubIndication.CHAIN_CONSTRAINTS_FAILURE, details)


def _unanchored(chain: Sequence[Cert], notes: Sequence[str], interval: Interval,
                why: str) -> PathOutcome:
    needed = root_needed(chain)
    fingerprint = f" (sha256 {needed['sha256']})" if needed.get("sha256") else ""
    return PathOutcome(
        UNANCHORED, tuple(chain),
        f"{why}: the chain found is {_arrows(chain)}"
        + "".join(f"; {n}" for n in notes)
        + f"; it needs the root {needed['subject']}{fingerprint}: if you trust that root, "
        "pass it with --tsa-roots and verify again",
        SubIndication.NO_CERTIFICATE_CHAIN_FOUND,
        {**interval.details(), "chainFound": chain_summary(chain), "rootNeeded": needed,
         "notes": list(notes)})
