"""The report: three-valued check results and the overall verdict (contract section 4).

A :class:`Report` is never truthy or falsy: ``if report:`` raises ``TypeError``, so a
failure cannot leak through a careless condition. Ask ``report.indication`` or call
:meth:`Report.raise_for_indication`.
"""

from __future__ import annotations

import enum
import functools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NoReturn

from ._limits import MAX_JSON_DEPTH
from ._time import rfc3339
from ._version import __version__
from .errors import VerificationError, VerificationFailed, VerificationIndeterminate
from .outcome import (
    ANCHOR_CHECKS,
    CHECK_IDS,
    TIMESTAMP_EVIDENCE_CHECKS,
    Indication,
    SubIndication,
)

REPORT_VERSION = 1
TOOL_NAME = "provelio-verify"

#: The verdict in words, for a person (the terminal summary and the evidence report).
VERDICT_WORDS = {
    Indication.PASSED: "the evidence holds: every required check passed",
    Indication.FAILED: "the evidence is wrong: a check failed",
    Indication.INDETERMINATE: "the evidence could not be established either way",
}

__all__ = ["ANCHOR_CHECKS", "CHECK_IDS", "REPORT_VERSION", "TIMESTAMP_EVIDENCE_CHECKS",
           "TOOL_NAME", "VERDICT_WORDS", "CheckResult", "Indication", "Report", "SubIndication",
           "VerificationError", "VerificationFailed", "VerificationIndeterminate", "overall"]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check.

    ``required`` says whether an INDETERMINATE here keeps the verdict from PASSED
    (a FAILED is always fatal, required or not).
    """

    id: str
    indication: Indication
    sub_indication: SubIndication | None
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)
    required: bool = True
    #: Text of an unexpected exception, for ``-v``; never part of the JSON report.
    traceback: str | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.id not in CHECK_IDS:
            raise ValueError(f"unknown check id {self.id!r}")
        if (self.indication is Indication.PASSED) != (self.sub_indication is None):
            raise ValueError(
                f"check {self.id}: a sub-indication goes with FAILED or INDETERMINATE only"
            )

    def __bool__(self) -> NoReturn:
        raise TypeError(
            f"a CheckResult has no truth value (check {self.id} is {self.indication.value}): "
            "compare check.indication with Indication.PASSED"
        )

    @functools.cached_property
    def _details_json(self) -> Any:
        # Converted once: a report is rendered several times (JSON, evidence keys, HTML).
        # (Nested in a report as report > checks > check > details.)
        return _jsonable(self.details, 3, f"checks.{self.id}.details")

    def to_dict(self) -> dict[str, Any]:
        """The check as JSON data. Its ``details`` are shared between calls: read them,
        do not change them."""
        return {
            "id": self.id,
            "indication": self.indication.value,
            "subIndication": self.sub_indication.value if self.sub_indication else None,
            "message": self.message,
            "details": self._details_json,
            "required": self.required,
        }


def overall(checks: Sequence[CheckResult]) -> tuple[Indication, SubIndication | None]:
    """Contract section 4: any FAILED -> FAILED; else any required INDETERMINATE ->
    INDETERMINATE; else PASSED. The sub-indication is the first deciding check's, in
    table order."""
    ordered = sorted(checks, key=lambda c: CHECK_IDS.index(c.id))
    for check in ordered:
        if check.indication is Indication.FAILED:
            return Indication.FAILED, check.sub_indication
    for check in ordered:
        if check.indication is Indication.INDETERMINATE and check.required:
            return Indication.INDETERMINATE, check.sub_indication
    return Indication.PASSED, None


@dataclass(frozen=True)
class Report:
    """Everything one verification established, and what it could not."""

    indication: Indication
    sub_indication: SubIndication | None
    checks: tuple[CheckResult, ...]
    subject: Mapping[str, Any]
    certificate: Mapping[str, Any] | None
    existence: Mapping[str, Any]
    warnings: tuple[str, ...] = ()
    #: Further top-level keys (section 4 allows added keys), e.g. ``verifiedAt``.
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: Keys computed from the report's own JSON when it is first rendered (the evidence
    #: report's ``environment``, ``trustAnchors``, ``howToCheck``): work a caller that
    #: only reads the verdict never pays for. Must be picklable.
    derived: Callable[[dict[str, Any]], Mapping[str, Any]] | None = field(
        default=None, compare=False, repr=False)

    @classmethod
    def build(
        cls,
        checks: Sequence[CheckResult],
        *,
        subject: Mapping[str, Any],
        certificate: Mapping[str, Any] | None,
        existence: Mapping[str, Any],
        warnings: Sequence[str] = (),
        extra: Mapping[str, Any] | None = None,
    ) -> Report:
        """Order the checks as the contract's table does and compute the verdict."""
        ids = [c.id for c in checks]
        if len(set(ids)) != len(ids):
            raise ValueError(f"a check id appears twice: {ids}")
        ordered = tuple(sorted(checks, key=lambda c: CHECK_IDS.index(c.id)))
        indication, sub = overall(ordered)
        return cls(
            indication=indication,
            sub_indication=sub,
            checks=ordered,
            subject=subject,
            certificate=certificate,
            existence=existence,
            warnings=tuple(warnings),
            extra=dict(extra or {}),
        )

    def __bool__(self) -> NoReturn:
        raise TypeError(
            "a Report has no truth value: compare report.indication with Indication.PASSED "
            "or call report.raise_for_indication()"
        )

    def __iter__(self) -> NoReturn:
        # Not iterable: ``all(report)`` would read as "every check passed" and be true
        # for a FAILED report (its items have no truth value either, but an empty or
        # careless loop should not start at all). The checks are ``report.checks``.
        raise TypeError(
            "a Report is not iterable: iterate over report.checks, and compare each "
            "check.indication with Indication.PASSED"
        )

    def __contains__(self, item: object) -> NoReturn:
        raise TypeError("a Report is not a container: look checks up with report.check(id) "
                        "or in report.checks")

    def check(self, check_id: str) -> CheckResult:
        """The result of one check by id.

        Raises:
            KeyError: the report holds no check with that id.
        """
        for c in self.checks:
            if c.id == check_id:
                return c
        raise KeyError(check_id)

    def deciding_check(self) -> CheckResult | None:
        """The check that decided a non-PASSED verdict (first in table order)."""
        if self.indication is Indication.PASSED:
            return None
        for c in self.checks:
            if c.indication is self.indication and (
                c.indication is Indication.FAILED or c.required
            ):
                return c
        return None

    def raise_for_indication(self) -> None:
        """Return quietly when PASSED.

        Raises:
            VerificationFailed: the verdict is FAILED.
            VerificationIndeterminate: the verdict is INDETERMINATE.
        """
        if self.indication is Indication.FAILED:
            raise VerificationFailed(self)
        if self.indication is Indication.INDETERMINATE:
            raise VerificationIndeterminate(self)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of contract section 4 (fixed keys first, then added ones).

        A new top-level object each call; nested values are shared between calls:
        read them, do not change them.

        Raises:
            ValueError: an added key would replace a fixed one.
        """
        return dict(self._json)

    @functools.cached_property
    def _json(self) -> dict[str, Any]:
        # Built once: a report is rendered several times (JSON, evidence keys, HTML).
        out: dict[str, Any] = {
            "reportVersion": REPORT_VERSION,
            "tool": {"name": TOOL_NAME, "version": __version__},
            "indication": self.indication.value,
            "subIndication": self.sub_indication.value if self.sub_indication else None,
            "subject": _jsonable(self.subject, 1, "subject"),
            "certificate": _jsonable(self.certificate, 1, "certificate"),
            "existence": _jsonable(self.existence, 1, "existence"),
            "checks": [c.to_dict() for c in self.checks],
            "warnings": list(self.warnings),
        }
        added = {key: _jsonable(value, 1, key) for key, value in self.extra.items()}
        if self.derived is not None:
            base = {**out, **added}
            added.update((k, _jsonable(v, 1, k)) for k, v in self.derived(base).items())
        for key, value in added.items():
            if key in out:
                raise ValueError(f"added report key {key!r} would replace a fixed key")
            out[key] = value
        return out

    def to_json(self, *, indent: int | None = 2) -> str:
        # allow_nan=False: Infinity and NaN are not JSON (_jsonable refuses them first).
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, sort_keys=False,
                          allow_nan=False)


#: Types copied as they are (floats are checked for being finite first).
_LEAF = frozenset({str, int, bool, type(None)})

#: Where a value sits in the report, built only if an error names it: the report's own
#: name, or (where the container is, "." and a key, or "[" and an index).
_At = str | tuple[Any, str, Any]


def _jsonable(value: Any, depth: int = 0, where: str = "") -> Any:
    """Copy a details value into plain JSON types (bytes become lowercase hex). ``depth``
    counts the containers around ``value`` in the report, which nests at most
    MAX_JSON_DEPTH deep, as the bundle reader allows; no float is Infinity or NaN.

    Raises:
        ValueError: a value nested deeper, or a float that is not finite (not JSON),
            naming where.
        TypeError: a value of a type with no JSON form.
    """
    return _copy(value, depth, where)


def _copy(value: Any, depth: int, at: _At) -> Any:
    # The hot path of every report's JSON (hundreds of values per report): plain
    # containers and leaves first, by exact type, and a value's place in the report
    # is put into words only when an error names it.
    kind = type(value)
    if kind in _LEAF:
        return value
    if kind is dict:
        if depth >= MAX_JSON_DEPTH:
            raise _too_deep(at)
        return {(k if type(k) is str else str(k)):
                (v if type(v) in _LEAF else _copy(v, depth + 1, (at, ".", k)))
                for k, v in value.items()}
    if kind is list or kind is tuple:
        if depth >= MAX_JSON_DEPTH:
            raise _too_deep(at)
        return [v if type(v) in _LEAF else _copy(v, depth + 1, (at, "[", i))
                for i, v in enumerate(value)]
    return _copy_other(value, depth, at)


def _copy_other(value: Any, depth: int, at: _At) -> Any:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"report value {_where(at) or 'report'} is {value}, "
                             "not a JSON number")
        return float(value)
    if isinstance(value, (Mapping, list, tuple)) and depth >= MAX_JSON_DEPTH:
        raise _too_deep(at)
    if isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, Mapping):
        return {str(k): _copy(v, depth + 1, (at, ".", k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_copy(v, depth + 1, (at, "[", i)) for i, v in enumerate(value)]
    if isinstance(value, datetime):
        return rfc3339(value)
    raise TypeError(f"report details cannot hold a {type(value).__name__}")


def _where(at: _At) -> str:
    parts: list[str] = []
    while isinstance(at, tuple):
        at, sep, key = at
        parts.append(f".{key}" if sep == "." else f"[{key}]")
    return at + "".join(reversed(parts))


def _too_deep(at: _At) -> ValueError:
    return ValueError(f"report value {_where(at) or 'report'} nests deeper than the limit "
                      f"of {MAX_JSON_DEPTH}")
