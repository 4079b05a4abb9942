"""benchmarks/headers.py: validating the 190,000 real headers runs at no less than a
quarter of a pure double-SHA-256 loop over the same bytes, measured in the same run."""

from __future__ import annotations

import re
import subprocess
import sys

from helpers.common import REPO


def test_header_validation_keeps_a_quarter_of_the_hashing_floor():
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "headers.py"),
                           "--repeat", "3", "--min-ratio", "0.25"],
                          capture_output=True, text=True, timeout=300)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ratio = float(re.search(r"ratio:\s+([0-9.]+)", proc.stdout).group(1))
    assert ratio >= 0.25
    assert "93 retargets recomputed, 94 checkpoints" in proc.stdout
