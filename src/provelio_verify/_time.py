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


def rfc3339(moment: datetime, *, round_up: bool = False) -> str:
    """RFC 3339 UTC to the second (``2026-04-19T10:12:00Z``).

    With ``round_up`` a fractional second goes to the next second, so a "not after"
    bound never claims an earlier instant than the evidence shows.
    """
    moment = require_aware(moment, "time")
    if round_up and moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
