"""A small client for the Electrum protocol: line-delimited JSON-RPC 2.0 over TCP or TLS.

One connection, opened at the first call and reused; a lock makes calls one at a time
(a request and its answer are never interleaved with another thread's). Every read is
bounded in size (a line over ``max_line`` bytes is refused before it is held whole)
and in time (a wall-clock deadline per call, within the verification's network budget).
The first request on every connection is ``server.version``: a server that does not
negotiate protocol :data:`PROTOCOL` is refused.

TLS checks the server's certificate against the system's roots, host name included,
unless ``cafile`` names the certificates to trust instead (a self-signed server's own
certificate, pinned). Plain TCP authenticates nothing, and says so.

Every transport fault (cannot connect, TLS refused, timed out, connection closed)
becomes :class:`~provelio_verify.errors.NetworkError`. An answer that arrived but is
not a usable JSON-RPC response (over the size cap, not JSON, not a response) is
returned as a :class:`Reply` whose ``malformed`` says why: the caller decides what it
makes of a server that says nonsense.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any

from .._json_bounds import loads_bounded
from ..errors import NetworkError
from .http import _budget_left

#: The protocol version asked for: 1.4 has everything used here (``blockchain.block.header``
#: by height, ``blockchain.block.headers``, ``blockchain.transaction.get_merkle``) and is
#: what ElectrumX, Fulcrum and electrs all speak.
PROTOCOL = "1.4"
#: The largest answer to ``server.version`` (two short strings and the envelope).
MAX_HELLO_LINE = 4096
#: Bytes read from the socket at a time.
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Reply:
    """One JSON-RPC answer: exactly one of ``result`` (with ``ok``), ``error`` (the
    server's error object, as sent) and ``malformed`` (why the line is not a response)."""

    ok: bool
    result: Any = None
    error: Any = None
    malformed: str | None = None


def parse_address(address: str) -> tuple[str, int, bool]:
    """``HOST:PORT`` (plain TCP) or ``ssl://HOST:PORT`` (TLS), with ``[v6]`` hosts.

    Returns:
        (host, port, tls).

    Raises:
        ValueError: not such an address.
    """
    tls = address.startswith("ssl://")
    rest = address[len("ssl://"):] if tls else address
    if tls is False and "://" in rest:
        raise ValueError(f"{address!r} is not HOST:PORT or ssl://HOST:PORT (an Electrum "
                         "server is named without http://, tcp:// or a path)")
    host, sep, port = rest.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or "/" in rest or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{address!r} is not HOST:PORT or ssl://HOST:PORT with a port "
                         "from 1 to 65535")
    return host, int(port), tls


class LineRpcClient:
    """Line-delimited JSON-RPC 2.0 to one server. Thread-safe; picklable (the copy
    connects again at its first call).

    Args:
        host, port, tls: where, and whether over TLS.
        cafile: with TLS, trust the certificates in this PEM file instead of the
            system's roots (host name still checked).
        client_name: sent in ``server.version``.
        timeout: seconds to connect, and for each call (a wall-clock deadline that
            holds against a server dripping bytes).
    """

    def __init__(self, host: str, port: int, *, tls: bool, cafile: str | None = None,
                 client_name: str = "provelio-verify", timeout: float = 20.0) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self.cafile = cafile
        self.client_name = client_name
        self.timeout = timeout
        #: What the server said to ``server.version``: [software, protocol].
        self.server_version: list[str] | None = None
        self._sock: socket.socket | None = None
        self._buffer = bytearray()
        self._next_id = 0
        self._lock = threading.Lock()

    @property
    def shown(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'ssl://' if self.tls else ''}{host}:{self.port}"

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for name in ("_sock", "_lock"):
            del state[name]
        state["_buffer"] = bytearray()
        state["server_version"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._sock = None
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _drop(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
        self._sock = None
        self._buffer = bytearray()

    def call(self, method: str, params: list[Any], *, max_line: int) -> Reply:
        """Send one request and wait for its answer (notifications between are skipped).

        Raises:
            NetworkError: no connection, TLS refused, timed out, connection closed, the
                network budget spent, or the server did not negotiate :data:`PROTOCOL`.
        """
        with self._lock:
            deadline = self._deadline()
            try:
                if self._sock is None:
                    self._connect(deadline)
                return self._exchange(method, params, max_line, deadline)
            except NetworkError:
                self._drop()
                raise

    def _deadline(self) -> float:
        budget = _budget_left()
        if budget is not None and budget <= 0:
            raise NetworkError(f"electrum {self.shown}: not sent, the verification's network "
                               "budget is spent")
        seconds = self.timeout if budget is None else min(self.timeout, budget)
        return time.monotonic() + seconds

    def _connect(self, deadline: float) -> None:
        try:
            raw = socket.create_connection((self.host, self.port),
                                           timeout=max(deadline - time.monotonic(), 0.001))
        except OSError as exc:
            raise NetworkError(f"electrum {self.shown}: cannot connect: "
                               f"{exc.strerror or exc}") from None
        sock: socket.socket = raw
        if self.tls:
            context = ssl.create_default_context(cafile=self.cafile)
            try:
                sock = context.wrap_socket(raw, server_hostname=self.host)
            except ssl.SSLCertVerificationError as exc:
                raw.close()
                trusted = f"the certificates of {self.cafile}" if self.cafile \
                    else "the system's roots"
                raise NetworkError(f"electrum {self.shown}: TLS certificate refused "
                                   f"({exc.verify_message}; checked against {trusted})"
                                   ) from None
            except (OSError, ssl.SSLError) as exc:
                raw.close()
                raise NetworkError(f"electrum {self.shown}: TLS handshake failed: "
                                   f"{exc}") from None
        self._sock = sock
        self._buffer = bytearray()
        hello = self._exchange("server.version", [self.client_name, PROTOCOL],
                               MAX_HELLO_LINE, deadline)
        result = hello.result
        if not hello.ok:
            why = hello.malformed or f"error {_brief(hello.error)}"
            raise NetworkError(f"electrum {self.shown}: server.version (the protocol "
                               f"negotiation every Electrum server must answer first) "
                               f"answered {why}")
        if (not isinstance(result, list) or len(result) != 2
                or not all(isinstance(r, str) for r in result)):
            raise NetworkError(f"electrum {self.shown}: server.version answered "
                               f"{_brief(result)}, not [software, protocol]")
        if result[1] != PROTOCOL:
            raise NetworkError(f"electrum {self.shown}: server.version negotiated protocol "
                               f"{result[1][:20]!r}, not the {PROTOCOL} this client speaks")
        self.server_version = [r[:80] for r in result]

    def _exchange(self, method: str, params: list[Any], max_line: int,
                  deadline: float) -> Reply:
        assert self._sock is not None
        self._next_id += 1
        call_id = self._next_id
        line = json.dumps({"jsonrpc": "2.0", "id": call_id, "method": method,
                           "params": params}).encode() + b"\n"
        self._settimeout(deadline, method)
        try:
            self._sock.sendall(line)
        except OSError as exc:
            raise NetworkError(f"electrum {self.shown}: {method}: cannot send: "
                               f"{_os_reason(exc)}") from None
        while True:
            text = self._read_line(method, max_line, deadline)
            if text is None:
                self._drop()  # a line cut short: the stream cannot be resynchronised
                return Reply(False, malformed=f"a line over the limit of {max_line} bytes")
            try:
                document = loads_bounded(text)
            except (ValueError, UnicodeDecodeError) as exc:
                self._drop()
                problem = (str(exc).splitlines() or [type(exc).__name__])[0][:120]
                return Reply(False, malformed=f"a line that is not JSON this verifier "
                                              f"reads: {problem}")
            if isinstance(document, dict) and "id" not in document and "method" in document:
                continue  # a notification (blockchain.headers.subscribe): not our answer
            if not isinstance(document, dict) or document.get("id") != call_id:
                self._drop()
                return Reply(False, malformed=f"{_brief(document)}, not a JSON-RPC response "
                                              f"to request {call_id}")
            if document.get("error") is not None:
                return Reply(False, error=document["error"])
            if "result" not in document:
                return Reply(False, malformed="a response with neither result nor error")
            return Reply(True, result=document["result"])

    def _settimeout(self, deadline: float, method: str) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise NetworkError(f"electrum {self.shown}: {method}: timed out after "
                               f"{self.timeout:g} s")
        assert self._sock is not None
        self._sock.settimeout(left)

    def _read_line(self, method: str, max_line: int, deadline: float) -> bytes | None:
        """The next line (without its newline), or ``None`` when it is over
        ``max_line`` bytes (read no further than that)."""
        assert self._sock is not None
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                if end > max_line:
                    return None
                line = bytes(self._buffer[:end])
                del self._buffer[:end + 1]
                return line
            if len(self._buffer) > max_line:
                return None
            self._settimeout(deadline, method)
            try:
                chunk = self._sock.recv(_CHUNK)
            except TimeoutError:
                raise NetworkError(f"electrum {self.shown}: {method}: timed out after "
                                   f"{self.timeout:g} s") from None
            except OSError as exc:
                raise NetworkError(f"electrum {self.shown}: {method}: connection failed: "
                                   f"{_os_reason(exc)}") from None
            if not chunk:
                raise NetworkError(f"electrum {self.shown}: {method}: the server closed the "
                                   "connection without answering")
            self._buffer += chunk


def _os_reason(exc: OSError) -> str:
    return str(exc.strerror or exc or type(exc).__name__)


def _brief(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit - 1]}…"
