"""Headless Chromium for the evidence-report tests (and scripts/screenshot_report).

Chromium runs as root in the sandbox here, so ``--no-sandbox``; the background-service
flags keep it from calling Google, and a proxy on a closed local port stops whatever
is left from leaving the machine. What the *page* asks for is observed exactly with
the DevTools protocol over a pipe (:class:`DevToolsPipe`), Chromium's own account of
every request a page makes, blocked ones included.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

#: Chromium's executable; Debian's ``chromium`` package puts it here.
CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
TIMEOUT = 60  # seconds for one browser run; a run takes one or two


def find_chromium() -> str | None:
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def closed_port() -> int:
    """A local TCP port with nothing listening: a proxy there refuses every request."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def flags(profile: str | os.PathLike[str]) -> list[str]:
    return [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-extensions", "--disable-default-apps", "--hide-scrollbars",
        "--force-device-scale-factor=1", f"--user-data-dir={os.fspath(profile)}",
        f"--proxy-server=http://127.0.0.1:{closed_port()}", "--proxy-bypass-list=<-loopback>",
    ]


def run_chromium(chromium: str, *args: str) -> subprocess.CompletedProcess[str]:
    """One headless run (``--dump-dom``, ``--screenshot``, ``--print-to-pdf``) with a
    fresh, empty profile."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run([chromium, *flags(profile), *args], capture_output=True,
                              text=True, timeout=TIMEOUT, check=False)


class DevToolsPipe:
    """Chromium driven over ``--remote-debugging-pipe`` (fd 3 in, fd 4 out, messages
    ended by NUL): open a page, and keep every event, so a test can list exactly the
    requests the page made while it loaded, was printed and was captured."""

    def __init__(self, chromium: str) -> None:
        self._profile = tempfile.TemporaryDirectory(prefix="chromium-profile-")
        # Pipe ends above fd 9, so moving them onto 3 and 4 cannot clobber each other.
        to_child_r, to_child_w = (_high(fd) for fd in os.pipe())
        from_child_r, from_child_w = (_high(fd) for fd in os.pipe())

        def onto_3_and_4() -> None:
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)

        self.proc = subprocess.Popen(
            [chromium, *flags(self._profile.name), "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            # Python's own descriptors are close-on-exec; only 3 and 4 reach Chromium.
            close_fds=False, preexec_fn=onto_3_and_4,
        )
        for fd in (to_child_r, from_child_w):
            os.close(fd)
        self._out = to_child_w
        self._in = from_child_r
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        self.session = ""

    def __enter__(self) -> DevToolsPipe:
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": target, "flatten": True})["sessionId"]
        self.call("Network.enable", session=self.session)
        self.call("Page.enable", session=self.session)
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError, TimeoutError, RuntimeError):
            self.call("Browser.close")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._out)
        os.close(self._in)
        self._profile.cleanup()

    def call(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method,
                                   "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive(TIMEOUT)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))
            self.events.append(reply)

    def open(self, url: str, settle: float = 0.5) -> None:
        """Navigate the page to ``url``; return once it has loaded and ``settle``
        seconds passed without news."""
        self.call("Page.navigate", {"url": url}, session=self.session)
        deadline = time.monotonic() + TIMEOUT
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            self.events.append(self._receive(deadline - time.monotonic()))
        self.drain(settle)

    def drain(self, settle: float) -> None:
        while True:
            try:
                self.events.append(self._receive(settle))
            except TimeoutError:
                return

    def print_to_pdf(self) -> bytes:
        result = self.call("Page.printToPDF", {"printBackground": True},
                           session=self.session)
        return base64.b64decode(result["data"])

    def screenshot(self) -> bytes:
        result = self.call("Page.captureScreenshot", {"format": "png"},
                           session=self.session)
        return base64.b64decode(result["data"])

    def requested_urls(self) -> list[str]:
        """Every URL the page asked for, in order (the document itself included)."""
        return [e["params"]["request"]["url"] for e in self.events
                if e.get("method") == "Network.requestWillBeSent"
                and e.get("sessionId") == self.session]

    def _receive(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + max(timeout, 0)
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._in], [], [], remaining)[0]:
                raise TimeoutError("no message from Chromium")
            chunk = os.read(self._in, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return dict(json.loads(message))


def _high(fd: int) -> int:
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


def file_url(path: Path) -> str:
    return path.resolve().as_uri()
