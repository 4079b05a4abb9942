"""Batch output for the command line: a line per item, progress, the summary table."""

from __future__ import annotations

import io
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from typing import IO, Any

import click

from .._text import printable
from ..batch import DEFAULT_CHUNK_SIZE, BatchItem, BatchSummary, ItemOutcome, run_batch
from ..report import CHECK_IDS, Indication
from ..verifier import Verifier

_COLOURS = {"PASSED": "green", "FAILED": "red", "INDETERMINATE": "yellow"}
#: Longest message shown on an item's line; the full report is in --jsonl / --html.
MESSAGE_WIDTH = 160


class Progress:
    """Items and bytes done, rate and ETA, redrawn on one stderr line: only on a terminal
    that can erase a line (see :func:`progress_wanted`), so a file or a pipe never gets
    its control sequences."""

    def __init__(self, stream: IO[str], enabled: bool, clock: Any = time.monotonic,
                 base: int = 0) -> None:
        self.stream = stream
        #: Items counted before this run started (a resumed batch's): not in the rate.
        self.base = base
        self.enabled = enabled
        self.clock = clock
        self.started: float = clock()
        self.last = 0.0
        self.shown = False

    def update(self, summary: BatchSummary, *, force: bool = False) -> None:
        elapsed = self._due(force)
        if elapsed is not None:
            self._draw(self.line(summary, elapsed, self.base))

    def count(self, label: str, done: int, total: int, *, as_bytes: bool = False,
              force: bool = False) -> None:
        """One task's progress under ``label`` (a single run hashing a large file, in
        bytes; ``--sync-headers``, in headers), drawn as a batch's is."""
        elapsed = self._due(force)
        if elapsed is not None:
            self._draw(self.count_line(label, done, total, elapsed, as_bytes))

    def _due(self, force: bool) -> float | None:
        """The time since the start when a line is to be drawn now (enabled, and
        forced or a tenth of a second after the last), else None."""
        if not self.enabled:
            return None
        now: float = self.clock()
        if not force and now - self.last < 0.1:
            return None
        self.last = now
        return now - self.started

    def _draw(self, text: str) -> None:
        self.stream.write("\r\x1b[K" + text)
        self.stream.flush()
        self.shown = True

    @staticmethod
    def line(summary: BatchSummary, elapsed: float, base: int = 0) -> str:
        rate = (summary.done - base) / elapsed if elapsed > 0 else 0.0
        if not summary.discovered:
            # A streamed source's length is not known until its end is read: the count
            # so far, and no percentage or ETA that would be a guess.
            return (f"[{summary.done}/{summary.total}+]  {_size(summary.bytes_done)}  "
                    f"{rate:,.0f} items/s  (still reading the item list)")
        remaining = summary.total - summary.done
        if summary.bytes_total and summary.bytes_done:
            # Bytes dominate when files are large; items when they are small.
            byte_rate = summary.bytes_done / elapsed
            eta = max(remaining / rate if rate else 0.0,
                      (summary.bytes_total - summary.bytes_done) / byte_rate)
        else:
            eta = remaining / rate if rate else 0.0
        pct = 100.0 * summary.done / summary.total if summary.total else 100.0
        return (f"[{summary.done}/{summary.total}] {pct:5.1f}%  "
                f"{_size(summary.bytes_done)}/{_size(summary.bytes_total)}  "
                f"{rate:,.0f} items/s  ETA {_duration(eta)}")

    @staticmethod
    def count_line(label: str, done: int, total: int, elapsed: float,
                   as_bytes: bool = False) -> str:
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / rate if rate else 0.0
        pct = 100.0 * done / total if total else 100.0
        if as_bytes:
            amounts = f"{_size(done)}/{_size(total)}  {_size(int(rate))}/s"
        else:
            amounts = f"{done:,}/{total:,}  {rate:,.0f}/s"
        return f"{label}  {pct:5.1f}%  {amounts}  ETA {_duration(eta)}"

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def progress_wanted(stream: IO[str]) -> bool:
    """Progress is drawn on a terminal only, and not on one that cannot erase a line
    (``TERM=dumb``, as Emacs' shell sets)."""
    return stream.isatty() and os.environ.get("TERM") != "dumb"


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"  # pragma: no cover


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def item_line(outcome: ItemOutcome, color: bool) -> str:
    label = f"{outcome.indication.value:<13}"
    if color:
        label = click.style(label, fg=_COLOURS[outcome.indication.value])
    text = f"{label} {printable(outcome.item.name)}"
    if outcome.deciding:
        check_id, message = outcome.deciding
        reason = f"[{outcome.sub_indication}] {check_id}: {printable(message)}"
        if len(reason) > MESSAGE_WIDTH:
            reason = reason[: MESSAGE_WIDTH - 1] + "…"
        text += f"  {reason}"
    return text


def summary_table(summary: BatchSummary) -> str:
    lines = ["", f"summary: {summary.done} of {summary.total} item(s) verified"
             + (" (interrupted)" if summary.interrupted else "")]
    for indication in Indication:
        lines.append(f"  {indication.value:<13} {summary.by_indication[indication.value]:>8}")
    if summary.by_failed_check:
        lines.append("failing checks:")
        for check_id in CHECK_IDS:
            if summary.by_failed_check[check_id]:
                lines.append(f"  {check_id:<30} {summary.by_failed_check[check_id]:>8}")
    if summary.by_sub_indication:
        lines.append("reasons (sub-indications):")
        for sub, count in sorted(summary.by_sub_indication.items()):
            lines.append(f"  {sub:<30} {count:>8}")
    lines.extend(f"note: {printable(note)}" for note in summary.notes)
    worst = summary.worst()
    lines.append(f"BATCH VERDICT: {worst.value}")
    return "\n".join(lines)


def run(
    items: Iterable[BatchItem],
    notes: list[str],
    verifier: Verifier,
    *,
    jobs: int,
    jsonl: IO[str] | IO[bytes] | None,
    as_json: bool,
    color: bool,
    reports: list[dict[str, Any]] | None = None,
    executor: Executor | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    quiet: bool = False,
    summary: BatchSummary | None = None,
    previous: Iterable[dict[str, Any]] | None = None,
) -> BatchSummary:
    """Run the batch, printing as items finish; return the summary.

    ``items`` may be a list or a stream (:func:`provelio_verify.batch.stream`): output
    starts with the first items, whatever the source's length. With ``jsonl`` each
    worker renders its items' JSON lines, and this process only writes their bytes
    (to a binary stream, or to a text stream's buffer). ``quiet``: only the lines of
    items that did not PASS, no progress and no summary (the exit status tells the
    batch's verdict). ``summary``: one that already counts items (a resumed batch's),
    and ``previous`` their entries for ``as_json``'s item list.
    """
    counted = summary if summary is not None else BatchSummary(notes=list(notes))
    progress = Progress(sys.stderr, enabled=not quiet and progress_wanted(sys.stderr),
                        base=counted.done)
    short: list[dict[str, Any]] = list(previous or ())
    write = _line_writer(jsonl) if jsonl is not None else None

    def on_outcome(outcome: ItemOutcome) -> None:
        if write is not None:
            assert outcome.line is not None
            write(outcome.line)  # flushed: an interrupted batch keeps every line written
        if reports is not None:
            reports.append(outcome.report)
        if as_json:
            short.append({"name": outcome.item.name, "indication": outcome.indication.value,
                          "subIndication": outcome.sub_indication})
        elif quiet:
            if outcome.indication is not Indication.PASSED:
                click.echo(item_line(outcome, color), color=color)
        else:
            progress.clear()
            click.echo(item_line(outcome, color), color=color)
        progress.update(counted)

    summary = run_batch(items, verifier, jobs=jobs, on_outcome=on_outcome, summary=counted,
                        full_reports=reports is not None, lines=jsonl is not None,
                        executor=executor, chunk_size=chunk_size)
    progress.update(summary, force=True)
    progress.clear()
    if as_json:
        click.echo(json.dumps({"summary": summary.to_dict(), "items": short}, indent=2))
    elif not quiet:
        click.echo(summary_table(summary), color=color)
    return summary


def _line_writer(stream: IO[str] | IO[bytes]) -> Callable[[bytes], None]:
    """A function writing one finished line's bytes and flushing them."""
    if isinstance(stream, io.TextIOBase):
        buffer = getattr(stream, "buffer", None)
        if buffer is None:  # a text stream without bytes beneath (io.StringIO)
            text = stream

            def write_text(line: bytes) -> None:
                text.write(line.decode("utf-8"))
                text.flush()

            return write_text
        stream.flush()  # nothing of the text layer may follow the bytes written below
        raw: IO[bytes] = buffer
    else:
        raw = stream  # type: ignore[assignment]

    def write(line: bytes) -> None:
        raw.write(line)
        raw.flush()

    return write
