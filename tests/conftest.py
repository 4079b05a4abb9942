from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS / "fixtures"
SCENARIOS = FIXTURES / "scenarios"
REPO = TESTS.parent
# Tests may use the fixture generator's building blocks (tests/fixtures/gen).
if str(FIXTURES) not in sys.path:
    sys.path.insert(0, str(FIXTURES))


def manifest() -> list[dict[str, Any]]:
    return json.loads((FIXTURES / "manifest.json").read_text())["scenarios"]


def scenario(name: str) -> dict[str, Any]:
    for entry in manifest():
        if entry["name"] == name:
            return entry
    raise KeyError(name)


def run_cli(args: list[str], cwd: Path | str | None = None,
            env: dict[str, str] | None = None, stdin: bytes | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real command line in a child process, as a user would."""
    full_env = dict(os.environ, NO_COLOR="1")
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "provelio_verify", *args],
        cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout,
        input=stdin.decode() if stdin is not None else None,
    )


@pytest.fixture
def cli():
    return run_cli
