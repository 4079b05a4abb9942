"""A single verification's start-up loads only what it uses: not the batch engine, the
evidence report (nor Jinja2) or capsules. Each is loaded by the run that needs it, so
an auditor's shell loop of single verifications pays for none of them (the time is
measured by benchmarks/startup.py, not here)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from helpers.common import SCENARIOS

HEAVY = ("provelio_verify.batch", "provelio_verify.evidence_report",
         "provelio_verify.capsule", "jinja2")

PROBE = """
import atexit, json, sys
heavy = {heavy!r}
atexit.register(lambda: print(json.dumps(sorted(
    {{m.split(".")[0] if m == "jinja2" else ".".join(m.split(".")[:2]) for m in sys.modules
     if m == "jinja2" or m.startswith(heavy)}})), file=sys.stderr))
from provelio_verify.cli import main
main(sys.argv[1:])
"""


def loaded(*args: str, cwd) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    return json.loads(proc.stderr.strip().splitlines()[-1])


@pytest.fixture
def case(tmp_path):
    import shutil

    target = tmp_path / "case"
    shutil.copytree(SCENARIOS / "ok-created", target)
    return target


def test_a_single_verification_loads_none_of_them(case):
    assert loaded("document.txt", "proof.json", "--tsa-roots", "roots.pem", cwd=case) == []
    assert loaded("document.txt", "proof.json", "--tsa-roots", "roots.pem", "--json",
                  cwd=case) == []


def test_each_is_loaded_by_the_run_that_needs_it(case, tmp_path):
    html = loaded("document.txt", "proof.json", "--tsa-roots", "roots.pem", "--html",
                  str(tmp_path / "r.html"), cwd=case)
    assert "provelio_verify.evidence_report" in html and "jinja2" in html
    assert (tmp_path / "r.html").stat().st_size > 0
    batch = loaded("--batch", str(case), "--tsa-roots", str(case / "roots.pem"), cwd=tmp_path)
    assert "provelio_verify.batch" in batch
