"""What many tests share: where the fixtures are, the scenario manifest, the real
command line run as a user runs it (plain or on a terminal), and a loopback HTTP
server. Imported as ``helpers.common`` (tests never import ``conftest``)."""

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

TESTS = Path(__file__).resolve().parents[1]
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
        thread.join(5)
