"""Reading the files a user names: bounded, and with one message for every failure."""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

from ..errors import InputError

#: What a path names when it is not a regular file, for the message refusing it.
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)

#: Opening never waits (for a FIFO's writer) nor makes a terminal ours (POSIX flags,
#: absent elsewhere).
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_OPEN_FLAGS = (os.O_RDONLY | _NONBLOCK | getattr(os, "O_NOCTTY", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))


def not_regular(name: str, mode: int) -> str | None:
    """Why ``mode`` (an ``st_mode``) is refused as an input: "PATH is a FIFO, not a
    regular file"; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    kind = next((label for test, label in _KINDS if test(mode)), "not a file")
    return f"{name} is {kind}, not a regular file"


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """Open a file the user named for reading, refusing anything but a regular file.

    A FIFO, device, socket or folder is refused before it is opened (``stat``). The
    open itself cannot block either: ``O_NONBLOCK`` makes opening a FIFO return at
    once, and the type is checked again on the open descriptor (``fstat``), so nothing
    swapped in after the first check is read. The stream returned is an ordinary
    buffered, blocking one.

    Raises:
        InputError: the path cannot be opened ("cannot read PATH: reason") or is not a
            regular file ("PATH is a FIFO, not a regular file").
    """
    name = os.fspath(path)
    # Refused before any open (opening some devices acts on them) ...
    early = regular_file_problem(name)
    if early is not None:
        raise InputError(early)
    # ... and again on what was opened, should the path have changed in between.
    try:
        fd = os.open(name, _OPEN_FLAGS)
    except OSError as exc:
        raise InputError(f"cannot read {name}: {exc.strerror or exc}") from None
    except ValueError as exc:  # a NUL in the path
        raise InputError(f"cannot read {name!r}: {exc}") from None
    try:
        problem = not_regular(name, os.fstat(fd).st_mode)
        if problem is not None:
            raise InputError(problem)
        if _NONBLOCK:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except OSError as exc:
        os.close(fd)
        raise InputError(f"cannot read {name}: {exc.strerror or exc}") from None
    except BaseException:
        os.close(fd)
        raise


def regular_file_problem(path: str | os.PathLike[str]) -> str | None:
    """Without opening it, why ``path`` would be refused by :func:`open_regular` when
    it exists and is not a regular file (for listing a batch's items); None when it
    is a regular file or cannot be examined (reading it will then say why)."""
    name = os.fspath(path)
    try:
        mode = os.stat(name).st_mode
    except (OSError, ValueError):
        return None
    return not_regular(name, mode)


def read_at_most(path: str | os.PathLike[str], limit: int) -> bytes:
    """Up to ``limit + 1`` bytes of a regular file: one byte past the limit, so that the
    caller sees an over-size file as such without reading all of it.

    Raises:
        InputError: the file cannot be opened or read ("cannot read PATH: reason"), or
            is not a regular file (see :func:`open_regular`).
    """
    name = os.fspath(path)
    with open_regular(name) as stream:
        try:
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
