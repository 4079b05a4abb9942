"""The Recorder: the one place where a check's outcome becomes its result.

A step hands it a check (a function that returns :class:`~provelio_verify.outcome.Passed`
or raises :class:`~provelio_verify.outcome.CheckFailure` /
:class:`~provelio_verify.outcome.CheckIndeterminate`); it records one
:class:`~provelio_verify.report.CheckResult` per check id. It imports no step, and no
step imports the orchestration (``verifier.py``) that calls them.
"""

from __future__ import annotations

import dataclasses
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from ..outcome import CHECK_IDS, CheckFailure, CheckIndeterminate, Indication, Passed, SubIndication
from ..report import CheckResult

T = TypeVar("T")


class Recorder:
    """Collects one result per check id, converting a check's outcome into a result.

    Check functions return :class:`~provelio_verify.outcome.Passed` or raise
    :class:`CheckFailure` / :class:`CheckIndeterminate`; anything else they raise is
    a defect of this tool and is reported as INDETERMINATE / INTERNAL_ERROR (never
    PASSED, never a traceback on the user's screen).
    """

    def __init__(self) -> None:
        self.results: dict[str, CheckResult] = {}
        self.warnings: list[str] = []

    def run(self, check_id: str, check: Callable[[], Passed[T]], *,
            required: bool) -> T | None:
        """Run ``check`` and record its result; return its value when it passed, else None."""
        try:
            outcome = check()
        except CheckFailure as exc:
            self._add(CheckResult(check_id, Indication.FAILED, exc.sub_indication, exc.message,
                                  exc.details, required))
            return None
        except CheckIndeterminate as exc:
            self._add(CheckResult(check_id, Indication.INDETERMINATE, exc.sub_indication,
                                  exc.message, exc.details, required))
            return None
        except Exception as exc:  # noqa: BLE001 - the one place that converts everything
            self._add(CheckResult(
                check_id, Indication.INDETERMINATE, SubIndication.INTERNAL_ERROR,
                f"internal error in this check ({type(exc).__name__}: {exc}); "
                "please report it with the bundle",
                {}, required, traceback=traceback.format_exc(),
            ))
            return None
        if not isinstance(outcome, Passed):  # a defect: a check must say what it established
            raise TypeError(f"check {check_id} returned {type(outcome).__name__}, not Passed")
        self.warnings.extend(outcome.warnings)
        self._add(CheckResult(check_id, Indication.PASSED, None, outcome.message,
                              outcome.details, required))
        return outcome.value

    def skip(
        self,
        check_id: str,
        sub_indication: SubIndication,
        message: str,
        *,
        required: bool,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Record a check that could not run at all (INDETERMINATE)."""
        self._add(CheckResult(check_id, Indication.INDETERMINATE, sub_indication, message,
                              dict(details or {}), required))

    def skip_unrecorded(self, message: str) -> None:
        """Record every check not recorded yet as INDETERMINATE / NOT_EVALUATED (when
        nothing after a failed prerequisite can be judged)."""
        for check_id in CHECK_IDS:
            if check_id not in self.results:
                self.skip(check_id, SubIndication.NOT_EVALUATED, message, required=True)

    def annotate(self, check_id: str, how_to_check: Sequence[str]) -> None:
        """Add the commands a person can run to re-check ``check_id`` by hand (its
        ``details["howToCheck"]``), whatever its outcome."""
        result = self.results[check_id]
        if how_to_check:
            self.results[check_id] = dataclasses.replace(
                result, details={**result.details, "howToCheck": list(how_to_check)})

    def passed(self, check_id: str) -> bool:
        result = self.results.get(check_id)
        return result is not None and result.indication is Indication.PASSED

    def _add(self, result: CheckResult) -> None:
        if result.id in self.results:
            raise ValueError(f"check {result.id} recorded twice")
        self.results[result.id] = result
