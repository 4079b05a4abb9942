"""Reading the files a user names: bounded, and with one message for every failure."""

from __future__ import annotations

import os

from .errors import InputError


def read_at_most(path: str | os.PathLike[str], limit: int) -> bytes:
    """Up to ``limit + 1`` bytes of a file: one byte past the limit, so that the caller
    sees an over-size file as such without reading all of it.

    Raises:
        InputError: the file cannot be opened or read ("cannot read PATH: reason").
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as stream:
            return stream.read(limit + 1)
    except OSError as exc:
        raise InputError(f"cannot read {name}: {exc.strerror or exc}") from None


def read_bounded(path: str | os.PathLike[str], limit: int) -> bytes:
    """A file's bytes, refusing one over ``limit``.

    Raises:
        InputError: the file cannot be read or is over ``limit`` bytes.
    """
    data = read_at_most(path, limit)
    if len(data) > limit:
        raise InputError(f"{os.fspath(path)}: over {limit} bytes, too large to be read")
    return data
