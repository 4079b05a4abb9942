"""Every scenario of tests/fixtures/manifest.json through the real command line."""

from __future__ import annotations

import json

import pytest

from helpers.common import SCENARIOS, manifest, run_cli

CASES = manifest()


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_scenario(case):
    proc = run_cli([*case["args"], "--json"], cwd=SCENARIOS / case["name"])
    expect = case["expect"]
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == expect["exit"], (proc.returncode, proc.stdout, proc.stderr)
    report = json.loads(proc.stdout)
    assert report["indication"] == expect["indication"]
    assert report["subIndication"] == expect["subIndication"]
    failed = [c["id"] for c in report["checks"] if c["indication"] == "FAILED"]
    assert failed == expect["failed"], [
        (c["id"], c["message"]) for c in report["checks"] if c["indication"] == "FAILED"]
    by_id = {c["id"]: c for c in report["checks"]}
    for check_id, indication in expect["checks"].items():
        assert by_id[check_id]["indication"] == indication, by_id[check_id]


def test_every_failure_scenario_names_its_check():
    """A FAILED scenario that names no failing check would pass for the wrong reason."""
    for case in CASES:
        if case["expect"]["indication"] == "FAILED":
            assert case["expect"]["failed"], case["name"]
