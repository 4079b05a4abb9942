#!/usr/bin/env python3
"""Make the mainnet checkpoints shipped in the package from two independent lists.

    python scripts/make_checkpoints.py            # rewrite the shipped file (see SHIPPED)
    python scripts/make_checkpoints.py --check    # exit 1 if the shipped file differs

Inputs (copied unchanged into tests/data/bitcoin/headers/, see PROVENANCE.md there):
- Electrum's checkpoints.json: for period p, [hash of block 2016p+2015, target for p+1];
- bitcoinj's checkpoints: the header at height 2016k, whose previous-block hash is the
  last block of period k-1 and whose nBits is the target for period k.
Where both lists cover a period they must agree exactly; each bitcoinj header must meet
its own target. The output lists [hash, nBits] per period, from period 0 on.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from provelio_verify.core.anchor.bitcoin import (  # noqa: E402
    RETARGET_INTERVAL,
    BlockHeader,
    decode_compact,
    encode_compact,
)

DATA = REPO / "tests" / "data" / "bitcoin" / "headers"
ELECTRUM = DATA / "electrum_checkpoints.json"
BITCOINJ = DATA / "bitcoinj_org.bitcoin.production.checkpoints.txt"
SHIPPED = REPO / "src" / "provelio_verify" / "data" / "mainnet-checkpoints.json"


def from_electrum(text: str) -> list[tuple[str, int]]:
    rows = []
    for index, (block_hash, target) in enumerate(json.loads(text)):
        bits = encode_compact(target)
        if decode_compact(bits) != target:
            raise SystemExit(f"electrum period {index}: target {target:x} has no exact nBits")
        rows.append((block_hash, bits))
    return rows


def from_bitcoinj(text: str) -> dict[int, tuple[str, int]]:
    lines = text.splitlines()
    if lines[0] != "TXT CHECKPOINTS 1":
        raise SystemExit("bitcoinj checkpoints: unknown format")
    count = int(lines[2])
    out: dict[int, tuple[str, int]] = {}
    for line in lines[3:3 + count]:
        raw = base64.b64decode(line)
        height = int.from_bytes(raw[12:16], "big")
        header = BlockHeader.parse(raw[16:96])
        if height % RETARGET_INTERVAL or header.hash_value > decode_compact(header.bits):
            raise SystemExit(f"bitcoinj checkpoint at {height}: not a valid period start")
        out[height // RETARGET_INTERVAL - 1] = (header.prev_hash[::-1].hex(), header.bits)
    return out


def build() -> bytes:
    electrum = from_electrum(ELECTRUM.read_text())
    bitcoinj = from_bitcoinj(BITCOINJ.read_text())
    periods = max(len(electrum), max(bitcoinj) + 1)
    rows = []
    for period in range(periods):
        a = electrum[period] if period < len(electrum) else None
        b = bitcoinj.get(period)
        if a is not None and b is not None and a != b:
            raise SystemExit(f"period {period}: electrum says {a}, bitcoinj says {b}")
        row = a or b
        if row is None:
            raise SystemExit(f"period {period}: in neither list")
        rows.append(row)
    body = ",\n".join(f'    ["{h}", "{bits:08x}"]' for h, bits in rows)
    about = ("Mainnet checkpoints: row p is the hash of block 2016p+2015 (the last of period "
             "p) and the nBits in force for period p+1. Made by scripts/make_checkpoints.py "
             f"from Electrum 4.3.4's checkpoints.json (periods 0-{len(electrum) - 1}) and "
             f"bitcoinj's checkpoints (periods 0-{max(bitcoinj)}), which agree wherever both "
             "cover a period.")
    text = (f'{{\n  "about": {json.dumps(about)},\n  "network": "mainnet",\n'
            f'  "interval": {RETARGET_INTERVAL},\n  "checkpoints": [\n{body}\n  ]\n}}\n')
    return text.encode("ascii")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    made = build()
    if args.check:
        if not SHIPPED.exists() or SHIPPED.read_bytes() != made:
            print(f"{SHIPPED} differs from what this script makes", file=sys.stderr)
            raise SystemExit(1)
        return
    SHIPPED.write_bytes(made)


if __name__ == "__main__":
    main()
