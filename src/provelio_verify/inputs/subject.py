"""The subject of a verification: a file, a stream, or a digest the caller already has."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import BinaryIO

from ..core.digest import hash_stream
from ..errors import InputError
from .files import open_regular

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class Digest:
    """A SHA-256 digest given instead of a file (``--digest HEX``).

    Raises:
        ValueError: ``hex`` is not 64 hex characters.
    """

    hex: str

    def __post_init__(self) -> None:
        if not isinstance(self.hex, str) or not _HEX64.fullmatch(self.hex):
            raise ValueError(f"a SHA-256 digest is 64 hex characters, got {self.hex!r}")
        object.__setattr__(self, "hex", self.hex.lower())

    @property
    def value(self) -> bytes:
        return bytes.fromhex(self.hex)


@dataclass(frozen=True)
class Missing:
    """The subject is not at hand (a batch found a proof without its file).

    The bundle is still checked, with its own ``sha256Hash`` standing in for the
    file's digest, and ``file.sha256`` is INDETERMINATE with ``reason``.
    """

    reason: str
    path: str | None = None




@dataclass(frozen=True)
class Subject:
    """What was hashed: ``digests`` by algorithm; ``size`` and ``path`` when a file was read."""

    digests: dict[str, bytes]
    path: str | None
    size: int | None
    digest_given: bool
    #: Why the subject could not be read (see :class:`Missing`); its digest is then
    #: the bundle's claim, which nothing has checked.
    missing: str | None = None

    @property
    def sha256(self) -> bytes:
        return self.digests["sha256"]

    def to_dict(self) -> dict[str, object]:
        sha256 = None if self.missing else self.sha256.hex()
        return {"sha256": sha256, "path": self.path, "size": self.size}


#: What ``verify()`` accepts as its subject. A :class:`Subject` already hashed is
#: used as it is (an evidence capsule re-verifies from recorded digests).
SubjectInput = str | os.PathLike[str] | Digest | Missing | BinaryIO | Subject


def open_subject(
    source: SubjectInput,
    algorithms: Iterable[str] = ("sha256",),
    *,
    progress: Callable[[int], None] | None = None,
    on_size: Callable[[int], None] | None = None,
) -> Subject:
    """Hash the subject with SHA-256 and any further ``algorithms`` in one pass.

    A :class:`Digest` yields only SHA-256: other algorithms cannot be derived from it.
    ``on_size`` receives a regular file's size before reading starts (for progress bars).

    Raises:
        InputError: the path cannot be opened or read, or is not a regular file.
    """
    wanted = ("sha256", *algorithms)
    if isinstance(source, Subject):
        missing = [a for a in wanted if a not in source.digests]
        if missing and not source.digest_given:
            raise ValueError(f"the subject was not hashed with {', '.join(missing)}")
        return source
    if isinstance(source, Missing):
        raise TypeError("a Missing subject has no digest to compute; the claim stands in")
    if isinstance(source, Digest):
        return Subject({"sha256": source.value}, path=None, size=None, digest_given=True)
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        try:
            # Refuses a FIFO, device or socket before reading (never a hang).
            with open_regular(path) as stream:
                info = os.fstat(stream.fileno())
                if on_size is not None:
                    on_size(info.st_size)
                digests, size = hash_stream(stream, wanted, progress=progress,
                                            size_hint=info.st_size)
        except InputError:
            raise
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
        return Subject(digests, path=path, size=size, digest_given=False)
    if hasattr(source, "read"):
        try:
            digests, size = hash_stream(source, wanted, progress=progress)
        except OSError as exc:
            raise InputError(f"cannot read the subject stream: {exc}") from None
        name = getattr(source, "name", None)
        return Subject(digests, path=name if isinstance(name, str) else None, size=size,
                       digest_given=False)
    raise TypeError(
        f"the subject is a path, a binary stream or a Digest, not {type(source).__name__}"
    )
