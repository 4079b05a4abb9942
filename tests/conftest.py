from __future__ import annotations

import contextlib
import http.server
import json
import os
import pty
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS / "fixtures"
SCENARIOS = FIXTURES / "scenarios"
REPO = TESTS.parent
# The fixture generator's package (gen.*) is shared with tests that need its chains.
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


def run_on_terminal(args: list[str], cwd: Path | str, *, stream: str = "stdout",
                    env: dict[str, str] | None = None, timeout: float = 120) -> str:
    """Run the real command line with ``stream`` ("stdout" or "stderr") on a
    pseudo-terminal, as a person at a terminal sees it; return what it wrote there
    (the other stream goes nowhere)."""
    leader, follower = pty.openpty()
    streams = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, stream: follower}
    proc = subprocess.Popen([sys.executable, "-m", "provelio_verify", *args], cwd=cwd,
                            env=env if env is not None else dict(os.environ, NO_COLOR="1"),
                            **streams)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=timeout)
    os.close(leader)
    return b"".join(chunks).decode()


@contextlib.contextmanager
def loopback_server(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 (a free port) answering with ``handler``; yields
    its base URL and stops it on exit."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def cli():
    return run_cli


# Property-based tests (hypothesis): bounded so the suite stays fast, and reproducible.
# CI runs a fixed number of examples from a fixed seed (derandomize); set
# PROVELIO_HYPOTHESIS_EXAMPLES=5000 (say) to search harder on a workstation.
try:
    from hypothesis import HealthCheck
    from hypothesis import settings as _hypothesis_settings
except ImportError:  # pragma: no cover - the test extra installs it
    pass
else:
    _examples = int(os.environ.get("PROVELIO_HYPOTHESIS_EXAMPLES", "0") or 0)
    _hypothesis_settings.register_profile(
        "ci", max_examples=60, deadline=2000, derandomize=True, print_blob=True,
        suppress_health_check=[HealthCheck.too_slow])
    _hypothesis_settings.register_profile(
        "deep", max_examples=max(_examples, 1), deadline=None, derandomize=False,
        print_blob=True, suppress_health_check=[HealthCheck.too_slow])
    _hypothesis_settings.load_profile("deep" if _examples else "ci")
