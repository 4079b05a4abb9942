#!/usr/bin/env python3
"""Peak memory of a batch over a large digest-only manifest, streamed (issue 11).

    python benchmarks/batch_memory.py                 # 1,000,000 rows, --jobs 2
    python benchmarks/batch_memory.py --rows 100000   # quicker

Every row names the same small proof bundle (a created certificate) by digest, so the
figure is the engine's own memory: items, chunks in flight, outcomes, summary. The
batch runs as the library's run_batch over discover.stream() with lines=True (what
--jsonl does), writing every line to /dev/null. Prints the peak RSS of this process
and of the largest worker, and the time to the first outcome against the whole run
(output must start before discovery ends). Target: parent peak RSS < 200 MiB.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))

from helpers.common import SCENARIOS  # noqa: E402
from provelio_verify import Policy, Verifier, load_certificates  # noqa: E402
from provelio_verify.batch import run_batch, stream  # noqa: E402

WORK = HERE / "_work"


def manifest(rows: int) -> Path:
    folder = WORK / f"memory-{rows}"
    path = folder / "manifest.jsonl"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    proof = SCENARIOS / "ok-digest" / "proof.json"
    (folder / "proof.json").write_bytes(proof.read_bytes())
    digest = json.loads(proof.read_text())["certificate"]["sha256Hash"]
    line = json.dumps({"digest": digest, "proof": "proof.json"}) + "\n"
    with open(path, "w") as out:
        for _ in range(rows):
            out.write(line)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    path = manifest(args.rows)
    roots = load_certificates(SCENARIOS / "ok-digest" / "roots.pem")
    verifier = Verifier(Policy(tsa_roots=roots))
    first: list[float] = []
    start = time.perf_counter()
    with open("/dev/null", "wb") as sink:

        def on_outcome(outcome: object) -> None:
            if not first:
                first.append(time.perf_counter() - start)
            sink.write(outcome.line)  # type: ignore[attr-defined]

        items, _ = stream(path)
        summary = run_batch(items, verifier, jobs=args.jobs, full_reports=False,
                            lines=True, on_outcome=on_outcome)
    elapsed = time.perf_counter() - start
    parent = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"{summary.done:,} rows verified in {elapsed:.1f} s ({summary.done / elapsed:,.0f} "
          f"items/s), --jobs {args.jobs}; {summary.to_dict()['byIndication']}")
    print(f"first outcome after {first[0]:.2f} s of {elapsed:.1f} s")
    print(f"peak RSS: parent {parent:.0f} MiB, largest worker {worker:.0f} MiB "
          f"(target parent < 200 MiB: {'met' if parent < 200 else 'NOT met'})")


if __name__ == "__main__":
    main()
