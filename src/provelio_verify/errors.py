"""Every error a caller of this package catches, under one root: :class:`ProvelioError`.

This module imports nothing of the package at run time (layout rule 2), so every other
module may import it. The modules that raise an error re-export it under its old
address (``provelio_verify.bundle.BundleFormatError``, ``provelio_verify.net.NetworkError``,
``provelio_verify.chain.SourceError``, ``provelio_verify.capsule.CapsuleError`` …).

::

    ProvelioError
    ├── InputError              an input the caller named cannot be read (CLI: exit 2)
    │   ├── CapsuleError        a capsule folder that cannot be used
    │   └── PdfUnavailable      WeasyPrint is not installed or cannot load
    ├── BundleFormatError       the bundle breaks the contract's section 2
    ├── NetworkError            a request gave no usable answer
    ├── SourceError             a chain source gave no usable answer
    │   ├── SourceUnavailable
    │   │   └── SourceUnproven
    │   └── SourceInvalid
    ├── HeadersSyncError        --sync-headers stopped short (chain/sync.py)
    ├── WebhookError            a webhook delivery was refused (webhooks.py)
    │   ├── WebhookSecretError      the receiver's secrets cannot be used
    │   ├── WebhookSignatureError   missing, malformed or matching no secret
    │   ├── WebhookPayloadError     signed, but not a valid delivery
    │   └── WebhookTimeError        outside the replay / clock-skew window
    └── VerificationError       verify_strict / Report.raise_for_indication: not PASSED
        ├── VerificationFailed
        └── VerificationIndeterminate

``except ProvelioError`` therefore catches every error this package raises on purpose,
including a verdict that is not PASSED; catch :class:`VerificationError` (before
``ProvelioError``) to tell "the evidence does not hold" from "the verification could
not be run".

A check's own outcome (:class:`~provelio_verify.outcome.CheckFailure`,
:class:`~provelio_verify.outcome.CheckIndeterminate`) is not an error a caller sees: the
verifier turns it into a result. They live in ``outcome.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime, timedelta

    from .chain.sync import SyncResult
    from .report import Report

__all__ = [
    "ProvelioError",
    "InputError",
    "CapsuleError",
    "PdfUnavailable",
    "BundleFormatError",
    "NetworkError",
    "SourceError",
    "SourceUnavailable",
    "SourceUnproven",
    "SourceInvalid",
    "WebhookError",
    "WebhookSecretError",
    "WebhookSignatureError",
    "WebhookPayloadError",
    "WebhookTimeError",
    "VerificationError",
    "VerificationFailed",
    "VerificationIndeterminate",
]


class ProvelioError(Exception):
    """Base class of this package's own errors."""


class InputError(ProvelioError):
    """An input the caller named cannot be read (missing, unreadable, not a file)."""


class CapsuleError(InputError):
    """A capsule folder that cannot be used: missing, altered, or not a capsule."""


class PdfUnavailable(InputError):
    """WeasyPrint, which writes the PDF, is not installed or cannot load its libraries."""


class BundleFormatError(ProvelioError):
    """The bundle does not obey the contract's section 2."""

    def __init__(self, field_name: str, problem: str) -> None:
        self.field = field_name
        self.problem = problem
        super().__init__(f"{field_name}: {problem}" if field_name else problem)


class NetworkError(ProvelioError):
    """A request did not produce a usable answer (after any retries)."""


class SourceError(ProvelioError):
    """A source gave no usable answer. Never a verdict on the evidence: the check it
    served is INDETERMINATE (``TRY_LATER``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SourceUnavailable(SourceError):
    """The source could not be reached, or cannot answer that question."""


class SourceUnproven(SourceUnavailable):
    """The source holds an answer but cannot show it is the best chain's: a headers
    file (or a capsule's header run) whose run does not reach the shipped checkpoint
    that vouches for the height asked about. Its reason says what it lacks."""


class SourceInvalid(SourceError):
    """The source answered something its own evidence refutes (a header that does not
    hash to the hash asked for, a malformed answer, a headers file that does not
    validate). ``height``: the height of the first header that broke a rule, when the
    answer was a run of headers."""

    def __init__(self, reason: str, *, height: int | None = None) -> None:
        super().__init__(reason)
        self.height = height


class HeadersSyncError(ProvelioError):
    """``--sync-headers`` stopped short: the source failed, sent headers that do not
    validate, or serves a branch with no more work than the file's. ``result`` is what
    the file holds now, every header of it validated (``None``: nothing was written).
    The command line exits 3."""

    def __init__(self, reason: str, *, result: SyncResult | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.result = result


class WebhookError(ProvelioError):
    """A webhook delivery (or the secrets to check it with) was refused.

    ``reason`` is the message; no subclass message ever contains a secret or the HMAC
    the body should have had."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WebhookSecretError(WebhookError):
    """The secrets given cannot be used: none, an empty one, one that is not text, or
    one with surrounding whitespace. A fault of the receiver's configuration, not of
    the delivery (the command line exits 2)."""


class WebhookSignatureError(WebhookError):
    """The signature is missing, malformed, or matches the body under none of the
    secrets. Nothing of the body was read."""


class WebhookPayloadError(WebhookError):
    """The body is signed but is not a delivery this reader understands, or is over the
    size limit (refused before it is hashed). ``field`` is the JSON path of what was
    wrong (``data.sha256Hash``; ``""`` for the whole body)."""

    def __init__(self, field_name: str, problem: str) -> None:
        self.field = field_name
        self.problem = problem
        super().__init__(f"{field_name}: {problem}" if field_name else problem)


class WebhookTimeError(WebhookError):
    """The delivery's timestamp is further than ``tolerance`` from ``now``: a replay of
    an old delivery, or a clock far ahead. Carries both instants."""

    def __init__(self, reason: str, *, instant: datetime, now: datetime,
                 tolerance: timedelta) -> None:
        super().__init__(reason)
        self.instant = instant
        self.now = now
        self.tolerance = tolerance


class VerificationError(ProvelioError):
    """Raised by :meth:`Report.raise_for_indication` when the verdict is not PASSED."""

    def __init__(self, report: Report) -> None:
        self.report = report
        first = report.deciding_check()
        reason = f"{first.id}: {first.message}" if first is not None \
            else "no check decided"
        super().__init__(f"verification {report.indication.value}: {reason}")


class VerificationFailed(VerificationError):
    """The evidence is wrong: some check FAILED."""


class VerificationIndeterminate(VerificationError):
    """The evidence could not be established either way."""
