"""Exception types.

Checks raise :class:`CheckFailure` or :class:`CheckIndeterminate`, each carrying its
sub-indication; ``verifier.py`` turns them into results in exactly one place.
:class:`InputError` is for input the caller could not supply at all (an unreadable
path): the CLI turns it into a usage error (exit status 2).
"""

from __future__ import annotations

from .outcome import CheckFailure, CheckIndeterminate
from .report import (
    VerificationError,
    VerificationFailed,
    VerificationIndeterminate,
)

__all__ = [
    "ProvelioError",
    "InputError",
    "CheckFailure",
    "CheckIndeterminate",
    "VerificationError",
    "VerificationFailed",
    "VerificationIndeterminate",
]


class ProvelioError(Exception):
    """Base class of this package's own errors."""


class InputError(ProvelioError):
    """An input the caller named cannot be read (missing, unreadable, not a file)."""
