#!/usr/bin/env python3
"""Make the mainnet checkpoints shipped in the package from every checkpoint list given.

    python scripts/make_checkpoints.py            # rewrite the shipped file (see SHIPPED)
    python scripts/make_checkpoints.py --check    # exit 1 if the shipped file differs
    python scripts/make_checkpoints.py --out F LIST...   # from these lists, into F

Inputs (by default the three lists copied unchanged into tests/data/bitcoin/headers/,
see PROVENANCE.md there); each list's kind is read from its content:
- Electrum's checkpoints.json: for period p, [hash of block 2016p+2015, target for p+1]
  (Electrum 4.3.4's periods 0-370, and spesmilo/electrum @9ebabef3 of 2026-07-01's
  periods 0-472);
- bitcoinj's checkpoints: the header at height 2016k, whose previous-block hash is the
  last block of period k-1 and whose nBits is the target for period k.

Every list that covers a period must give exactly the same row, or the script refuses,
naming the period, both rows and both lists. Each bitcoinj header must meet its own
target, and each row's target must be one the retarget rule allows after the row
before it (at most four times higher or lower). The output lists [hash, nBits,
sources, [lists]] per period, from period 0 on, where ``sources`` counts the distinct
*projects* whose lists hold the row: two Electrum releases are one project's work,
copied forward from release to release, so they count once; Electrum and bitcoinj are
the independent sources. A row with ``sources`` 1 is vouched by one list only, and
``anchor.proof-of-work`` says so when it uses it.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from provelio_verify.core.anchor.bitcoin import (  # noqa: E402
    NETWORKS,
    RETARGET_INTERVAL,
    TARGET_TIMESPAN,
    BlockHeader,
    Network,
    decode_compact,
    encode_compact,
    retarget_bits,
)

DATA = REPO / "tests" / "data" / "bitcoin" / "headers"
ELECTRUM = DATA / "electrum_checkpoints.json"
ELECTRUM_2026 = DATA / "electrum_checkpoints_9ebabef3.json"
BITCOINJ = DATA / "bitcoinj_org.bitcoin.production.checkpoints.txt"
DEFAULT_LISTS = (ELECTRUM, ELECTRUM_2026, BITCOINJ)
SHIPPED = REPO / "src" / "provelio_verify" / "data" / "mainnet-checkpoints.json"
MAINNET = NETWORKS[Network.MAINNET]

#: The lists this repository keeps, by file name: (key, project, title). Any other file
#: is named after itself and counted with the project whose format it is in.
KNOWN = {
    ELECTRUM.name: ("electrum-4.3.4", "Electrum", "Electrum 4.3.4"),
    ELECTRUM_2026.name: ("electrum-2026-07-01", "Electrum", "Electrum 2026-07-01"),
    BITCOINJ.name: ("bitcoinj-13e137ec", "bitcoinj", "bitcoinj @13e137ec"),
}

Row = tuple[str, int]  # (hash of the period's last block, nBits for the next period)


@dataclass(frozen=True)
class SourceList:
    key: str
    project: str
    title: str
    rows: dict[int, Row]


def from_electrum(text: str) -> dict[int, Row]:
    rows = {}
    for index, (block_hash, target) in enumerate(json.loads(text)):
        bits = encode_compact(target)
        if decode_compact(bits) != target:
            raise SystemExit(f"electrum period {index}: target {target:x} has no exact nBits")
        rows[index] = (block_hash, bits)
    return rows


def from_bitcoinj(text: str) -> dict[int, Row]:
    lines = text.splitlines()
    if lines[0] != "TXT CHECKPOINTS 1":
        raise SystemExit("bitcoinj checkpoints: unknown format")
    count = int(lines[2])
    out: dict[int, Row] = {}
    for line in lines[3:3 + count]:
        raw = base64.b64decode(line)
        height = int.from_bytes(raw[12:16], "big")
        header = BlockHeader.parse(raw[16:96])
        if height % RETARGET_INTERVAL or header.hash_value > decode_compact(header.bits):
            raise SystemExit(f"bitcoinj checkpoint at {height}: not a valid period start")
        out[height // RETARGET_INTERVAL - 1] = (header.prev_hash[::-1].hex(), header.bits)
    return out


def read_list(path: Path) -> SourceList:
    text = path.read_text()
    if text.startswith("TXT CHECKPOINTS"):
        rows, project = from_bitcoinj(text), "bitcoinj"
    elif text.lstrip().startswith("["):
        rows, project = from_electrum(text), "Electrum"
    else:
        raise SystemExit(f"{path}: neither an Electrum nor a bitcoinj checkpoint list")
    key, known_project, title = KNOWN.get(
        path.name, (re.sub(r"[^a-z0-9.@-]+", "-", path.stem.lower()).strip("-"),
                    project, path.name))
    if known_project != project:
        raise SystemExit(f"{path}: expected a {known_project} list, found a {project} one")
    return SourceList(key, project, title, rows)


def _show(row: Row) -> str:
    return f"block {row[0]} and nBits {row[1]:08x}"


def merge(lists: Sequence[SourceList]) -> list[tuple[Row, list[SourceList]]]:
    """Per period from 0: the row and the lists that hold it. Refuses any disagreement,
    a period no list covers, and a target the retarget rule cannot reach."""
    if not lists:
        raise SystemExit("no checkpoint list given")
    keys = [entry.key for entry in lists]
    if len(set(keys)) != len(keys):
        raise SystemExit(f"a list is given twice: {keys}")
    periods = max(max(entry.rows, default=-1) for entry in lists) + 1
    merged = []
    previous_bits = BlockHeader.parse(MAINNET.genesis_header).bits
    for period in range(periods):
        holders = [entry for entry in lists if period in entry.rows]
        if not holders:
            raise SystemExit(f"period {period}: in no list")
        row = holders[0].rows[period]
        for other in holders[1:]:
            if other.rows[period] != row:
                raise SystemExit(
                    f"period {period}: {holders[0].title} says {_show(row)}, but "
                    f"{other.title} says {_show(other.rows[period])}")
        low = retarget_bits(MAINNET, last_bits=previous_bits, first_bits=previous_bits,
                            first_time=0, last_time=0)
        high = retarget_bits(MAINNET, last_bits=previous_bits, first_bits=previous_bits,
                             first_time=0, last_time=8 * TARGET_TIMESPAN)
        if not decode_compact(low) <= decode_compact(row[1]) <= decode_compact(high):
            raise SystemExit(
                f"period {period}: nBits {row[1]:08x} ({', '.join(h.title for h in holders)}) "
                f"is not reachable by one retarget from nBits {previous_bits:08x}")
        previous_bits = row[1]
        merged.append((row, holders))
    return merged


def build(paths: Sequence[Path] = DEFAULT_LISTS) -> bytes:
    lists = [read_list(Path(path)) for path in paths]
    merged = merge(lists)
    lines = []
    for (block_hash, bits), holders in merged:
        sources = len({entry.project for entry in holders})
        names = ", ".join(f'"{entry.key}"' for entry in holders)
        lines.append(f'    ["{block_hash}", "{bits:08x}", {sources}, [{names}]]')
    single = [p for p, (_, holders) in enumerate(merged)
              if len({entry.project for entry in holders}) == 1]
    spans = ", ".join(
        f"{entry.title} (periods {min(entry.rows)}-{max(entry.rows)})" for entry in lists)
    about = ("Mainnet checkpoints: row p is the hash of block 2016p+2015 (the last of period "
             "p) and the nBits in force for period p+1, then how many independent sources "
             "(projects: lists of one project count once) vouch for the row and which lists "
             "hold it. Made by scripts/make_checkpoints.py from " + spans + ", which agree "
             "wherever they cover a period. Rows vouched by one source only: "
             + (_ranges(single) or "none") + ".")
    described = ",\n".join(
        f'    "{entry.key}": {{"project": {json.dumps(entry.project)}, '
        f'"title": {json.dumps(entry.title)}}}' for entry in lists)
    body = ",\n".join(lines)
    text = (f'{{\n  "about": {json.dumps(about)},\n  "format": 2,\n  "network": "mainnet",\n'
            f'  "interval": {RETARGET_INTERVAL},\n  "lists": {{\n{described}\n  }},\n'
            f'  "checkpoints": [\n{body}\n  ]\n}}\n')
    return text.encode("ascii")


def _ranges(periods: Sequence[int]) -> str:
    spans: list[list[int]] = []
    for p in periods:
        if spans and spans[-1][1] == p - 1:
            spans[-1][1] = p
        else:
            spans.append([p, p])
    return ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in spans)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("lists", nargs="*", type=Path,
                        help="checkpoint lists (default: the three in tests/data)")
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument("--out", type=Path, default=SHIPPED,
                        help="the file to write or compare (default: the shipped one)")
    args = parser.parse_args()
    made = build(args.lists or DEFAULT_LISTS)
    if args.check:
        if not args.out.exists() or args.out.read_bytes() != made:
            print(f"{args.out} differs from what this script makes", file=sys.stderr)
            raise SystemExit(1)
        return
    args.out.write_bytes(made)


if __name__ == "__main__":
    main()
