"""The items of a batch audit: a folder of files beside their proofs, or a manifest."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .._json_bounds import loads_bounded
from ..errors import InputError
from ..inputs.files import read_bounded, regular_file_problem

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
    and notes for the summary (e.g. hidden files that were ignored).

    Raises:
        InputError: the source cannot be read, is of an unknown kind, or holds no item.
    """
    path = os.fspath(source)
    if os.path.isdir(path):
        items, notes = _discover_folder(path)
    elif os.path.isfile(path):
        items, notes = _discover_manifest(path)
    else:
        raise InputError(f"cannot read {path}: no such file or folder")
    if not items:
        raise InputError(f"{path}: no certificates found")
    return items, notes


def _discover_folder(root: str) -> tuple[list[BatchItem], list[str]]:
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
    items: list[BatchItem] = []
    for rel in sorted(files | {p[: -len(PROOF_SUFFIX)] for p in proofs}):
        proof_rel = rel + PROOF_SUFFIX
        file_path = os.path.join(root, rel) if rel in files else None
        proof_path = os.path.join(root, proof_rel) if proof_rel in proofs else None
        problem = None
        if file_path is None:
            problem = f"proof {proof_rel} has no file {rel} beside it"
        elif proof_path is None:
            problem = f"file {rel} has no proof {proof_rel} beside it"
        problem = problem or _not_regular(file_path, proof_path)
        items.append(BatchItem(len(items), rel, file_path, proof_path,
                               size=_size(file_path), problem=problem))
    notes = [f"{hidden} hidden file(s) (names starting with '.') ignored"] if hidden else []
    return items, notes


def _discover_manifest(path: str) -> tuple[list[BatchItem], list[str]]:
    lower = path.lower()
    data = read_bounded(path, MAX_MANIFEST_BYTES)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path}: manifest is not UTF-8") from None
    if lower.endswith(".csv"):
        rows = _csv_rows(text, path)
    elif lower.endswith((".jsonl", ".ndjson")):
        rows = _jsonl_rows(text)
    else:
        raise InputError(f"{path}: a batch source is a folder, a .csv or a .jsonl manifest")
    base = os.path.dirname(os.path.abspath(path))
    items: list[BatchItem] = []
    for line, row in rows:
        try:
            items.append(_manifest_item(len(items), line, row, base))
        except Exception as exc:  # noqa: BLE001 - one bad row is that row's problem
            items.append(BatchItem(len(items), f"line {line}", None, None,
                                   problem=f"manifest line {line} cannot be used "
                                           f"({type(exc).__name__}: {exc})"))
    return items, []


def _csv_rows(text: str, path: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if "proof" not in header or ("file" not in header and "digest" not in header):
        raise InputError(f"{path}: CSV header must name file (or digest) and proof columns, "
                         f"got {', '.join(header) or 'nothing'}")
    reader.fieldnames = header
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a field over csv's limit: this row only
            yield reader.line_num, f"not readable CSV: {exc}"
            continue
        if None in row:
            yield reader.line_num, "row has more fields than the header"
            continue
        yield reader.line_num, {k: (v or "").strip() for k, v in row.items()}


def _jsonl_rows(text: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    for number, line in enumerate(text.splitlines(), start=1):
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
