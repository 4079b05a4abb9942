"""Batch audits: many certificates, verified in parallel, each exactly as a single run.

The per-item work, :func:`verify_item`, is a pure, picklable function of an item and
a :class:`~provelio_verify.verifier.Verifier`; :func:`verify_chunk` does it for a list
of items. The engine (:func:`iter_batch`, :func:`run_batch`) streams: it pulls items
from any iterable as it needs them, sends them in chunks to an executor (its own pool
of ``jobs`` processes, or any :class:`concurrent.futures.Executor` it is given) with a
bounded number of chunks in flight, and hands the outcomes back in item order, so a
batch of a million items holds only the chunks in work.

With ``lines=True`` each worker renders its items' JSON lines itself: the parent then
only orders, counts and writes bytes.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import json
import math
import multiprocessing
import os
import pickle
import signal
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence, Sized
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from ..bundle import MAX_BUNDLE_BYTES, parse_bundle
from ..errors import InputError
from ..inputs.files import read_at_most
from ..inputs.subject import Digest, Missing
from ..report import CheckResult, Indication, Report, SubIndication
from ..verifier import Recorder, Verifier
from ..verifier.assemble import extra_keys
from .discover import BatchItem, discover

__all__ = ["DEFAULT_CHUNK_SIZE", "BatchItem", "BatchSummary", "ItemOutcome", "discover",
           "iter_batch", "run_batch", "verify_chunk", "verify_item"]

#: Items sent to a worker at once: enough to amortise sending them and their outcomes,
#: few enough that output flows and the workers finish together. The first chunks of a
#: batch are smaller (FIRST_CHUNK_SIZE, doubling after each round of one chunk per
#: worker), so output starts at once.
DEFAULT_CHUNK_SIZE = 1000
FIRST_CHUNK_SIZE = 4


#: Severity for the batch's exit status: the worst indication wins.
_SEVERITY = {Indication.PASSED: 0, Indication.INDETERMINATE: 1, Indication.FAILED: 2}


@dataclass(frozen=True)
class ItemOutcome:
    item: BatchItem
    indication: Indication
    sub_indication: str | None
    #: The deciding check and its message, for the one-line summary.
    deciding: tuple[str, str] | None
    failed_checks: tuple[str, ...]
    #: The report as JSON data, with the item added under ``"item"``: the full report,
    #: or (``full_report=False``) only the verdict's keys.
    report: dict[str, Any]
    #: With ``line=True``: the full report with its ``"item"``, as one JSON line (UTF-8,
    #: ending in a newline), rendered where the item was verified.
    line: bytes | None = None


@dataclass
class BatchSummary:
    total: int = 0
    done: int = 0
    bytes_total: int = 0
    bytes_done: int = 0
    by_indication: Counter[str] = field(default_factory=Counter)
    by_failed_check: Counter[str] = field(default_factory=Counter)
    by_sub_indication: Counter[str] = field(default_factory=Counter)
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)
    #: Every item of the source was verified (its end was reached, nothing interrupted).
    complete: bool = False
    #: The source's end was read: ``total`` is its length, not the items read so far.
    discovered: bool = False

    def add(self, outcome: ItemOutcome) -> None:
        self.count(outcome.indication, outcome.sub_indication, outcome.failed_checks,
                   outcome.item.size)

    def count(self, indication: Indication, sub_indication: str | None,
              failed_checks: Iterable[str], size: int) -> None:
        """Count one item's verdict (one verified now, or read back by ``--resume``)."""
        self.done += 1
        self.bytes_done += size
        self.by_indication[indication.value] += 1
        if sub_indication:
            self.by_sub_indication[sub_indication] += 1
        self.by_failed_check.update(failed_checks)

    def worst(self) -> Indication:
        if self.interrupted and (self.done < self.total or not self.complete):
            worst = Indication.INDETERMINATE  # unverified items are not PASSED
        else:
            worst = Indication.PASSED
        for indication in Indication:
            if self.by_indication[indication.value] and \
                    _SEVERITY[indication] > _SEVERITY[worst]:
                worst = indication
        return worst

    def to_dict(self) -> dict[str, Any]:
        return {
            "items": self.total,
            "verified": self.done,
            "interrupted": self.interrupted,
            "indication": self.worst().value,
            "byIndication": {i.value: self.by_indication[i.value] for i in Indication},
            "byFailedCheck": dict(sorted(self.by_failed_check.items())),
            "bySubIndication": dict(sorted(self.by_sub_indication.items())),
            "bytes": self.bytes_done,
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------- one item


def verify_item(item: BatchItem, verifier: Verifier, *, full_report: bool = True,
                line: bool = False) -> ItemOutcome:
    """Verify one item exactly as a single run would; a missing or unreadable file or
    proof becomes part of the item's report, never an exception. Without
    ``full_report`` the outcome carries the verdict but not the rendered report (a
    batch that writes no report need not render one); with ``line`` it carries the
    full report as its JSON line (:attr:`ItemOutcome.line`).

    Whatever else goes wrong with the item (a defect raising an unexpected exception,
    in verifying or in rendering its report) becomes its report too: INDETERMINATE /
    INTERNAL_ERROR. One item can never stop a batch.
    """
    try:
        return _outcome(item, _report_for(item, verifier), full_report, line)
    except Exception as exc:  # noqa: BLE001 - the one place a batch item's defect is caught
        return _outcome(item, _internal_error(
            item, verifier, f"internal error verifying item {item.name} "
            f"({type(exc).__name__}: {exc}); please report it with the item's files",
            traceback.format_exc()), full_report, line)


def verify_chunk(items: Sequence[BatchItem], verifier: Verifier | _Shared, *,
                 full_report: bool = True, line: bool = False) -> list[ItemOutcome]:
    """:func:`verify_item` for each item, in order: the unit of work an executor runs
    (``verifier`` may be the batch's shared handle, sent once to each worker)."""
    engine = verifier.get() if isinstance(verifier, _Shared) else verifier
    return [verify_item(item, engine, full_report=full_report, line=line) for item in items]


def item_keys(item: BatchItem) -> dict[str, Any]:
    return {"index": item.index, "name": item.name, "file": item.file, "proof": item.proof,
            "digest": item.digest, "problem": item.problem}


def _outcome(item: BatchItem, report: Report, full_report: bool, line: bool) -> ItemOutcome:
    verdict = {"indication": report.indication.value,
               "subIndication": report.sub_indication.value if report.sub_indication
               else None}
    rendered = None
    if full_report or line:
        data = report.to_dict()
        data["item"] = item_keys(item)
        if line:
            rendered = _json_line(data)
        if not full_report:
            data = {**verdict, "item": data["item"]}
    else:
        data = {**verdict, "item": item_keys(item)}
    deciding = report.deciding_check()
    return ItemOutcome(
        item=item,
        indication=report.indication,
        sub_indication=report.sub_indication.value if report.sub_indication else None,
        deciding=(deciding.id, deciding.message) if deciding is not None else None,
        failed_checks=tuple(c.id for c in report.checks if c.indication is Indication.FAILED),
        report=data,
        line=rendered,
    )


def _json_line(data: dict[str, Any]) -> bytes:
    """The report as one line of UTF-8 JSON. A name that is not text (a file name's
    undecodable bytes, kept by Python as lone surrogates) is written escaped."""
    # check_circular=False: the data is a tree that report._jsonable copied (no value
    # can hold itself), and the encoder's bookkeeping of every container it enters was
    # an eighth of its time on a 24 KB line.
    try:
        return (json.dumps(data, ensure_ascii=False, check_circular=False)
                + "\n").encode("utf-8")
    except UnicodeEncodeError:
        return (json.dumps(data, ensure_ascii=True, check_circular=False)
                + "\n").encode("ascii")


def _report_for(item: BatchItem, verifier: Verifier) -> Report:
    if item.proof is None:  # a file without a proof, or a manifest row naming none
        return _without_proof(verifier, item.file, item.problem or "no proof bundle")
    subject: Any
    if item.file is not None:
        subject = item.file
    elif item.digest is not None:
        subject = Digest(item.digest)
    else:
        subject = Missing(item.problem or "no file given", item.name)
    try:
        report = verifier.verify(subject, item.proof)
    except InputError as exc:
        # The bundle is read first: if it is readable, the file was not.
        try:
            report = verifier.verify(Missing(str(exc), item.name), item.proof)
        except InputError as proof_exc:
            return _without_proof(verifier, item.file, str(proof_exc))
    if item.file is not None and item.digest is not None and \
            report.subject.get("sha256") not in (None, item.digest.lower()):
        report = replace(report, warnings=(
            *report.warnings,
            f"manifest digest {item.digest.lower()} is not the file's SHA-256 "
            f"{report.subject.get('sha256')}"))
    return report


def _internal_error(item: BatchItem, verifier: Verifier, message: str,
                    trace: str | None) -> Report:
    """The report of an item whose verification raised what no check catches (a defect
    of this tool), or whose worker died: INDETERMINATE / INTERNAL_ERROR, with the
    traceback for ``-v``."""
    rec = Recorder()
    rec.results["bundle.format"] = CheckResult(
        "bundle.format", Indication.INDETERMINATE, SubIndication.INTERNAL_ERROR,
        message, {}, True, traceback=trace)
    rec.skip_unrecorded("not evaluated: internal error")
    now = verifier.policy.now or datetime.now(UTC)
    return Report.build(
        list(rec.results.values()),
        subject={"sha256": None, "path": item.file, "size": None}, certificate=None,
        existence={"notAfter": None, "evidence": []},
        extra=extra_keys(now, verifier.policy, None, item.proof))


def _without_proof(verifier: Verifier, file: str | None, reason: str) -> Report:
    if file is not None:
        try:
            return verifier.verify_without_proof(file, reason)
        except InputError as exc:
            reason = f"{reason}; {exc}"
    return verifier.verify_without_proof(None, reason)


# --------------------------------------------------------------------------- the engine

#: Verifiers held by this (worker) process, by batch and version: sent once, not with
#: every chunk. A few at most (a worker may serve several batches in turn).
_VERIFIERS: collections.OrderedDict[str, Verifier] = collections.OrderedDict()
_MAX_VERIFIERS = 4
_VERIFIERS_LOCK = threading.Lock()


def _register(key: str, verifier: Verifier) -> Verifier:
    with _VERIFIERS_LOCK:
        _VERIFIERS[key] = verifier
        _VERIFIERS.move_to_end(key)
        while len(_VERIFIERS) > _MAX_VERIFIERS:
            _VERIFIERS.popitem(last=False)
    return verifier


def _init_worker(key: str, verifier: Verifier) -> None:
    # The parent handles Ctrl-C and stops the pool; workers must not die mid-item on it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _register(key, verifier)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True,
                     name="provelio-parent-watch").start()


#: How often a worker looks whether the batch's process is still there (seconds).
PARENT_WATCH_SECONDS = 0.5


def _exit_with_parent(parent: int) -> None:
    """A worker whose parent was killed (``kill -9``, out of memory) would wait for work
    forever, holding the terminal's or a pipe's ends open: it leaves once it is orphaned
    (adopted by another process), at most ``PARENT_WATCH_SECONDS`` later."""
    while os.getppid() == parent:
        time.sleep(PARENT_WATCH_SECONDS)
    os._exit(1)


class _Shared:
    """The batch's Verifier as a chunk carries it: in this process the object itself;
    pickled, only its key (and, when the worker may not hold it yet, its pickled bytes,
    made once per version in the parent), so each worker unpickles it once per batch
    and keeps its caches from chunk to chunk."""

    def __init__(self, key: str, verifier: Verifier, blob: bytes | None) -> None:
        self.key = key
        self.verifier = verifier
        self.blob = blob

    def get(self) -> Verifier:
        return self.verifier

    def __reduce__(self) -> tuple[Any, ...]:
        return _resolve, (self.key, self.blob)


def _resolve(key: str, blob: bytes | None) -> _Shared:
    with _VERIFIERS_LOCK:
        verifier = _VERIFIERS.get(key)
    if verifier is None:
        if blob is None:
            raise RuntimeError(f"this worker holds no verifier for batch {key}")
        verifier = _register(key, pickle.loads(blob))  # noqa: S301 - our own parent's bytes
    # The bytes stay with the handle: an executor may unpickle a task where it is not
    # run (Dask's scheduler does) and pickle it again for the worker that runs it.
    return _Shared(key, verifier, blob)


def iter_batch(
    items: Iterable[BatchItem],
    verifier: Verifier,
    *,
    jobs: int = 1,
    executor: Executor | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    in_flight: int | None = None,
    full_reports: bool = True,
    lines: bool = False,
) -> Generator[ItemOutcome, None, None]:
    """The outcome of every item, in item order, as soon as it and those before it are
    done. Items are pulled from ``items`` only as work is sent out.

    Without ``executor``: in this process (``jobs`` 1) or in a pool of ``jobs`` worker
    processes made for the batch. With one (a process or thread pool, a cluster's
    executor…): chunks of ``chunk_size`` items are submitted to it as
    :func:`verify_chunk` calls, at most ``in_flight`` at a time (default: two per
    worker), and the Verifier goes to each worker once per batch, not per chunk. The
    executor is not shut down.

    Remote chain sources are asked here, in this process, about each anchor block
    before its first item is sent out, and workers get their answers: each block is
    asked about once per batch, not once per worker.
    """
    if executor is None and (jobs <= 1 or (isinstance(items, Sized) and len(items) <= 1)):
        for item in items:
            yield verify_item(item, verifier, full_report=full_reports, line=lines)
        return
    fanout = _Fanout(verifier, jobs, executor, chunk_size, in_flight, full_reports, lines)
    yield from fanout.run(items)


@dataclass
class _Chunk:
    items: list[BatchItem]
    #: Run with nothing else in flight (after a worker died: to find the item that
    #: kills it).
    alone: bool = False
    future: Future[list[ItemOutcome]] | None = None


class _Fanout:
    """Chunks out to an executor, outcomes back in order, a bounded number in flight."""

    def __init__(self, verifier: Verifier, jobs: int, executor: Executor | None,
                 chunk_size: int, in_flight: int | None, full_reports: bool,
                 lines: bool) -> None:
        self.verifier = verifier
        self.own = executor is None
        self.executor = executor
        # An executor says how many workers it has as ``max_workers`` (a cluster's) or
        # ``_max_workers`` (the standard library's pools); else this machine's cores.
        self.workers = max(1, jobs if executor is None else
                           getattr(executor, "max_workers", None)
                           or getattr(executor, "_max_workers", None) or os.cpu_count() or 1)
        self.chunk_size = max(1, chunk_size)
        self.in_flight = max(1, in_flight or 2 * self.workers)
        self.full_reports = full_reports
        self.lines = lines
        self.batch = uuid.uuid4().hex
        self.version = 0
        self.pool_key: str | None = None  # the version our own pool's workers were made with
        self.blob: bytes | None = None
        self.warm = any(source.remote for source in verifier.sources)
        self.blocks: set[tuple[str, bytes, int]] = set()

    @property
    def key(self) -> str:
        return f"{self.batch}.{self.version}"

    def run(self, items: Iterable[BatchItem]) -> Iterator[ItemOutcome]:
        chunks = self._chunks(items)
        pending: collections.deque[_Chunk] = collections.deque()
        try:
            while True:
                if not (pending and pending[0].alone):
                    while len(pending) < self.in_flight:
                        chunk = next(chunks, None)
                        if chunk is None:
                            break
                        pending.append(chunk)
                    for chunk in pending:
                        if chunk.future is None:
                            self._submit(chunk)
                if not pending:
                    return
                head = pending[0]
                if head.future is None:
                    self._submit(head)
                assert head.future is not None
                try:
                    outcomes = head.future.result()
                except BrokenProcessPool:
                    if not self.own:
                        raise
                    lost = self._isolate(pending)
                    if lost is not None:
                        yield lost
                    continue
                except Exception as exc:  # noqa: BLE001 - a chunk's task failed, not an item
                    # verify_chunk answers every item: what fails here is the executor's
                    # (a cluster gave up on a task whose workers kept dying, a result that
                    # could not travel). Own pool: a defect, raised. Another executor: the
                    # chunk again one item at a time; an item that fails alone is answered.
                    if self.own:
                        raise
                    lost = self._one_by_one(pending, exc)
                    if lost is not None:
                        yield lost
                    continue
                pending.popleft()
                yield from outcomes
        finally:
            for chunk in pending:
                if chunk.future is not None:
                    chunk.future.cancel()
            if self.own:
                self._stop(wait=not pending)

    def _isolate(self, pending: collections.deque[_Chunk]) -> ItemOutcome | None:
        """A worker died (killed, out of memory) and took the pool with it. Which item
        killed it is not known: every chunk in flight is run again alone, in a new pool;
        a chunk that kills its worker alone is run again one item at a time; an item
        that kills its worker alone is answered here, its report saying so. No item is
        lost or verified twice in the output."""
        self._stop(wait=False)
        head = pending[0]
        if not head.alone:
            for chunk in pending:
                chunk.alone, chunk.future = True, None
            return None
        pending.popleft()
        if len(head.items) == 1:
            return self._lost(head.items[0])
        pending.extendleft(reversed([_Chunk([item], alone=True) for item in head.items]))
        return None

    def _one_by_one(self, pending: collections.deque[_Chunk],
                    exc: Exception) -> ItemOutcome | None:
        head = pending.popleft()
        if len(head.items) > 1:
            pending.extendleft(reversed([_Chunk([item]) for item in head.items]))
            return None
        item = head.items[0]
        return self._lost(item, f"item {item.name} was not verified: the executor failed "
                                f"its task ({type(exc).__name__}: {exc}), also when it "
                                "was sent alone; verify it on its own "
                                "(provelio-verify FILE PROOF) to see why")

    def _chunks(self, items: Iterable[BatchItem]) -> Iterator[_Chunk]:
        size = FIRST_CHUNK_SIZE
        limit = self.chunk_size
        if isinstance(items, Sized):  # known length: every worker gets several chunks
            limit = min(limit, max(1, math.ceil(len(items) / (self.workers * 4))))
        stream = iter(items)
        for number in itertools.count(1):
            part = list(itertools.islice(stream, min(size, limit)))
            if not part:
                return
            if number % self.workers == 0:  # a round of like chunks, one per worker
                size *= 2
            if self.warm:
                self._warm_remote_sources(part)
            yield _Chunk(part)

    def _submit(self, chunk: _Chunk) -> None:
        if self.own and self.executor is None:
            self._start()
        assert self.executor is not None
        if self.own and self.key == self.pool_key:
            shared = _Shared(self.key, self.verifier, None)  # its workers hold this one
        else:
            if self.blob is None:
                self.blob = pickle.dumps(self.verifier)
            shared = _Shared(self.key, self.verifier, self.blob)
        try:
            chunk.future = self.executor.submit(verify_chunk, chunk.items, shared,
                                                full_report=self.full_reports,
                                                line=self.lines)
        except BrokenProcessPool as exc:
            # A worker died after the head chunk was sent and before its result said so:
            # this chunk's future fails the same way, and run() isolates as for the head.
            if not self.own:
                raise
            failed: Future[list[ItemOutcome]] = Future()
            failed.set_exception(exc)
            chunk.future = failed

    def _start(self) -> None:
        # fork: the workers start with the parent's Verifier as it is now, its chain
        # sources' answers included, without pickling it.
        self.pool_key = self.key
        self.executor = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("fork"),
            initializer=_init_worker, initargs=(self.pool_key, self.verifier))

    def _stop(self, *, wait: bool) -> None:
        pool = self.executor
        self.executor = None
        if not isinstance(pool, ProcessPoolExecutor):
            return
        if not wait:  # interrupted: stop the workers now, not after their chunks
            processes = getattr(pool, "_processes", None) or {}
            for process in list(processes.values()):
                with contextlib.suppress(Exception):
                    process.terminate()
        pool.shutdown(wait=wait, cancel_futures=True)

    def _lost(self, item: BatchItem, message: str | None = None) -> ItemOutcome:
        report = _internal_error(
            item, self.verifier, message or
            f"item {item.name} was not verified: the worker process verifying it died "
            "(killed, or out of memory), also when it was verified alone; verify it on "
            "its own (provelio-verify FILE PROOF) to see why", None)
        return _outcome(item, report, self.full_reports, self.lines)

    def _warm_remote_sources(self, items: Sequence[BatchItem]) -> None:
        """Before items go to workers (each with its own copy of the sources and their
        caches), verify here one item per anchor block not yet seen, so that every
        remote source is asked about each block once in the whole batch; chunks sent
        after that carry the sources' answers (a new version of the Verifier)."""
        changed = False
        for item in items:
            if item.proof is None:
                continue
            try:
                bundle = parse_bundle(read_at_most(item.proof, MAX_BUNDLE_BYTES))
            except Exception:  # noqa: BLE001 - whatever it is, the item's own report says it
                continue
            anchor = bundle.anchor
            if anchor is None or anchor.block is None:
                continue
            key = (anchor.network.value, anchor.block.hash, anchor.block.height)
            if key not in self.blocks:
                self.blocks.add(key)
                verify_item(item, self.verifier, full_report=False)
                changed = True
        if changed and self.executor is not None:  # a pool not started yet forks with them
            self.version += 1
            self.blob = None


def run_batch(
    items: Iterable[BatchItem],
    verifier: Verifier,
    *,
    jobs: int = 1,
    on_outcome: Callable[[ItemOutcome], None] = lambda outcome: None,
    summary: BatchSummary | None = None,
    full_reports: bool = True,
    lines: bool = False,
    executor: Executor | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    in_flight: int | None = None,
) -> BatchSummary:
    """Verify every item (see :func:`iter_batch` for ``jobs``, ``executor``,
    ``chunk_size`` and ``in_flight``), calling ``on_outcome`` in item order.
    ``full_reports=False`` skips rendering each report as JSON data (only verdicts are
    needed); ``lines=True`` has each report rendered as its JSON line where it is
    verified (:attr:`ItemOutcome.line`).

    ``items`` may be any iterable (a list, or :func:`~provelio_verify.batch.stream`'s
    items): the summary's ``total`` is its length when it has one, else the number of
    items read so far.

    ``KeyboardInterrupt`` stops the workers at once; the summary then has
    ``interrupted`` set and counts only what finished (``on_outcome`` already saw it).
    """
    summary = summary or BatchSummary()
    if isinstance(items, Sized):
        # Added to: a resumed batch's summary already counts the items read back.
        summary.total += len(items)
        summary.bytes_total += sum(item.size for item in items)
        source: Iterable[BatchItem] = items
        summary.discovered = True
    else:
        source = _counted(items, summary)
    guard = _CtrlC()
    try:
        with guard.installed():
            outcomes = iter_batch(source, verifier, jobs=jobs, executor=executor,
                                  chunk_size=chunk_size, in_flight=in_flight,
                                  full_reports=full_reports, lines=lines)
            try:
                for outcome in outcomes:
                    _deliver(outcome, summary, on_outcome, guard)
            finally:
                outcomes.close()  # stops the workers when interrupted
        summary.complete = True
    except KeyboardInterrupt:
        summary.interrupted = True
    return summary


def _counted(items: Iterable[BatchItem], summary: BatchSummary) -> Iterator[BatchItem]:
    for item in items:
        summary.total += 1
        summary.bytes_total += item.size
        yield item
    summary.discovered = True


def _deliver(outcome: ItemOutcome, summary: BatchSummary,
             on_outcome: Callable[[ItemOutcome], None], guard: _CtrlC) -> None:
    """Count an outcome and hand it on as one step that Ctrl-C cannot split: the summary
    of an interrupted batch then counts exactly the items whose output was written."""
    with guard.held():
        summary.add(outcome)
        on_outcome(outcome)


class _CtrlC:
    """While installed, Ctrl-C raises KeyboardInterrupt at once, except inside
    :meth:`held`, where it is raised as soon as the held step ends. (Python runs signal
    handlers in the main thread only, whatever thread the signal reached.)"""

    def __init__(self) -> None:
        self.holding = False
        self.pending = False

    def _handler(self, signum: int, frame: Any) -> None:
        if self.holding:
            self.pending = True
        else:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # only the main thread may set handlers; it also gets the signal
            return
        previous = signal.signal(signal.SIGINT, self._handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self.holding = True
        try:
            yield
        finally:
            self.holding = False
            if self.pending:
                self.pending = False
                raise KeyboardInterrupt
