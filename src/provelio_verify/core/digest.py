"""Streaming digests of a subject in constant memory."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable
from typing import BinaryIO

from ..outcome import CheckFailure, Passed, SubIndication

#: Read size: large enough that per-call overhead vanishes next to hashing, small
#: enough to stay in cache. 1 MiB measured fastest here (see benchmarks/hash_throughput.py).
CHUNK_SIZE = 1024 * 1024

#: Algorithms a subject may be hashed with: SHA-256 always (``sha256Hash``), and the
#: imprint algorithms an RFC 3161 token may use. MD5 and SHA-1 are not offered.
SUBJECT_ALGORITHMS = ("sha256", "sha384", "sha512")


_BUFFERS = threading.local()


def _read_buffer() -> memoryview:
    """This thread's read buffer, made once: a batch hashes many files, and allocating
    (and zeroing) 1 MiB per file costs more than hashing a small one; under an allocator
    told to give memory back at once (Dask's ``MALLOC_TRIM_THRESHOLD_``) each fresh
    buffer is a new mapping. The buffer holds only bytes already hashed."""
    buffer: memoryview | None = getattr(_BUFFERS, "view", None)
    if buffer is None:
        buffer = _BUFFERS.view = memoryview(bytearray(CHUNK_SIZE))
    return buffer


def hash_stream(
    stream: BinaryIO,
    algorithms: Iterable[str] = ("sha256",),
    *,
    progress: Callable[[int], None] | None = None,
    size_hint: int | None = None,
) -> tuple[dict[str, bytes], int]:
    """Hash ``stream`` to its end with every algorithm in one pass.

    Returns the digests by algorithm name and the number of bytes read. ``progress``
    is called with the size of each chunk read. ``size_hint`` (the file's size, when
    known) keeps the read buffer small for small files; the stream is read to its end
    whatever the hint says.

    Raises:
        ValueError: an algorithm outside :data:`SUBJECT_ALGORITHMS`.
        OSError: reading the stream failed.
    """
    names = tuple(dict.fromkeys(algorithms))
    for name in names:
        if name not in SUBJECT_ALGORITHMS:
            raise ValueError(f"subject hash algorithm {name!r} is not supported")
    hashers = [hashlib.new(name) for name in names]
    # A small file reads into a small window: a short read says the end sooner.
    size = CHUNK_SIZE if size_hint is None else max(4096, min(CHUNK_SIZE, size_hint + 1))
    view = _read_buffer()[:size]
    total = 0
    readinto = getattr(stream, "readinto", None)
    while True:
        if readinto is not None:
            n = readinto(view)
            if not n:
                break
            chunk = view[:n]
        else:
            data = stream.read(CHUNK_SIZE)
            if not data:
                break
            n = len(data)
            chunk = memoryview(data)
        for hasher in hashers:
            hasher.update(chunk)
        total += n
        if progress is not None:
            progress(n)
    return {name: h.digest() for name, h in zip(names, hashers, strict=True)}, total


def check_sha256(
    computed: bytes, claimed: bytes, *, size: int | None, claimed_size: int | None
) -> Passed[None]:
    """(1) Contract section 4, ``file.sha256``: the subject's SHA-256 equals
    ``sha256Hash``; when a file was read, its size equals ``fileSize``.

    Raises:
        CheckFailure: HASH_FAILURE, naming both values.
    """
    if computed != claimed:
        raise CheckFailure(
            SubIndication.HASH_FAILURE,
            f"subject SHA-256 {computed.hex()} does not match sha256Hash {claimed.hex()}",
            {"computed": computed.hex(), "claimed": claimed.hex()},
        )
    if size is not None and claimed_size is not None and size != claimed_size:
        raise CheckFailure(
            SubIndication.HASH_FAILURE,
            f"file size {size} bytes does not match fileSize {claimed_size}",
            {"size": size, "fileSize": claimed_size},
        )
    sized = ""
    if size is not None and claimed_size is not None:
        sized = f" and size {size} bytes matches fileSize"
    return Passed(f"SHA-256 {computed.hex()} matches sha256Hash{sized}",
                  {"sha256": computed.hex()})
