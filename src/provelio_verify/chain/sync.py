"""``--sync-headers PATH``: build, once, a local headers file that later verifications
use offline with ``--headers PATH``.

What the file proves, and what the source could lie about (docs/anchor.md, "A local
header chain"): every header written is validated exactly as ``--headers`` validates a
file (:func:`~provelio_verify.chain.headers_file.validate_headers`: links, proof of
work, every retarget, median time, versions, each checkpoint it passes), from a first
header that is a shipped checkpoint (mainnet) or the genesis block (test networks).
So the source cannot make the file hold a header that was not mined at the target the
chain's own rules demand, nor one off the checkpointed chain below the last
checkpoint. What it can do is withhold: stop short of the real tip, or serve a branch
that has real work but is not the best chain (a stale fork; a minority chain someone
mined at real cost). A later sync from another source repairs that: a branch with
more work replaces the file's above their fork point, one with less is refused.

Atomic: the file is only ever replaced whole (a new file in the same folder, flushed,
then renamed over it), so a crash, a kill or Ctrl-C leaves the previous file or the
new one, each of which validates. Resumable: a run that stops keeps what it
validated, and the next run continues from the file's tip.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..core.anchor.bitcoin import (
    HEADER_SIZE,
    NETWORKS,
    Network,
    NetworkParams,
    decode_compact,
    dsha256,
    network_of_genesis,
    work_of,
)
from ..core.anchor.checkpoints import Checkpoints
from ..core.anchor.headers import HeaderRun
from ..errors import HeadersSyncError, InputError, SourceError, SourceInvalid
from ..inputs.checkpoints import mainnet_checkpoints
from ..inputs.files import read_at_most
from .base import ChainSource
from .headers_file import MAX_HEADERS_FILE_BYTES, validate_headers

#: Headers fetched between two writes of the file (ten retarget periods): a stop loses
#: at most this much fetching. Each write validates the new headers with the period
#: before them (``validate_headers(known_good=…)``), so a sync validates about what it
#: fetches.
COMMIT_EVERY = 10 * 2016
#: How often a run starts over from the fork search when the source's chain changes
#: under it (a reorg while syncing) before it gives up.
MAX_RESTARTS = 3

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SyncResult:
    """What a sync left in the file.

    Attributes:
        previous_tip: the file's tip before the run (``None``: the file was new).
        rolled_back: headers removed above a fork point, for a branch with more work.
        complete: the file reached the source's tip.
        work: the chain work of the file's headers, first to last (expected hashes).
    """

    path: str
    source: str
    network: str
    first_height: int
    tip_height: int
    tip_hash: str
    previous_tip: int | None
    added: int
    rolled_back: int
    source_tip: int
    complete: bool
    work: int
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "source": self.source, "network": self.network,
                "firstHeight": self.first_height, "tipHeight": self.tip_height,
                "tipHash": self.tip_hash, "previousTipHeight": self.previous_tip,
                "added": self.added, "rolledBack": self.rolled_back,
                "sourceTipHeight": self.source_tip, "complete": self.complete,
                "chainWork": f"{self.work:#x}", "note": self.note}

    def describe(self) -> str:
        span = f"heights {self.first_height:,}–{self.tip_height:,}"
        count = self.tip_height - self.first_height + 1
        what = (f"{self.added:,} header(s) added" if self.added else "nothing to add")
        if self.rolled_back:
            what += f", {self.rolled_back:,} rolled back (a branch with more work)"
        lines = [f"headers file {self.path}: {self.network} {span} ({count:,} headers; {what})",
                 f"  tip {self.tip_hash}",
                 f"  chain work of the file's headers {self.work:#x} "
                 f"(about 2^{self.work.bit_length() - 1})",
                 f"  source {self.source}: tip at height {self.source_tip:,}"
                 + ("" if self.complete else " (the file does not reach it)")]
        if self.note:
            lines.append(f"  {self.note}")
        lines.append(f"use it offline: provelio-verify FILE PROOF --headers {self.path}")
        return "\n".join(lines)


def sync_headers(path: str | os.PathLike[str], source: ChainSource, *,
                 start_height: int | None = None,
                 checkpoints: Checkpoints | None = None,
                 progress: Progress | None = None,
                 commit_every: int = COMMIT_EVERY,
                 now: float | None = None) -> SyncResult:
    """Create ``path`` or extend it to ``source``'s tip.

    Args:
        start_height: for a new mainnet file, begin at the checkpoint at or below this
            height (default: the last shipped checkpoint), so that older anchors are
            covered too.
        checkpoints: mainnet checkpoints (the shipped ones by default).
        progress: called with (headers written or fetched so far, headers to fetch).
        now: the clock for the "no header from the future" rule (default: the system's).

    Raises:
        InputError: ``path`` cannot be read or written, or holds something that is not a
            headers file that validates, or of another network than the source's; or
            ``start_height`` does not fit (nothing was written).
        HeadersSyncError: the source failed, gave headers that do not validate, or
            serves a branch with less work than the file's; ``result`` holds what the
            file holds now (all of it validated).
    """
    cps = mainnet_checkpoints() if checkpoints is None else checkpoints
    target = os.path.realpath(path)
    shown = os.fspath(path)
    existing = _read_existing(shown, target, cps, now)
    try:
        params = _network(source)
    except SourceError as exc:
        raise HeadersSyncError(f"{source.label}: {exc.reason}") from None
    if existing is not None and existing.params.network is not params.network:
        raise InputError(f"{shown} holds {existing.params.network.value} headers; the source "
                         f"{source.label} follows {params.network.value}")
    if existing is not None and start_height is not None:
        raise InputError(f"{shown} exists: it is extended from its own tip (height "
                         f"{existing.tip_height}); --sync-from is for a new file")
    job = _Sync(shown, target, source, params, cps, progress, commit_every, now, existing)
    return job.run(start_height)


def _read_existing(shown: str, target: str, cps: Checkpoints,
                   now: float | None) -> HeaderRun | None:
    """The file's validated run; ``None`` when there is no file yet (or it is empty).

    Raises:
        InputError: it cannot be read, or does not validate.
    """
    if not os.path.lexists(shown):
        folder = os.path.dirname(target) or "."
        if not os.path.isdir(folder):
            raise InputError(f"cannot write {shown}: no folder {folder}")
        return None
    data = read_at_most(shown, MAX_HEADERS_FILE_BYTES)
    if not data:
        return None
    try:
        return validate_headers(data, cps, now=now)
    except SourceInvalid as exc:
        raise InputError(f"{shown} is not a headers file that validates ({exc.reason}); "
                         "nothing was written: give a new path, or move it away") from None


def _network(source: ChainSource) -> NetworkParams:
    """The network of ``source``'s genesis block.

    Raises:
        SourceError: the source does not answer, or its genesis is no known network's.
    """
    genesis = source.genesis_hash()
    params = network_of_genesis(genesis)
    if params is None:
        raise SourceInvalid(f"its genesis block {genesis} is no known network's")
    return params


class _Sync:
    """One run: ``data`` holds the validated headers from ``first``; what is fetched
    waits in ``pending`` until the next write."""

    def __init__(self, shown: str, target: str, source: ChainSource, params: NetworkParams,
                 cps: Checkpoints, progress: Progress | None, commit_every: int,
                 now: float | None, existing: HeaderRun | None) -> None:
        self.shown, self.target, self.source, self.params = shown, target, source, params
        self.cps = cps if params.network is Network.MAINNET else None
        self.progress, self.commit_every, self.now = progress, max(1, commit_every), now
        self.previous_tip = None if existing is None else existing.tip_height
        self.first = 0 if existing is None else existing.first_height
        self.data = b"" if existing is None else existing.data
        self.pending = bytearray()
        self.added = 0
        self.rolled_back = 0
        self.source_tip = -1

    # The run -------------------------------------------------------------------------

    def run(self, start_height: int | None) -> SyncResult:
        try:
            if not self.data:
                self._start(start_height)
            for _ in range(MAX_RESTARTS + 1):
                self.source_tip = self.source.fresh_tip_height()
                if self._follow():
                    return self._result()
            raise HeadersSyncError(f"the source's chain kept changing while syncing "
                                   f"({MAX_RESTARTS} restarts); run again later",
                                   result=self._result())
        except SourceError as exc:
            self._commit()
            raise HeadersSyncError(f"{self.source.label}: {exc.reason}",
                                   result=self._result_or_none()) from None
        except KeyboardInterrupt:
            self._commit()
            raise

    def _start(self, start_height: int | None) -> None:
        """The first header of a new file: a checkpointed block, or the genesis block."""
        if self.cps is None:
            if start_height not in (None, 0):
                raise InputError(f"{self.params.network.value} has no checkpoints: a "
                                 "headers file for it starts at the genesis block")
            first, block = 0, self.params.genesis_hash
        else:
            if not len(self.cps):
                raise InputError("no mainnet checkpoints to start a headers file from")
            wanted = self.cps.last_height if start_height is None else start_height
            if wanted < self.cps.height_of_checkpoint(0):
                raise InputError(f"--sync-from {wanted}: the first checkpoint is at height "
                                 f"{self.cps.height_of_checkpoint(0)}")
            index = min(len(self.cps) - 1, (wanted + 1) // 2016 - 1)
            first = self.cps.height_of_checkpoint(index)
            block = self.cps.block_hashes[index]
        header = self.source.header(block)  # checked by the source to hash to ``block``
        self.first, self.data = first, b""
        self._write(header)

    def _follow(self) -> bool:
        """Fetch to the source's tip; ``False`` when its chain changed under the run
        (start over from the fork search).

        Raises:
            HeadersSyncError: a fork the file must not follow, or headers that do not
                validate.
        """
        if not self._join():
            return True
        total = max(0, self.source_tip - self.tip)
        done = 0
        self._report(done, total)
        while self.tip < self.source_tip:
            want = min(self.source.HEADER_RUN_MAX, self.source_tip - self.tip)
            chunk = self.source.header_run(self.tip + 1, want)
            if not chunk:
                break  # the source's chain got shorter: the fork search settles it
            if len(chunk) % HEADER_SIZE or len(chunk) > want * HEADER_SIZE:
                raise SourceInvalid(f"asked for {want} headers from height {self.tip + 1}, "
                                    f"it sent {len(chunk)} bytes")
            if chunk[4:36] != self.tip_hash_internal:
                self._commit()
                return False
            self.pending += chunk
            done += len(chunk) // HEADER_SIZE
            if len(self.pending) >= self.commit_every * HEADER_SIZE:
                self._commit()
            self._report(done, total)
        self._commit()
        return self.tip >= self.source_tip

    def _join(self) -> bool:
        """Find where the file's chain and the source's meet, and roll back to it if
        the source's branch above has more work. ``False``: nothing to fetch (the
        source is at or behind the file's tip on the file's own chain).

        Raises:
            HeadersSyncError: the source forks below the file's first header, or its
                branch has no more work than the file's.
        """
        top = min(self.tip, self.source_tip)
        if top < self.first:
            raise HeadersSyncError(f"the source's tip (height {self.source_tip}) is below "
                                   f"the file's first header (height {self.first})",
                                   result=self._result())
        if self._agrees(top):
            return self.source_tip > self.tip
        if not self._agrees(self.first):
            raise HeadersSyncError(
                f"the source's block at height {self.first} is not the file's first header "
                f"{self._hash(self.first)}: it follows another chain from the start",
                result=self._result())
        low, high = self.first, top  # agrees at low, not at high
        while high - low > 1:
            mid = (low + high) // 2
            low, high = (mid, high) if self._agrees(mid) else (low, mid)
        self._take_heavier_branch(low)
        return True

    def _take_heavier_branch(self, fork: int) -> None:
        """Fetch the source's branch above ``fork`` until it has more work than the
        file's above it; then keep the file to ``fork`` and put the branch in pending.

        Raises:
            HeadersSyncError: the source's branch has no more work.
        """
        ours = _work(self.data[(fork + 1 - self.first) * HEADER_SIZE:])
        ours_count = self.tip - fork
        branch = bytearray()
        theirs = 0
        prev = self._hash_internal(fork)
        while theirs <= ours and fork + len(branch) // HEADER_SIZE < self.source_tip:
            height = fork + 1 + len(branch) // HEADER_SIZE
            chunk = self.source.header_run(height, min(self.source.HEADER_RUN_MAX,
                                                       self.source_tip - height + 1))
            if not chunk or chunk[4:36] != prev:
                raise HeadersSyncError(
                    f"the source's chain changed while its branch above height {fork} was "
                    "read; run again later", result=self._result())
            branch += chunk
            theirs += _work(chunk)
            prev = dsha256(chunk[-HEADER_SIZE:])
        if theirs <= ours:
            raise HeadersSyncError(
                f"the source's chain forks from the file's at height {fork}; above it the "
                f"file holds {ours_count} header(s) with work {ours:#x}, the source "
                f"{len(branch) // HEADER_SIZE} with work {theirs:#x}, not more: the file keeps "
                "its branch (the source may be behind, or on a stale or minority fork); "
                "nothing was rolled back", result=self._result())
        kept = self.data[:(fork + 1 - self.first) * HEADER_SIZE]
        try:  # the file's branch goes only for a whole branch that validates
            validate_headers(kept + branch, self.cps or _NO_CHECKPOINTS, now=self.now)
        except SourceInvalid as exc:
            raise HeadersSyncError(
                f"the source's branch above height {fork} has more work but does not "
                f"validate ({exc.reason}): the file keeps its branch",
                result=self._result()) from None
        self.data = kept
        self.rolled_back += ours_count
        self.pending = branch
        self._commit()

    def _agrees(self, height: int) -> bool:
        return self.source.fresh_block_hash(height) == self._hash(height)

    # The file --------------------------------------------------------------------------

    @property
    def tip(self) -> int:
        return self.first + (len(self.data) + len(self.pending)) // HEADER_SIZE - 1

    @property
    def tip_hash_internal(self) -> bytes:
        last = bytes(self.pending[-HEADER_SIZE:]) if self.pending \
            else self.data[-HEADER_SIZE:]
        return dsha256(last)

    def _hash_internal(self, height: int) -> bytes:
        at = (height - self.first) * HEADER_SIZE
        return dsha256(self.data[at:at + HEADER_SIZE])

    def _hash(self, height: int) -> str:
        return self._hash_internal(height)[::-1].hex()

    def _commit(self) -> None:
        """Write ``data`` + ``pending`` if it validates; else write the part before the
        first header that breaks a rule, and raise.

        Raises:
            HeadersSyncError: a pending header does not validate.
        """
        if not self.pending:
            return
        fresh, self.pending = bytes(self.pending), bytearray()
        try:
            self._write(fresh)
        except SourceInvalid as exc:
            floor = self.first + len(self.data) // HEADER_SIZE
            bad = max(floor, floor if exc.height is None else exc.height)
            good = fresh[:(bad - floor) * HEADER_SIZE]
            if good:
                self._write(good)
            raise HeadersSyncError(f"{self.source.label} sent headers that do not validate: "
                                   f"{exc.reason}; the file keeps the {self.tip - self.first + 1} "
                                   "header(s) before it", result=self._result()) from None

    def _write(self, fresh: bytes) -> None:
        """Validate ``data`` + ``fresh`` as ``--headers`` would and replace the file
        with it atomically.

        Raises:
            SourceInvalid: it does not validate (the file is unchanged).
            InputError: the file cannot be written.
        """
        whole = self.data + fresh
        # The file's own headers passed when it was read or last written: only what
        # this write adds is validated, with the headers its rules look back to.
        validate_headers(whole, self.cps or _NO_CHECKPOINTS, now=self.now,
                         known_good=len(self.data) // HEADER_SIZE)
        _replace(self.target, self.shown, whole)
        self.data = whole
        self.added += len(fresh) // HEADER_SIZE

    def _report(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(done, total)

    def _result(self) -> SyncResult:
        tip = self.first + len(self.data) // HEADER_SIZE - 1
        return SyncResult(
            path=self.shown, source=self.source.label, network=self.params.network.value,
            first_height=self.first, tip_height=tip,
            tip_hash=dsha256(self.data[-HEADER_SIZE:])[::-1].hex() if self.data else "",
            previous_tip=self.previous_tip, added=self.added,
            rolled_back=self.rolled_back, source_tip=self.source_tip,
            complete=tip >= self.source_tip >= 0, work=_work(self.data), note=self._note(tip))

    def _note(self, tip: int) -> str:
        """A rolled-back tip, and what the source did not serve (it was asked another
        way: a node without REST gave its headers in JSON-RPC batches)."""
        notes = []
        if self.previous_tip is not None and self.previous_tip > tip:
            notes.append(f"the file's tip was at height {self.previous_tip}")
        lacked = self.source.describe().get("couldNotUse")
        if lacked:
            notes.append(f"the source did not serve {lacked}")
        return "; ".join(notes)

    def _result_or_none(self) -> SyncResult | None:
        return self._result() if self.data else None


_NO_CHECKPOINTS = Checkpoints(NETWORKS[Network.MAINNET].network, (), ())


def _work(data: bytes) -> int:
    """The chain work of raw headers: the sum of each one's expected hashes."""
    total = 0
    cache: dict[bytes, int] = {}
    for at in range(72, len(data), HEADER_SIZE):
        bits = data[at:at + 4]
        if bits not in cache:
            cache[bits] = work_of(decode_compact(int.from_bytes(bits, "little")))
        total += cache[bits]
    return total


def _replace(target: str, shown: str, data: bytes) -> None:
    """Replace ``target`` with ``data``: a new file beside it, flushed to disk, then
    renamed over it (and the folder flushed), so a crash leaves the old file or the new.

    Raises:
        InputError: the folder is not writable, or the disk is full.
    """
    folder = os.path.dirname(target) or "."
    try:
        mode = os.stat(target).st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    try:
        handle, temp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(target)}.",
                                        suffix=".partial")
    except OSError as exc:
        raise InputError(f"cannot write {shown}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
        temp = ""
        with contextlib.suppress(OSError):
            directory = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
    except OSError as exc:
        raise InputError(f"cannot write {shown}: {exc.strerror or exc}") from None
    finally:
        if temp:
            with contextlib.suppress(OSError):
                os.unlink(temp)

