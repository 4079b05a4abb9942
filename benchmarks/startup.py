#!/usr/bin/env python3
"""One single verification as a shell loop runs it, against baselines in the same run.

    python benchmarks/startup.py              # 20 runs of each, interleaved
    python benchmarks/startup.py --runs 50

Each run is a new process, as an auditor's `for f in …; do provelio-verify …; done`
starts one per certificate: `provelio-verify document.txt proof.json --tsa-roots
roots.pem` on the shipped examples/ok-created, against (1) `python -c pass` (the
interpreter's own start, which no Python tool avoids), (2) `python -c "import
provelio_verify"` (the library's imports: cryptography, asn1crypto, the checks) and
(3) one `openssl ts -verify` of the same token (what a shell loop that calls openssl
pays). Medians of --runs interleaved runs, wall time. Prints each and the ratios.
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "ok-created"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="startup-"))
    try:
        for name in ("document.txt", "proof.json", "roots.pem"):
            shutil.copy(EXAMPLE / name, work / name)
        bundle = json.loads((work / "proof.json").read_text())
        (work / "token.der").write_bytes(base64.b64decode(bundle["timestamp"]["token"]))
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "import provelio_verify": [sys.executable, "-c", "import provelio_verify"],
            "provelio-verify FILE PROOF": [sys.executable, "-m", "provelio_verify",
                                           "document.txt", "proof.json",
                                           "--tsa-roots", "roots.pem"],
        }
        if shutil.which("openssl"):
            commands["openssl ts -verify"] = [
                "openssl", "ts", "-verify", "-in", "token.der", "-token_in",
                "-data", "document.txt", "-CAfile", "roots.pem"]
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, argv in commands.items():
                start = time.perf_counter()
                done = subprocess.run(argv, cwd=work, capture_output=True)
                times[name].append(time.perf_counter() - start)
                if done.returncode != 0:
                    raise SystemExit(f"{name} did not pass: {done.stdout!r} {done.stderr!r}")
        median = {name: statistics.median(values) for name, values in times.items()}
        print(f"single verification, new process each, median of {args.runs} runs (wall)")
        for name, value in median.items():
            print(f"  {name:28} {value * 1000:7.1f} ms")
        ours = median["provelio-verify FILE PROOF"]
        print(f"  verification beyond the interpreter's start: "
              f"{(ours - median['python -c pass']) * 1000:.1f} ms; beyond the library's "
              f"imports: {(ours - median['import provelio_verify']) * 1000:.1f} ms")
        if "openssl ts -verify" in median:
            print(f"  ratio provelio-verify / openssl ts -verify: "
                  f"{ours / median['openssl ts -verify']:.1f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
