"""Time helpers: timezone-aware UTC only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def require_aware(moment: datetime, what: str) -> datetime:
    """Return ``moment`` in UTC.

    Raises:
        ValueError: ``moment`` is naive (no timezone): its instant would be a guess.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


#: The ends of the calendar Python computes with, in UTC.
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)


def shift(moment: datetime, delta: timedelta) -> datetime:
    """``moment + delta``, held to [:data:`EARLIEST`, :data:`LATEST`] instead of raising
    ``OverflowError``.

    For the comparisons this module serves ("is genTime later than the clock plus the
    tolerance?") that is exact: no representable instant lies beyond either end, so a
    bound past the end compares as the end does. Values that are reported rather than
    compared (genTime ± accuracy) are kept clear of the ends where they are read
    (``core.tstinfo``), so they never reach the clamp.
    """
    moment = require_aware(moment, "time")
    # The room to either end is a representable timedelta; ``LATEST - delta`` may not be.
    if delta >= timedelta(0):
        return LATEST if delta > LATEST - moment else moment + delta
    return EARLIEST if -delta > moment - EARLIEST else moment + delta


def rfc3339(moment: datetime, *, round_up: bool = False) -> str:
    """RFC 3339 UTC to the second (``2026-04-19T10:12:00Z``).

    With ``round_up`` a fractional second goes to the next second, so a "not after"
    bound never claims an earlier instant than the evidence shows (at the calendar's
    last second there is no next one: :func:`shift` holds it there; the moments
    rounded here are kept days clear of it where they are read).
    """
    moment = require_aware(moment, "time")
    if round_up and moment.microsecond:
        moment = shift(moment.replace(microsecond=0), timedelta(seconds=1))
    # Not strftime("%Y"): glibc writes year 999 as "999", RFC 3339 needs four digits.
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}Z"
