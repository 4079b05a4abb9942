"""The ``timestamp.*`` checks, in order, on the recorder of ``verifier.py``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from .bundle import Bundle, Timestamp
from .policy import Policy
from .report import SubIndication
from .subject import Subject

if TYPE_CHECKING:
    from .verifier import Recorder

TIMESTAMP_CHECKS = (
    "timestamp.token",
    "timestamp.imprint",
    "timestamp.signature",
    "timestamp.signing-certificate",
    "timestamp.tsa-certificate",
    "timestamp.chain",
    "timestamp.revocation",
)


@dataclass(frozen=True)
class TimestampFacts:
    """What the timestamp established, for ``existence`` and the report."""

    gen_time: datetime | None
    #: genTime plus its accuracy: the latest instant the token vouches for.
    not_after: datetime | None


def subject_algorithms(timestamp: Timestamp) -> tuple[str, ...]:
    """Hash algorithms besides SHA-256 the subject must be hashed with for the token."""
    return ()


def required(check_id: str, policy: Policy) -> bool:
    """Every timestamp check is required, but revocation only with --require-revocation."""
    return check_id != "timestamp.revocation" or policy.require_revocation


def run(
    rec: Recorder, bundle: Bundle, subject: Subject, policy: Policy, now: datetime
) -> TimestampFacts | None:
    for check_id in TIMESTAMP_CHECKS:
        rec.skip(check_id, SubIndication.NOT_IMPLEMENTED,
                 "not checked by this version: check the token by hand with "
                 "openssl ts -verify", required=required(check_id, policy))
    return None
