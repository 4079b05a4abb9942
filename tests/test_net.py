"""The one door to the network, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import http.server
import pickle
import time

import pytest

from helpers.common import loopback_server
from provelio_verify.net import HttpClient, HttpPolicy, NetworkError, redact, split_credentials


class _Handler(http.server.BaseHTTPRequestHandler):
    script: dict[str, list[tuple[int, dict[str, str], bytes]]] = {}
    seen: list[tuple[str, str | None]] = []

    def do_GET(self):  # noqa: N802
        type(self).seen.append((self.path, self.headers.get("Authorization")))
        queue = self.script.get(self.path) or [(404, {}, b"not found")]
        status, headers, body = queue.pop(0) if len(queue) > 1 else queue[0]
        if self.path == "/slow":
            time.sleep(1.0)
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Handler.script = {}
    _Handler.seen = []
    with loopback_server(_Handler) as url:
        yield url, _Handler


def _client(**kw):
    sleeps = []
    client = HttpClient(HttpPolicy(**kw), sleep=sleeps.append)
    return client, sleeps


def test_plain_get(server):
    base, handler = server
    handler.script["/a"] = [(200, {}, b"hello")]
    client, _ = _client()
    response = client.get(base + "/a")
    assert (response.status, response.body) == (200, b"hello")
    assert response.attempts == 1 and len(handler.seen) == 1


def test_retry_after_is_honoured_then_answer(server):
    base, handler = server
    handler.script["/r"] = [(429, {"Retry-After": "2"}, b""), (200, {}, b"ok")]
    client, sleeps = _client()
    response = client.get(base + "/r")
    assert response.body == b"ok"
    assert sleeps == [2.0]
    assert response.attempts == 2 and len(handler.seen) == 2


def test_retry_after_too_long_gives_up_at_once(server):
    base, handler = server
    handler.script["/r"] = [(429, {"Retry-After": "3600"}, b"")]
    client, sleeps = _client()
    with pytest.raises(NetworkError, match="Retry-After over 30 s"):
        client.get(base + "/r")
    assert sleeps == []


def test_server_errors_are_retried_with_backoff_and_bounded(server):
    base, handler = server
    handler.script["/e"] = [(503, {}, b"")]
    client, sleeps = _client(retries=3, backoff=0.5)
    with pytest.raises(NetworkError, match="after 4 attempt"):
        client.get(base + "/e")
    assert sleeps == [0.5, 1.0, 2.0]


def test_client_errors_are_returned_not_retried(server):
    base, handler = server
    client, sleeps = _client()
    assert client.get(base + "/missing").status == 404
    assert sleeps == []


def test_oversize_answer_is_refused(server):
    base, handler = server
    handler.script["/big"] = [(200, {}, b"x" * 5000)]
    client, sleeps = _client(max_bytes=1000)
    with pytest.raises(NetworkError, match="over the limit of 1000"):
        client.get(base + "/big")
    assert sleeps == []


def test_timeout_is_bounded(server):
    base, handler = server
    handler.script["/slow"] = [(200, {}, b"late")]
    client, _ = _client(read_timeout=0.2, retries=1, backoff=0.01)
    with pytest.raises(NetworkError, match="timed out"):
        client.get(base + "/slow")


def test_unreachable_port_is_a_network_error():
    client, _ = _client(retries=0)
    with pytest.raises(NetworkError, match="cannot connect"):
        client.get("http://127.0.0.1:9/")


def test_credentials_travel_in_a_header_and_are_never_shown(server):
    base, handler = server
    handler.script["/auth"] = [(200, {}, b"ok")]
    url = base.replace("http://", "http://alice:s3cret@") + "/auth"
    plain, auth = split_credentials(url)
    assert "s3cret" not in plain and auth == ("alice", "s3cret")
    client, _ = _client()
    client.get(plain, auth=auth)
    assert handler.seen[-1][1].startswith("Basic ")
    assert redact(url) == base.replace("http://", "http://***@") + "/auth"
    assert all("s3cret" not in path for path, _ in handler.seen)


def test_client_survives_pickling(server):
    base, handler = server
    handler.script["/a"] = [(200, {}, b"again")]
    client, _ = _client()
    copy = pickle.loads(pickle.dumps(client))
    assert copy.get(base + "/a").body == b"again"


def test_an_answer_after_retries_says_what_they_met(server):
    base, handler = server
    handler.script["/r"] = [(429, {"Retry-After": "3"}, b""), (503, {}, b""), (200, {}, b"ok")]
    client, sleeps = _client(backoff=0.25)
    response = client.get(base + "/r")
    assert response.body == b"ok" and response.attempts == 3
    assert response.retries == ("HTTP 429; waited 3 s (Retry-After)",
                                "HTTP 503; waited 0.5 s (backoff)")
    assert sleeps == [3.0, 0.5]


def test_statuses_named_no_retry_are_answers(server):
    base, handler = server
    handler.script["/rpc"] = [(500, {}, b'{"error": {"code": -8}}')]
    client, sleeps = _client()
    response = client.request("GET", base + "/rpc", no_retry=(500,))
    assert (response.status, response.attempts, sleeps) == (500, 1, [])


def test_importing_the_network_module_opens_no_socket():
    import subprocess
    import sys

    code = ("import sys\n"
            "def guard(event, args):\n"
            "    if event.startswith('socket.'):\n"
            "        raise SystemExit(99)\n"
            "sys.addaudithook(guard)\n"
            "import provelio_verify.net, provelio_verify.chain, provelio_verify.cli\n")
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


class _Drip(http.server.BaseHTTPRequestHandler):
    """Sends headers, then one byte every 0.4 s: each read well within any per-read
    timeout, the whole answer never."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        try:
            for _ in range(1000):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.4)
        except OSError:
            pass

    def log_message(self, *args):
        pass


def test_the_deadline_holds_against_a_slow_body():
    """Issue 8, item 6: the wall-clock deadline cuts a dripping answer off."""
    with loopback_server(_Drip) as url:
        client = HttpClient(HttpPolicy(deadline=2.0, read_timeout=1.5, retries=2))
        started = time.monotonic()
        with pytest.raises(NetworkError, match="within the deadline of 2 s"):
            client.get(url + "/slow")
        elapsed = time.monotonic() - started
    assert elapsed < 6, f"the request ran {elapsed:.1f} s past a 2 s deadline"
