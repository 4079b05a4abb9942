#!/usr/bin/env python3
"""A batch on a Dask cluster against the local process pool, same items, one run.

    python benchmarks/on_dask.py                  # 10,000 certificates, 2 workers
    python benchmarks/on_dask.py --items 2000 --workers 2 --chunk-size 500

The certificates of benchmarks/batch.py (generated, test mode, confirmed on a
generated regtest chain, verified offline with a headers file) are verified with JSON
lines (what --jsonl writes), first by the batch's own pool of --workers processes, then
on a Dask ``LocalCluster`` of --workers processes with one thread each on 127.0.0.1,
through the real scheduler protocol, as `--dask-scheduler` does. The cluster starts
before its clock does (its start is printed apart). Both runs must give the same lines.

Target (issue 11): the cluster's items/s >= 0.8 of the local pool's.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from batch import build_archive  # noqa: E402

import provelio_verify as pv  # noqa: E402
from provelio_verify.batch import discover, iter_batch  # noqa: E402
from provelio_verify.batch.cluster import dask_executor  # noqa: E402
from provelio_verify.chain import HeadersFileSource  # noqa: E402

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--distinct", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk-size", type=int, default=1000)
    args = parser.parse_args()
    try:
        import distributed
    except ImportError:
        raise SystemExit("needs Dask's distributed: pip install -e '.[dask]'") from None

    target = build_archive(args.items, args.distinct)
    policy = pv.Policy(tsa_roots=pv.load_certificates(target / "roots.pem"),
                       allow_test_mode=True, now=NOW)  # one clock: lines compare
    items, _ = discover(target / "archive")

    def verifier() -> pv.Verifier:
        return pv.Verifier(policy, [HeadersFileSource(target / "headers.bin")])

    start = time.perf_counter()
    local = [o.line for o in iter_batch(items, verifier(), jobs=args.workers,
                                        chunk_size=args.chunk_size, full_reports=False,
                                        lines=True)]
    t_local = time.perf_counter() - start

    start = time.perf_counter()
    with distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1,
                                  processes=True, host="127.0.0.1",
                                  dashboard_address=None, silence_logs=50) as cluster:
        t_start = time.perf_counter() - start
        with dask_executor(cluster.scheduler_address) as pool:
            start = time.perf_counter()
            remote = [o.line for o in iter_batch(items, verifier(), executor=pool,
                                                 chunk_size=args.chunk_size,
                                                 full_reports=False, lines=True)]
            t_dask = time.perf_counter() - start
    if remote != local:
        raise SystemExit("the cluster's lines differ from the local pool's")

    rate_local, rate_dask = len(items) / t_local, len(items) / t_dask
    ratio = rate_dask / rate_local
    print(f"{len(items)} certificates ({args.distinct} distinct tokens), JSON lines, "
          f"{args.workers} workers, chunks of <= {args.chunk_size}, {os.cpu_count()} cores")
    print(f"local pool (--jobs {args.workers})             : {rate_local:8.0f} items/s")
    print(f"Dask LocalCluster, {args.workers} processes : {rate_dask:8.0f} items/s "
          f"(cluster start {t_start:.2f} s, not counted)")
    print(f"ratio Dask/local                      : {ratio:.2f}  (target >= 0.8: "
          f"{'met' if ratio >= 0.8 else 'NOT met'})")


if __name__ == "__main__":
    main()
