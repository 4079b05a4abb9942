#!/usr/bin/env python3
"""Header-run validation speed, as a ratio against the floor any validator pays.

    python benchmarks/headers.py                  # 190,000 real mainnet headers
    python benchmarks/headers.py --repeat 5 --min-ratio 0.25

The floor is a pure double-SHA-256 loop over the same 80-byte headers, timed in the
same run: every validator must hash every header twice, so nothing validates faster.
The validation is the full one a headers file gets (linkage, proof-of-work, every
retarget, median time, versions, checkpoints). Each is timed ``--repeat`` times,
interleaved, and the best time of each is kept. Exit status 1 when the ratio of
validated headers per second to floor headers per second is below ``--min-ratio``.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from provelio_verify.bundle import Network  # noqa: E402
from provelio_verify.core.anchor.bitcoin import NETWORKS  # noqa: E402
from provelio_verify.core.anchor.headers import validate_run  # noqa: E402
from provelio_verify.inputs.checkpoints import mainnet_checkpoints  # noqa: E402

RUN = REPO / "tests" / "data" / "bitcoin" / "headers" / "mainnet_headers_150001_340000.bin"
FIRST_HEIGHT = 150001
#: The issue's floor: at least a quarter of the pure hashing speed.
MIN_RATIO = 0.25


def floor(data: bytes) -> None:
    sha256 = hashlib.sha256
    for offset in range(0, len(data), 80):
        sha256(sha256(data[offset:offset + 80]).digest()).digest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--min-ratio", type=float, default=MIN_RATIO)
    args = parser.parse_args()
    data = RUN.read_bytes()
    count = len(data) // 80
    params, checkpoints = NETWORKS[Network.MAINNET], mainnet_checkpoints()
    best_floor = best_validate = float("inf")
    for _ in range(args.repeat):
        started = time.perf_counter()
        floor(data)
        best_floor = min(best_floor, time.perf_counter() - started)
        started = time.perf_counter()
        run = validate_run(data, FIRST_HEIGHT, params, checkpoints)
        best_validate = min(best_validate, time.perf_counter() - started)
    assert run.count == count
    floor_rate, rate = count / best_floor, count / best_validate
    ratio = rate / floor_rate
    print(f"headers:            {count} (heights {FIRST_HEIGHT}-{run.tip_height}, "
          f"{run.retargets} retargets recomputed, {run.checkpoints_matched} checkpoints)")
    print(f"double-SHA-256 floor: {floor_rate:12,.0f} headers/s ({best_floor:.3f} s)")
    print(f"full validation:      {rate:12,.0f} headers/s ({best_validate:.3f} s)")
    print(f"ratio:                {ratio:.2f} of the floor (required: >= {args.min_ratio})")
    if ratio < args.min_ratio:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
