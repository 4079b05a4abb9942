#!/usr/bin/env python3
"""SHA-256 throughput of provelio-verify against `openssl dgst -sha256`, same file, same run.

    python benchmarks/hash_throughput.py                 # 1 GiB file, best of 3, + 4 GiB RSS check
    python benchmarks/hash_throughput.py --size-mib 256 --rss-gib 0   # quicker

The file is read once first so both sides hash from a warm page cache; each side's
best of --repeat runs is kept. Target: ratio (ours / openssl) >= 0.90.

Memory: runs the real `provelio-verify` command on a --rss-gib file (sparse, so it
costs no disk) and reports the child's peak resident set size. Target: < 100 MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from provelio_verify.inputs.subject import open_subject

MIB = 1024 * 1024


def _make_file(path: Path, size: int) -> None:
    block = os.urandom(MIB)
    with open(path, "wb") as out:
        for i in range(size // MIB):
            # Vary each block cheaply so the content is not one repeated pattern.
            out.write(i.to_bytes(8, "little") + block[8:])


def _warm(path: Path) -> None:
    with open(path, "rb") as stream:
        while stream.read(8 * MIB):
            pass


def _best(fn, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def _openssl(path: Path) -> str:
    out = subprocess.run(["openssl", "dgst", "-sha256", "-r", str(path)], check=True,
                         capture_output=True, text=True).stdout
    return out.split()[0]


def _ours(path: Path) -> str:
    return open_subject(path).sha256.hex()


def _peak_rss_of_cli(path: Path, tmp: Path) -> int:
    proof = tmp / "proof.json"
    proof.write_text(json.dumps({
        "type": "provelio-proof", "version": 1,
        "certificate": {"sha256Hash": "00" * 32, "status": "created", "testMode": False},
        "timestamp": {"type": "rfc3161", "token": ""},
    }))
    proc = subprocess.Popen([sys.executable, "-m", "provelio_verify", str(path), str(proof),
                             "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    report = json.loads(proc.stdout.read() if proc.stdout else b"{}")
    if report.get("subject", {}).get("size") != path.stat().st_size:
        raise SystemExit(f"the CLI did not read the whole file: {report.get('subject')}")
    return usage.ru_maxrss * 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rss-gib", type=int, default=4, help="0 skips the memory figure")
    parser.add_argument("--dir", type=Path, default=None, help="where to put the test files")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="provelio-bench-", dir=args.dir) as tmp_name:
        tmp = Path(tmp_name)
        data = tmp / "data.bin"
        size = args.size_mib * MIB
        _make_file(data, size)
        _warm(data)
        t_openssl, d_openssl = _best(lambda: _openssl(data), args.repeat)
        t_ours, d_ours = _best(lambda: _ours(data), args.repeat)
        if d_openssl != d_ours:
            raise SystemExit(f"digests differ: openssl {d_openssl}, ours {d_ours}")
        ratio = t_openssl / t_ours
        print(f"file: {args.size_mib} MiB, warm cache, best of {args.repeat}")
        print(f"openssl dgst -sha256 : {size / MIB / t_openssl:8.1f} MiB/s")
        print(f"provelio-verify      : {size / MIB / t_ours:8.1f} MiB/s")
        print(f"ratio ours/openssl   : {ratio:.3f}  (target >= 0.90: "
              f"{'met' if ratio >= 0.90 else 'NOT met'})")
        data.unlink()
        if args.rss_gib:
            big = tmp / "big.bin"
            with open(big, "wb") as out:
                out.truncate(args.rss_gib * 1024 * MIB)  # sparse: no disk used
            rss = _peak_rss_of_cli(big, tmp)
            verdict = "met" if rss < 100 * MIB else "NOT met"
            print(f"peak RSS of provelio-verify on a {args.rss_gib} GiB file: "
                  f"{rss / MIB:.1f} MiB  (target < 100 MiB: {verdict})")


if __name__ == "__main__":
    main()
