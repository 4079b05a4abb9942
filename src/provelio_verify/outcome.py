"""How a check reports: it returns :class:`Passed` or raises :class:`CheckFailure` /
:class:`CheckIndeterminate`, each carrying its sub-indication. ``verifier.py`` turns
these into :class:`~provelio_verify.report.CheckResult` in exactly one place."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .report import SubIndication


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
class Passed:
    """A check that passed: what to tell the reader, and a value for later steps."""

    message: str
    details: Mapping[str, Any] = field(default_factory=dict)
    #: Handed to the steps that build on this check; never part of the report.
    value: Any = None
    warnings: tuple[str, ...] = ()
