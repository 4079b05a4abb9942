"""The one door to the network.

Every byte this tool fetches comes through :class:`HttpClient`: bounded timeouts, a
bounded number of retries with exponential backoff, ``Retry-After`` honoured on 429
and 503 (up to a cap), a cap on response size, and URLs with their credentials
removed wherever they are shown. Every foreign exception becomes :class:`NetworkError`.

Nothing constructs an ``HttpClient`` unless the user named a source (a node, an
explorer, or ``--fetch-revocation``); a default verification opens no socket. Not even
importing this module does: ``requests`` (whose urllib3 probes for IPv6 with a socket
when imported) is imported at the first request.
"""

from __future__ import annotations

import contextlib
import contextvars
import email.utils
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..errors import NetworkError

if TYPE_CHECKING:
    import requests

#: Default cap on a response body: headers, proofs and CRLs of real CAs fit easily.
DEFAULT_MAX_BYTES = 8 * 1024 * 1024


class _NotRetryable(NetworkError):
    """An answer that another attempt would not improve (e.g. over the size cap)."""


#: Wall-clock seconds one verification may spend on the network in all (chain sources
#: and revocation fetching together, retries and waits included). Each request also
#: has its own deadline (:attr:`HttpPolicy.deadline`); this bounds their sum, so that
#: no set of slow servers can hold a verification longer.
VERIFICATION_NETWORK_BUDGET = 300.0

_BUDGET: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "provelio_network_budget", default=None)


@contextlib.contextmanager
def network_budget(seconds: float = VERIFICATION_NETWORK_BUDGET) -> Iterator[None]:
    """Every request made inside this block (in this context, and in the threads it
    hands its context to) shares one wall-clock budget of ``seconds``. Nested blocks
    keep the outer, earlier end."""
    end = time.monotonic() + seconds
    outer = _BUDGET.get()
    token = _BUDGET.set(end if outer is None else min(outer, end))
    try:
        yield
    finally:
        _BUDGET.reset(token)


def _budget_left() -> float | None:
    end = _BUDGET.get()
    return None if end is None else end - time.monotonic()


@dataclass(frozen=True)
class HttpPolicy:
    """Limits on every request.

    Attributes:
        connect_timeout / read_timeout: seconds, per attempt.
        retries: further attempts after the first, on connection errors, timeouts,
            429 and 5xx answers.
        backoff: seconds before the first retry; doubled for each further one.
        max_retry_after: the longest ``Retry-After`` honoured, in seconds; a server
            asking for longer is treated as unavailable.
        deadline: seconds for one request including all retries and waits. It is
            wall-clock and holds while a body is being read: a server that drips one
            byte every few seconds (each read within ``read_timeout``) is cut off
            when the deadline passes, not when it stops sending.
        max_bytes: the largest response body accepted.
    """

    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    retries: int = 3
    backoff: float = 0.5
    max_retry_after: float = 30.0
    deadline: float = 90.0
    max_bytes: int = DEFAULT_MAX_BYTES


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: Mapping[str, str]
    url: str  # redacted
    #: Attempts this answer took, and what each earlier one met and how long was waited
    #: (``"HTTP 429; waited 2 s (Retry-After)"``), so a report can say so.
    attempts: int = 1
    retries: tuple[str, ...] = ()

    def text(self) -> str:
        try:
            return self.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NetworkError(f"{self.url}: answer is not UTF-8 text") from exc


def redact(url: str) -> str:
    """``url`` with any user name and password removed (``http://***@host/``)."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query,
                                    parts.fragment))


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """Separate ``user:pass@`` from a URL, so credentials travel only in a header.

    Raises:
        ValueError: the URL is not http(s) or has no host.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{redact(url)} is not an http:// or https:// URL")
    auth = None
    if parts.username is not None:
        auth = (urllib.parse.unquote(parts.username),
                urllib.parse.unquote(parts.password or ""))
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, parts.query, "")), auth


_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class HttpClient:
    """HTTP with the limits of :class:`HttpPolicy`. Thread-safe; picklable (sessions
    are per thread and re-created after unpickling)."""

    def __init__(
        self,
        policy: HttpPolicy | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy or HttpPolicy()
        self._sleep = sleep
        self._clock = clock
        self._local = threading.local()

    def __getstate__(self) -> dict[str, Any]:
        return {"policy": self.policy}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["policy"])  # type: ignore[misc]

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            import requests  # here, not at import time: see the module's docstring

            session = requests.Session()
            session.headers["User-Agent"] = "provelio-verify"
            self._local.session = session
        return session

    def get(self, url: str, *, auth: tuple[str, str] | None = None,
            headers: Mapping[str, str] | None = None, max_bytes: int | None = None,
            allow_redirects: bool = False) -> Response:
        """GET ``url``; any status is returned except those retried to exhaustion.

        Raises:
            NetworkError: unreachable, timed out, too large, or still failing after
                the retries.
        """
        return self.request("GET", url, auth=auth, headers=headers, max_bytes=max_bytes,
                            allow_redirects=allow_redirects)

    def post(self, url: str, body: bytes, *, auth: tuple[str, str] | None = None,
             headers: Mapping[str, str] | None = None, max_bytes: int | None = None,
             no_retry: Collection[int] = ()) -> Response:
        """POST ``body`` to ``url``. Statuses in ``no_retry`` are answers, not failures
        (Bitcoin Core's JSON-RPC reports an RPC error as HTTP 500 with a JSON body).

        Raises:
            NetworkError: as :meth:`get`.
        """
        return self.request("POST", url, body=body, auth=auth, headers=headers,
                            max_bytes=max_bytes, no_retry=no_retry)

    def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        auth: tuple[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        max_bytes: int | None = None,
        allow_redirects: bool = False,
        no_retry: Collection[int] = (),
    ) -> Response:
        """Send one request with retries. See :meth:`get` and :meth:`post`.

        Raises:
            NetworkError: as :meth:`get`.
        """
        shown = redact(url)
        limit = max_bytes or self.policy.max_bytes
        started = self._clock()
        attempts = 0
        last_error = "no attempt made"
        status: int | None = None
        retries: list[str] = []
        while True:
            attempts += 1
            wait: float | None = None
            told = False
            try:
                remaining = self.policy.deadline - (self._clock() - started)
                budget = _budget_left()
                if budget is not None and budget <= 0:
                    raise _NotRetryable(f"{method} {shown}: not sent, the verification's "
                                        f"network budget of {VERIFICATION_NETWORK_BUDGET:g} s "
                                        "is spent")
                if budget is not None:
                    remaining = min(remaining, budget)
                response = self._once(method, url, body, auth, headers, limit, allow_redirects,
                                      max(remaining, 0.001))
            except _NotRetryable as exc:
                raise NetworkError(str(exc)) from None
            except NetworkError as exc:
                last_error = str(exc)
                wait = self._backoff(attempts)
            else:
                status = response.status
                if status not in _RETRY_STATUSES or status in no_retry:
                    return Response(response.status, response.body, response.headers,
                                    response.url, attempts, tuple(retries))
                last_error = f"HTTP {status}"
                wait, told = self._retry_after(response.headers, attempts)
                if wait is None:
                    last_error = (f"HTTP {status} with Retry-After over "
                                  f"{self.policy.max_retry_after:g} s")
            spent = self._clock() - started
            budget = _budget_left()
            if (wait is None or attempts > self.policy.retries
                    or spent + wait > self.policy.deadline
                    or (budget is not None and wait >= budget)):
                raise NetworkError(
                    f"{method} {shown} failed after {attempts} attempt(s) in {spent:.1f} s: "
                    f"{last_error}")
            retries.append(f"{last_error}; waited {wait:g} s"
                           + (" (Retry-After)" if told else " (backoff)"))
            self._sleep(wait)

    def _once(self, method: str, url: str, body: bytes | None, auth: tuple[str, str] | None,
              headers: Mapping[str, str] | None, limit: int,
              allow_redirects: bool, remaining: float) -> Response:
        """One attempt, cut off after ``remaining`` seconds of wall-clock time
        whatever the server does: a timer closes the connection, which ends a read
        that the per-read timeout would let run on."""
        import requests

        shown = redact(url)
        expired = threading.Event()
        current: list[Any] = []
        too_late = (f"{shown}: the answer did not arrive within the deadline of "
                    f"{self.policy.deadline:g} s")

        def cut_off() -> None:
            expired.set()
            for response in current:
                # close() alone does not wake a read blocked in another thread;
                # shutting the socket down does.
                connection = getattr(response.raw, "_connection", None) or \
                    getattr(response.raw, "connection", None)
                sock = getattr(connection, "sock", None)
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(Exception):
                    response.close()

        timer = threading.Timer(remaining, cut_off)
        timer.daemon = True
        timer.start()
        try:
            connect = min(self.policy.connect_timeout, remaining)
            with self._session().request(
                method, url, data=body, auth=auth, headers=dict(headers or {}),
                timeout=(connect, min(self.policy.read_timeout, remaining)),
                stream=True, allow_redirects=allow_redirects,
            ) as raw:
                current.append(raw)
                if expired.is_set():
                    raise NetworkError(f"{shown}: no answer within the deadline")
                declared = raw.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > limit:
                    raise _NotRetryable(
                        f"{shown}: answer of {declared} bytes is over the limit of {limit}")
                chunks = []
                size = 0
                for chunk in raw.iter_content(chunk_size=4096):
                    if expired.is_set():
                        raise NetworkError(too_late)
                    size += len(chunk)
                    if size > limit:
                        raise _NotRetryable(
                            f"{shown}: answer is over the limit of {limit} bytes")
                    chunks.append(chunk)
                if expired.is_set():
                    raise NetworkError(too_late)
                return Response(raw.status_code, b"".join(chunks), dict(raw.headers), shown)
        except NetworkError:
            raise
        except Exception as exc:
            if expired.is_set():
                raise NetworkError(too_late) from None
            if isinstance(exc, requests.Timeout):
                raise NetworkError(f"{shown}: timed out") from None
            if isinstance(exc, requests.ConnectionError):
                raise NetworkError(f"{shown}: cannot connect ({_reason(exc)})") from None
            if isinstance(exc, requests.RequestException):
                raise NetworkError(f"{shown}: {type(exc).__name__}") from None
            raise
        finally:
            timer.cancel()

    def _backoff(self, attempts: int) -> float:
        return float(self.policy.backoff * (2 ** (attempts - 1)))

    def _retry_after(self, headers: Mapping[str, str],
                     attempts: int) -> tuple[float | None, bool]:
        """The wait before the next attempt, and whether the server asked for it."""
        value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
        if value is None:
            return self._backoff(attempts), False
        value = value.strip()
        seconds: float
        if value.isdigit():
            seconds = float(value)
        else:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return self._backoff(attempts), False
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            seconds = max(0.0, (when - datetime.now(UTC)).total_seconds())
        return (seconds if seconds <= self.policy.max_retry_after else None), True


def _reason(exc: Exception) -> str:
    """A short cause without the URL (which may hold credentials)."""
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out",
                   "Network is unreachable", "No route to host", "Connection reset"):
        if marker in text:
            return marker.lower()
    return type(exc).__name__
