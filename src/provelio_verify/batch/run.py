"""Batch audits: many certificates, verified in parallel, each exactly as a single run.

The per-item work, :func:`verify_item`, is a pure, picklable function of an item and
a :class:`~provelio_verify.verifier.Verifier`: the same engine can run items in this
process, in a pool of processes (``jobs``), or on any executor that can pickle them.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
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

__all__ = ["BatchItem", "BatchSummary", "ItemOutcome", "discover", "run_batch",
           "verify_item"]


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

    def add(self, outcome: ItemOutcome) -> None:
        self.done += 1
        self.bytes_done += outcome.item.size
        self.by_indication[outcome.indication.value] += 1
        if outcome.sub_indication:
            self.by_sub_indication[outcome.sub_indication] += 1
        self.by_failed_check.update(outcome.failed_checks)

    def worst(self) -> Indication:
        if self.interrupted and self.done < self.total:
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


def verify_item(item: BatchItem, verifier: Verifier, *, full_report: bool = True) -> ItemOutcome:
    """Verify one item exactly as a single run would; a missing or unreadable file or
    proof becomes part of the item's report, never an exception. Without
    ``full_report`` the outcome carries the verdict but not the rendered report (a
    batch that writes no report need not render one).

    Whatever else goes wrong with the item (a defect raising an unexpected exception,
    in verifying or in rendering its report) becomes its report too: INDETERMINATE /
    INTERNAL_ERROR. One item can never stop a batch.
    """
    try:
        return _outcome(item, _report_for(item, verifier), full_report)
    except Exception as exc:  # noqa: BLE001 - the one place a batch item's defect is caught
        return _outcome(item, _internal_error(item, verifier, exc), full_report)


def _outcome(item: BatchItem, report: Report, full_report: bool) -> ItemOutcome:
    if full_report:
        data = report.to_dict()
    else:
        data = {"indication": report.indication.value,
                "subIndication": report.sub_indication.value if report.sub_indication
                else None}
    data["item"] = {"index": item.index, "name": item.name, "file": item.file,
                    "proof": item.proof, "digest": item.digest, "problem": item.problem}
    deciding = report.deciding_check()
    return ItemOutcome(
        item=item,
        indication=report.indication,
        sub_indication=report.sub_indication.value if report.sub_indication else None,
        deciding=(deciding.id, deciding.message) if deciding is not None else None,
        failed_checks=tuple(c.id for c in report.checks if c.indication is Indication.FAILED),
        report=data,
    )


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


def _internal_error(item: BatchItem, verifier: Verifier, exc: Exception) -> Report:
    """The report of an item whose verification raised what no check catches (a defect
    of this tool): INDETERMINATE / INTERNAL_ERROR, with the traceback for ``-v``."""
    rec = Recorder()
    rec.results["bundle.format"] = CheckResult(
        "bundle.format", Indication.INDETERMINATE, SubIndication.INTERNAL_ERROR,
        f"internal error verifying item {item.name} ({type(exc).__name__}: {exc}); "
        "please report it with the item's files", {}, True,
        traceback=traceback.format_exc())
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

_WORKER: tuple[Verifier, bool] | None = None


def _init_worker(verifier: Verifier, full_reports: bool) -> None:
    global _WORKER  # noqa: PLW0603 - one verifier per worker process, set once
    # The parent handles Ctrl-C and stops the pool; workers must not die mid-item on it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER = (verifier, full_reports)


def _work(item: BatchItem) -> ItemOutcome:
    assert _WORKER is not None
    verifier, full_reports = _WORKER
    return verify_item(item, verifier, full_report=full_reports)


def run_batch(
    items: Sequence[BatchItem],
    verifier: Verifier,
    *,
    jobs: int = 1,
    on_outcome: Callable[[ItemOutcome], None] = lambda outcome: None,
    summary: BatchSummary | None = None,
    full_reports: bool = True,
) -> BatchSummary:
    """Verify every item, ``jobs`` at a time, calling ``on_outcome`` in item order.
    ``full_reports=False`` skips rendering each report (only verdicts are needed).

    ``KeyboardInterrupt`` stops the workers at once; the summary then has
    ``interrupted`` set and counts only what finished (``on_outcome`` already saw it).
    """
    summary = summary or BatchSummary()
    summary.total = len(items)
    summary.bytes_total = sum(item.size for item in items)
    guard = _CtrlC()
    try:
        with guard.installed():
            if jobs <= 1 or len(items) <= 1:
                for item in items:
                    _deliver(verify_item(item, verifier, full_report=full_reports), summary,
                             on_outcome, guard)
            else:
                _run_pool(items, verifier, jobs, on_outcome, summary, full_reports, guard)
    except KeyboardInterrupt:
        summary.interrupted = True
    return summary


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


def _warm_remote_sources(items: Sequence[BatchItem], verifier: Verifier) -> None:
    """Before the work fans out to processes (each with its own copy of the sources and
    their caches), verify here one item per anchor block, so that every remote source
    is asked about each block once in the whole batch, not once per worker."""
    if not any(source.remote for source in verifier.sources):
        return
    seen: set[tuple[str, bytes, int]] = set()
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
        if key not in seen:
            seen.add(key)
            verify_item(item, verifier, full_report=False)


def _run_pool(items: Sequence[BatchItem], verifier: Verifier, jobs: int,
              on_outcome: Callable[[ItemOutcome], None], summary: BatchSummary,
              full_reports: bool, guard: _CtrlC) -> None:
    _warm_remote_sources(items, verifier)
    # Chunks amortise the pickling of items and outcomes; small enough to keep both
    # processes busy to the end and the output flowing.
    chunk = max(1, min(64, len(items) // (jobs * 8)))
    pool = multiprocessing.get_context("fork").Pool(
        processes=jobs, initializer=_init_worker, initargs=(verifier, full_reports))
    try:
        for outcome in pool.imap(_work, items, chunksize=chunk):
            _deliver(outcome, summary, on_outcome, guard)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
