"""How a check reports: it returns :class:`Passed` or raises :class:`CheckFailure` /
:class:`CheckIndeterminate`, each carrying its sub-indication. ``verifier.py`` turns
these into :class:`~provelio_verify.report.CheckResult` in exactly one place.

The vocabulary every layer shares lives here, on the ground floor: the three
indications, the sub-indications and the check ids (``report`` re-exports them)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, NoReturn, TypeVar

T = TypeVar("T")


class Indication(enum.StrEnum):
    """The three values of ETSI EN 319 102-1."""

    PASSED = "PASSED"
    FAILED = "FAILED"
    INDETERMINATE = "INDETERMINATE"

    def __bool__(self) -> NoReturn:
        # A StrEnum member is a non-empty str, so without this every indication, FAILED
        # included, would be true in ``if report.indication:``.
        raise TypeError(
            f"an Indication has no truth value (this one is {self.value}): compare it, "
            "e.g. indication is Indication.PASSED"
        )


class SubIndication(enum.StrEnum):
    """Why a check did not pass. ETSI EN 319 102-1 names first, then this tool's own.

    ``CERTIFICATE_CHAIN_GENERAL_FAILURE`` and ``POLICY_PROCESSING_ERROR`` are reserved:
    ETSI names that no check raises today (kept so the vocabulary is ETSI's whole list
    of the ones that apply to a timestamp).
    """

    # ETSI EN 319 102-1
    FORMAT_FAILURE = "FORMAT_FAILURE"
    HASH_FAILURE = "HASH_FAILURE"
    SIG_CRYPTO_FAILURE = "SIG_CRYPTO_FAILURE"
    SIG_CONSTRAINTS_FAILURE = "SIG_CONSTRAINTS_FAILURE"
    CHAIN_CONSTRAINTS_FAILURE = "CHAIN_CONSTRAINTS_FAILURE"
    CERTIFICATE_CHAIN_GENERAL_FAILURE = "CERTIFICATE_CHAIN_GENERAL_FAILURE"
    CRYPTO_CONSTRAINTS_FAILURE = "CRYPTO_CONSTRAINTS_FAILURE"
    EXPIRED = "EXPIRED"
    NOT_YET_VALID = "NOT_YET_VALID"
    REVOKED = "REVOKED"
    NO_SIGNING_CERTIFICATE_FOUND = "NO_SIGNING_CERTIFICATE_FOUND"
    NO_CERTIFICATE_CHAIN_FOUND = "NO_CERTIFICATE_CHAIN_FOUND"
    POLICY_PROCESSING_ERROR = "POLICY_PROCESSING_ERROR"
    SIGNED_DATA_NOT_FOUND = "SIGNED_DATA_NOT_FOUND"
    TRY_LATER = "TRY_LATER"
    # provelio-verify
    ANCHOR_PENDING = "ANCHOR_PENDING"
    SOURCES_DISAGREE = "SOURCES_DISAGREE"
    NO_CHAIN_SOURCE = "NO_CHAIN_SOURCE"
    INSUFFICIENT_CONFIRMATIONS = "INSUFFICIENT_CONFIRMATIONS"
    NOT_IN_BEST_CHAIN = "NOT_IN_BEST_CHAIN"
    PROOF_OF_WORK_FAILURE = "PROOF_OF_WORK_FAILURE"
    TEST_MODE = "TEST_MODE"
    NETWORK_MISMATCH = "NETWORK_MISMATCH"
    PROOF_NOT_FOUND = "PROOF_NOT_FOUND"
    NOT_EVALUATED = "NOT_EVALUATED"
    INTERNAL_ERROR = "INTERNAL_ERROR"


#: Every check id, in the order of the contract's table. Reports list checks in this
#: order and the overall sub-indication comes from the first deciding check in it.
CHECK_IDS: tuple[str, ...] = (
    "bundle.format",
    "certificate.mode",
    "file.sha256",
    "timestamp.token",
    "timestamp.imprint",
    "timestamp.signature",
    "timestamp.signing-certificate",
    "timestamp.tsa-certificate",
    "timestamp.chain",
    "timestamp.revocation",
    "anchor.merkle-path",
    "anchor.transaction",
    "anchor.op-return",
    "anchor.inclusion",
    "anchor.proof-of-work",
    "anchor.chain",
)

TIMESTAMP_EVIDENCE_CHECKS: tuple[str, ...] = (
    "timestamp.imprint",
    "timestamp.signature",
    "timestamp.signing-certificate",
    "timestamp.tsa-certificate",
    "timestamp.chain",
)
ANCHOR_CHECKS: tuple[str, ...] = tuple(c for c in CHECK_IDS if c.startswith("anchor."))



class _CheckOutcome(Exception):
    def __init__(
        self,
        sub_indication: SubIndication,
        message: str,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.sub_indication = sub_indication
        self.message = message
        self.details: Mapping[str, Any] = dict(details or {})


class CheckFailure(_CheckOutcome):
    """The data presented is wrong: the check is FAILED."""


class CheckIndeterminate(_CheckOutcome):
    """The check could not be decided with what is available: INDETERMINATE."""


@dataclass(frozen=True)
class Passed(Generic[T]):
    """A check that passed: what to tell the reader, and a value for later steps
    (``Passed[BlockHeader]``; ``Passed[None]`` for a check that hands nothing on)."""

    message: str
    details: Mapping[str, Any] = field(default_factory=dict)
    #: Handed to the steps that build on this check; never part of the report.
    value: T | None = None
    warnings: tuple[str, ...] = ()
