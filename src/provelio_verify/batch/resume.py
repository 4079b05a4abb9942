"""Resuming an interrupted batch from its ``--jsonl`` file.

A batch writes its JSON lines in item order, each flushed as it is written, so an
interrupted run (Ctrl-C, a killed process, a machine that went down) leaves a file that
is a prefix of the finished one, perhaps with a last line cut short. :func:`resume`
reads that prefix back: every complete line must be the report of the source's item at
its place (same index, name, file, proof, digest) made under the same policy, trust
anchors and tool version; the first line that is not complete, not JSON or not a report
ends the prefix, and everything from there on is verified again. The file is then cut
back to the prefix, so the finished file holds every item exactly once, in item order
(each line's ``item.index`` says its place).

What it cannot tell apart: chain sources are not part of a report's policy, so a batch
resumed with other ``--bitcoin-node``/``--esplora``/``--electrum``/``--headers`` options
than it began with mixes their answers; give the same ones. A line is believed as this
tool's own earlier output: to verify everything again, run without ``--resume``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .._version import __version__
from ..errors import InputError
from ..report import Indication
from ..verifier import Verifier
from ..verifier.assemble import policy_keys, trust_anchors
from .discover import BatchItem
from .run import BatchSummary, item_keys

#: Longest line read back (a report with every detail is far below it).
MAX_LINE_BYTES = 64 * 1024 * 1024


@dataclass
class Resumed:
    """Where a resumed batch starts."""

    #: Items already reported in the file (its first ``kept`` lines).
    kept: int
    #: Bytes of the file that were kept; whatever followed was cut off.
    kept_bytes: int
    #: Bytes cut off the end (a line cut short, or lines after one that was not a report).
    dropped_bytes: int
    #: The source's items not yet reported, in order (a list when the source was one).
    remaining: Iterable[BatchItem]
    #: The kept lines' reports, when asked for (an HTML or PDF report needs them all).
    reports: list[dict[str, Any]] | None = None
    #: The kept lines' name, indication and sub-indication, when asked for (``--json``).
    verdicts: list[dict[str, Any]] | None = None


def resume(path: str, items: Iterable[BatchItem], verifier: Verifier,
           summary: BatchSummary, *, keep_reports: bool = False,
           keep_verdicts: bool = False) -> Resumed:
    """Read back ``path`` (see the module docstring), count its kept lines into
    ``summary`` (total, bytes and verdicts, as if verified in this run) and cut the file
    back to them. A missing or empty file resumes nothing.

    Raises:
        InputError: the file cannot be read or cut, or a complete line is the report of
            another item, policy, set of trust anchors or tool version than this batch's.
    """
    expected = _run_keys(verifier)
    source: Iterator[BatchItem] = iter(items)
    kept = kept_bytes = 0
    reports: list[dict[str, Any]] | None = [] if keep_reports else None
    verdicts: list[dict[str, Any]] | None = [] if keep_verdicts else None
    try:
        handle = open(path, "r+b")  # noqa: SIM115 - closed below, after the cut
    except FileNotFoundError:
        return Resumed(0, 0, 0, items, reports, verdicts)
    except OSError as exc:
        raise InputError(f"cannot resume from {path}: {exc.strerror or exc}") from None
    with handle:
        size = os.fstat(handle.fileno()).st_size
        while True:
            raw = handle.readline(MAX_LINE_BYTES)
            data = _report_line(raw)
            if data is None:
                break
            item = next(source, None)
            if item is None:
                raise InputError(f"cannot resume from {path}: its line {kept + 1} reports an "
                                 f"item, but the batch has only {kept} item(s); it is not "
                                 "this batch's output (run without --resume to start over)")
            _same_run(path, kept + 1, data, item, expected)
            _count(summary, data, item)
            if reports is not None:
                reports.append(data)
            if verdicts is not None:
                verdicts.append({"name": item.name, "indication": data["indication"],
                                 "subIndication": data.get("subIndication")})
            kept += 1
            kept_bytes += len(raw)
        if kept_bytes < size:
            try:
                handle.truncate(kept_bytes)
            except OSError as exc:
                raise InputError(f"cannot resume from {path}: cutting it back to its "
                                 f"{kept} complete line(s) failed: {exc.strerror or exc}"
                                 ) from None
    remaining: Iterable[BatchItem] = items[kept:] if isinstance(items, Sequence) else source
    return Resumed(kept, kept_bytes, size - kept_bytes, remaining, reports, verdicts)


def _report_line(raw: bytes) -> dict[str, Any] | None:
    """A complete line holding a batch report, else ``None`` (the prefix ends there)."""
    if not raw.endswith(b"\n"):
        return None  # cut short (or too long to be ours)
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("item"), dict) \
            or data.get("indication") not in {i.value for i in Indication}:
        return None
    return data


def _run_keys(verifier: Verifier) -> dict[str, Any]:
    return {
        "tool version": __version__,
        "policy": policy_keys(verifier.policy),
        "trust anchors": [a["sha256"] for a in trust_anchors(verifier.policy.tsa_roots)],
    }


def _same_run(path: str, number: int, data: dict[str, Any], item: BatchItem,
              expected: dict[str, Any]) -> None:
    want = json.loads(json.dumps(item_keys(item)))  # as it was written
    if data["item"] != want:
        raise InputError(
            f"cannot resume from {path}: its line {number} reports item "
            f"{_brief(data['item'])}, but the batch's item {item.index} is {_brief(want)}; "
            "it is not this batch's output, or the source changed (run without --resume "
            "to start over)")
    tool = data.get("tool")
    found = {
        "tool version": tool.get("version") if isinstance(tool, dict) else None,
        "policy": data.get("policy"),
        "trust anchors": [a.get("sha256") for a in data.get("trustAnchors") or []
                          if isinstance(a, dict)],
    }
    for what, value in expected.items():
        if found[what] != value:
            raise InputError(
                f"cannot resume from {path}: its line {number} was made with {what} "
                f"{_brief(found[what])}, this run has {_brief(value)}; one file would mix "
                "two verifications (give the options it was made with, or run without "
                "--resume)")


def _count(summary: BatchSummary, data: dict[str, Any], item: BatchItem) -> None:
    checks = data.get("checks")
    failed = tuple(c.get("id") for c in checks if isinstance(c, dict)
                   and c.get("indication") == Indication.FAILED.value) \
        if isinstance(checks, list) else ()
    sub = data.get("subIndication")
    summary.count(Indication(data["indication"]), sub if isinstance(sub, str) else None,
                  tuple(str(c) for c in failed), item.size)
    summary.total += 1
    summary.bytes_total += item.size


def _brief(value: Any, limit: int = 200) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = ["MAX_LINE_BYTES", "Resumed", "resume"]
