"""benchmarks/sync.py, run small: a sync of real mainnet headers from each loopback
source (Bitcoin Core JSON-RPC, Esplora, Electrum) writes the headers it was served and
keeps a loose floor against bare validation of the same headers, measured in the same
run. The figure can fail; the floor is not a claim about this machine's speed."""

from __future__ import annotations

import re
import subprocess
import sys

from helpers.common import REPO


def test_the_sync_benchmark_runs_every_source_and_keeps_the_loose_floor():
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "sync.py"),
                           "--headers", "20000", "--repeat", "1", "--min-ratio", "0.001"],
                          capture_output=True, text=True, timeout=180)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "20,000 real mainnet headers, heights 151,199-171,198" in proc.stdout
    assert re.search(r"validation \(bare loop\)\s+[0-9,]+", proc.stdout)
    for source in ("rpc", "esplora", "electrum"):
        line = re.search(rf"^sync {source}\s+([0-9,]+)\s.*\s([0-9.]+)\s+[0-9.]+s\s+met ",
                         proc.stdout, re.MULTILINE)
        assert line, f"no line for {source}:\n{proc.stdout}"


def test_a_ratio_under_the_floor_exits_1():
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "sync.py"),
                           "--headers", "3000", "--repeat", "1", "--sources", "electrum",
                           "--min-ratio", "1000"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "NOT met (>= 1000.0" in proc.stdout

