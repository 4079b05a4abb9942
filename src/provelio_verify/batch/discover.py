"""The items of a batch audit: a folder of files beside their proofs, or a manifest."""

from __future__ import annotations

import csv
import itertools
import json
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from .._json_bounds import loads_bounded
from ..errors import InputError
from ..inputs.files import open_regular, regular_file_problem

PROOF_SUFFIX = ".proof.json"
MANIFEST_COLUMNS = ("file", "proof", "digest")
#: Largest manifest read; a million rows fit easily.
MAX_MANIFEST_BYTES = 512 * 1024 * 1024
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class BatchItem:
    """One certificate to verify. ``problem`` says why it cannot be verified in full
    (a proof without its file, a file without a proof, a bad manifest row)."""

    index: int
    name: str
    file: str | None
    proof: str | None
    digest: str | None = None
    size: int = 0
    problem: str | None = None



def discover(source: str | os.PathLike[str]) -> tuple[list[BatchItem], list[str]]:
    """The items of a batch: a folder (each ``NAME`` beside ``NAME.proof.json``) or a
    manifest (``.csv`` or ``.jsonl``/``.ndjson`` with ``file``, ``proof``, optional
    ``digest``; relative paths are relative to the manifest's folder).

    Returns the items, sorted by name for a folder and in row order for a manifest,
    and notes for the summary (e.g. hidden files that were ignored). :func:`stream`
    gives the same items one at a time.

    Raises:
        InputError: the source cannot be read, is of an unknown kind, or holds no item.
    """
    items, notes = stream(source)
    return list(items), notes


def stream(source: str | os.PathLike[str]) -> tuple[Iterator[BatchItem], list[str]]:
    """As :func:`discover`, the items made one at a time as they are read: a manifest
    is read a line at a time, so a batch over a million rows starts at once and holds
    only the items in work. A folder's names are listed (and sorted) first; each item
    is then made, its files examined, when it is reached.

    The source is opened and its first item read before this returns, so what
    :func:`discover` refuses is refused here too. Past the first item, a fault of the
    manifest (a line that is not UTF-8, the size limit reached) is the item of that
    line: its report says what was wrong.

    Raises:
        InputError: the source cannot be read, is of an unknown kind, or holds no item.
    """
    path = os.fspath(source)
    if os.path.isdir(path):
        items, notes = _discover_folder(path)
    elif os.path.isfile(path):
        items, notes = _discover_manifest(path), []
    else:
        raise InputError(f"cannot read {path}: no such file or folder")
    first = next(items, None)
    if first is None:
        raise InputError(f"{path}: no certificates found")
    return itertools.chain((first,), items), notes


def _discover_folder(root: str) -> tuple[Iterator[BatchItem], list[str]]:
    files: set[str] = set()
    proofs: set[str] = set()
    hidden = 0
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in names:
            if name.startswith("."):
                hidden += 1
                continue
            rel = os.path.relpath(os.path.join(folder, name), root)
            (proofs if name.endswith(PROOF_SUFFIX) else files).add(rel)
    names = sorted(files | {p[: -len(PROOF_SUFFIX)] for p in proofs})
    notes = [f"{hidden} hidden file(s) (names starting with '.') ignored"] if hidden else []
    return _folder_items(root, names, files, proofs), notes


def _folder_items(root: str, names: list[str], files: set[str],
                  proofs: set[str]) -> Iterator[BatchItem]:
    for index, rel in enumerate(names):
        proof_rel = rel + PROOF_SUFFIX
        file_path = os.path.join(root, rel) if rel in files else None
        proof_path = os.path.join(root, proof_rel) if proof_rel in proofs else None
        problem = None
        if file_path is None:
            problem = f"proof {proof_rel} has no file {rel} beside it"
        elif proof_path is None:
            problem = f"file {rel} has no proof {proof_rel} beside it"
        problem = problem or _not_regular(file_path, proof_path)
        yield BatchItem(index, rel, file_path, proof_path, size=_size(file_path),
                        problem=problem)


def _discover_manifest(path: str) -> Iterator[BatchItem]:
    lower = path.lower()
    if not lower.endswith((".csv", ".jsonl", ".ndjson")):
        raise InputError(f"{path}: a batch source is a folder, a .csv or a .jsonl manifest")
    stream = open_regular(path)
    try:
        lines = _text_lines(stream, path)
        rows = _csv_rows(lines, path) if lower.endswith(".csv") else _jsonl_rows(lines)
        first = next(rows, None)  # the header and the first row: faults here are the source's
    except BaseException:
        stream.close()
        raise
    return _manifest_items(stream, first, rows, os.path.dirname(os.path.abspath(path)))


def _manifest_items(stream: BinaryIO, first: tuple[int, dict[str, Any] | str] | None,
                    rows: Iterator[tuple[int, dict[str, Any] | str]],
                    base: str) -> Iterator[BatchItem]:
    with stream:
        found = itertools.chain(() if first is None else (first,), rows)
        for index, (line, row) in enumerate(found):
            try:
                item = _manifest_item(index, line, row, base)
            except Exception as exc:  # noqa: BLE001 - one bad row is that row's problem
                item = BatchItem(index, f"line {line}", None, None,
                                 problem=f"manifest line {line} cannot be used "
                                         f"({type(exc).__name__}: {exc})")
            yield item


class _NotText(Exception):
    """A manifest line that is not UTF-8, or the line where the size limit was reached
    (``last``: nothing after it is read)."""

    def __init__(self, line: int, reason: str, *, last: bool = False) -> None:
        super().__init__(reason)
        self.line = line
        self.last = last


def _text_lines(stream: BinaryIO, path: str) -> Iterator[str | _NotText]:
    """The manifest's lines as text, ends kept (as ``io.StringIO`` iterates them); a
    line that is not UTF-8 comes as a :class:`_NotText` for that line only. Reading
    stops at MAX_MANIFEST_BYTES (a last :class:`_NotText` says so).

    Raises:
        InputError: the first line is not UTF-8.
    """
    read = 0
    for number, raw in enumerate(stream, start=1):
        read += len(raw)
        if read > MAX_MANIFEST_BYTES:
            yield _NotText(number, f"the manifest is over {MAX_MANIFEST_BYTES} bytes: this "
                                   "line and the rest are not read", last=True)
            return
        try:
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            if number == 1:
                raise InputError(f"{path}: manifest is not UTF-8") from None
            yield _NotText(number, "not UTF-8")


class _Lines:
    """The text lines for csv's reader, a faulty line raised from ``__next__`` (csv
    passes it through; unlike a generator, this iterator goes on after it)."""

    def __init__(self, lines: Iterator[str | _NotText]) -> None:
        self._lines = lines
        self.skipped = 0  # lines raised, which csv's line_num does not count

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        if isinstance(line, _NotText):
            self.skipped += 1
            raise line
        return line


def _csv_rows(lines: Iterator[str | _NotText],
              path: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    text = _Lines(lines)
    reader = csv.DictReader(text)
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except _NotText as fault:
        raise InputError(f"{path}: manifest line {fault.line}: {fault}") from None
    if "proof" not in header or ("file" not in header and "digest" not in header):
        raise InputError(f"{path}: CSV header must name file (or digest) and proof columns, "
                         f"got {', '.join(header) or 'nothing'}")
    reader.fieldnames = header
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except _NotText as fault:  # the line the text could not give: that row only
            yield fault.line, str(fault)
            if fault.last:
                return
            continue
        except csv.Error as exc:  # e.g. a field over csv's limit: this row only
            yield reader.line_num + text.skipped, f"not readable CSV: {exc}"
            continue
        if None in row:
            yield reader.line_num + text.skipped, "row has more fields than the header"
            continue
        yield reader.line_num + text.skipped, {k: (v or "").strip() for k, v in row.items()}


def _jsonl_rows(lines: Iterator[str | _NotText]) -> Iterator[tuple[int, dict[str, Any] | str]]:
    number = 0
    for text in lines:
        if isinstance(text, _NotText):
            number += 1
            yield number, str(text)
            continue
        # As str.splitlines over the whole text: other line breaks split a line too.
        for line in text.splitlines():
            number += 1
            if not line.strip():
                continue
            try:
                row = loads_bounded(line)
            except json.JSONDecodeError as exc:
                yield number, f"not JSON: {exc.msg}"
                continue
            except (ValueError, RecursionError) as exc:  # too many digits, too deep: this row
                yield number, f"not readable JSON: {exc}"
                continue
            yield number, row if isinstance(row, dict) else "not a JSON object"


def _manifest_item(index: int, line: int, row: dict[str, Any] | str,
                   base: str) -> BatchItem:
    name = f"line {line}"
    if isinstance(row, str):
        return BatchItem(index, name, None, None, problem=f"manifest {name}: {row}")
    values = {}
    for key in MANIFEST_COLUMNS:
        value = row.get(key)
        if value is not None and not isinstance(value, str):
            return BatchItem(index, name, None, None,
                             problem=f"manifest {name}: {key} must be a string")
        values[key] = value or None
    file_rel, proof_rel, digest = values["file"], values["proof"], values["digest"]
    name = file_rel or proof_rel or name
    file_path = os.path.join(base, file_rel) if file_rel else None
    proof_path = os.path.join(base, proof_rel) if proof_rel else None
    problem = None
    if digest is not None and not _HEX64.fullmatch(digest):
        problem = f"manifest line {line}: digest is not 64 hex characters"
        digest = None
    elif proof_path is None:
        problem = f"manifest line {line}: no proof given"
    elif file_path is None and digest is None:
        problem = f"manifest line {line}: neither file nor digest given"
    problem = problem or _not_regular(file_path, proof_path)
    return BatchItem(index, name, file_path, proof_path, digest=digest,
                     size=_size(file_path), problem=problem)


def _not_regular(*paths: str | None) -> str | None:
    """Why an item cannot be read at all: a path of it is a FIFO, a device, a socket or
    a folder (its verification then reports the same, without opening it)."""
    for path in paths:
        problem = regular_file_problem(path) if path is not None else None
        if problem is not None:
            return problem
    return None


def _size(path: str | None) -> int:
    """A regular file's size, for progress (0 for anything else)."""
    if path is None:
        return 0
    try:
        info = os.stat(path)
    except (OSError, ValueError):  # ValueError: a NUL in a manifest's path
        return 0
    return info.st_size if stat.S_ISREG(info.st_mode) else 0
