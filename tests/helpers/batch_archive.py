"""Build a batch archive from the fixture scenarios: many items mixing every outcome.

Used by tests/test_batch.py and benchmarks/batch.py. Items are copies of the scenario
files under distinct names, so one set of batch options covers them all: the archive
is verified with ARCHIVE_OPTIONS, and each item's expected verdict is what a single
run with the same options gives.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

from helpers.common import SCENARIOS, manifest
from provelio_verify import Policy, Verifier, load_certificates
from provelio_verify.chain import HeadersFileSource

#: Options a batch over the archive uses (paths relative to the archive's parent).
ARCHIVE_ROOTS = "roots.pem"
ARCHIVE_HEADERS = "headers.bin"


def archive_verifier(target: Path, *, now: datetime) -> Verifier:
    """The Verifier a batch over the archive in ``target`` uses: its roots, test mode
    allowed, its headers file, one clock (so reports compare byte for byte)."""
    policy = Policy(tsa_roots=load_certificates(target / ARCHIVE_ROOTS),
                    allow_test_mode=True, now=now)
    return Verifier(policy, [HeadersFileSource(target / ARCHIVE_HEADERS)])


def build_archive(target: Path, count: int, *, with_missing: bool = True) -> list[dict]:
    """Write ``count`` items into ``target/archive`` (plus the shared roots and headers
    beside it); return one record per item: name, scenario, and what was left out."""
    archive = target / "archive"
    archive.mkdir(parents=True)
    cases = manifest()
    first = SCENARIOS / cases[0]["name"]
    shutil.copy(first / "roots.pem", target / ARCHIVE_ROOTS)
    headers = SCENARIOS / "ok-confirmed-regtest" / "headers.bin"  # not glob order: fixed
    shutil.copy(headers, target / ARCHIVE_HEADERS)
    records = []
    kinds = [c["name"] for c in cases]
    if with_missing:
        kinds += ["<missing-file>", "<missing-proof>"]
    for i in range(count):
        kind = kinds[i % len(kinds)]
        base = kinds[(i // len(kinds)) % len(cases)] if kind.startswith("<") else kind
        folder = SCENARIOS / base
        name = f"{i:05d}-{kind.strip('<>')}.txt"
        document = folder / "document.txt"
        if not document.exists():
            document = SCENARIOS / "ok-created" / "document.txt"
        if kind != "<missing-file>":
            shutil.copy(document, archive / name)
        if kind != "<missing-proof>":
            shutil.copy(folder / "proof.json", archive / f"{name}.proof.json")
        records.append({"name": name, "scenario": base, "kind": kind})
    return records


def write_manifest_csv(target: Path, records: list[dict]) -> Path:
    path = target / "manifest.csv"
    lines = ["file,proof"]
    for r in records:
        file = f"archive/{r['name']}" if r["kind"] != "<missing-file>" else ""
        proof = f"archive/{r['name']}.proof.json" if r["kind"] != "<missing-proof>" else ""
        lines.append(f"{file},{proof}")
    path.write_text("\n".join(lines) + "\n")
    return path


def write_manifest_jsonl(target: Path, records: list[dict]) -> Path:
    path = target / "manifest.jsonl"
    with open(path, "w") as out:
        for r in records:
            row = {"proof": f"archive/{r['name']}.proof.json"}
            if r["kind"] != "<missing-file>":
                row["file"] = f"archive/{r['name']}"
            out.write(json.dumps(row) + "\n")
    return path
