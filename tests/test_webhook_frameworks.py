"""The recipes of docs/webhooks.md, run as written with the real frameworks (Flask's and
Starlette's test clients), and one signed delivery posted over a real HTTP server on
127.0.0.1 to a handler that calls verify_webhook.

The Flask and Starlette recipes are taken from the document itself (the code block after
``<!-- recipe: NAME -->``) and executed, so the document cannot drift from what is
tested. Each framework is in the test extra; where one is missing, its tests skip and
say why.
"""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from helpers.common import REPO, loopback_server
from provelio_verify.webhooks import (
    SIGNATURE_HEADER,
    EventType,
    WebhookError,
    WebhookEvent,
    verify_webhook,
)

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD_SECRET = "whsec_7b1cRotatedOutSecretValue00000"
DOC = REPO / "docs" / "webhooks.md"


def delivery(event: str = "certificate.confirmed", status: str = "confirmed") -> bytes:
    """A delivery stamped now, compact as a JavaScript sender writes it."""
    document = {
        "event": event, "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "data": {"certificateId": "550e8400-e29b-41d4-a716-446655440000",
                 "publicId": "abc123def456", "status": status, "fileName": "document.pdf",
                 "sha256Hash": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                 "testMode": False, "metadata": {"orderId": "ord_xyz789"}},
    }
    return json.dumps(document, separators=(",", ":")).encode()


def sign(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def recipe(name: str, handled: list[WebhookEvent], monkeypatch: pytest.MonkeyPatch,
           secrets: str = f"{SECRET},{OLD_SECRET}") -> dict[str, Any]:
    """Run the document's recipe ``name`` with PROVELIO_WEBHOOK_SECRET set; its
    ``handle(event)`` appends to ``handled``."""
    match = re.search(rf"<!-- recipe: {name} -->\n```python\n(.*?)```", DOC.read_text(),
                      re.DOTALL)
    assert match, f"docs/webhooks.md has no recipe {name!r}"
    monkeypatch.setenv("PROVELIO_WEBHOOK_SECRET", secrets)
    namespace: dict[str, Any] = {"__name__": f"recipe_{name}", "handle": handled.append}
    exec(compile(match.group(1), f"docs/webhooks.md:{name}", "exec"), namespace)
    return namespace


Post = Callable[[bytes, dict[str, str]], int]


def _exercise(post: Post, handled: list[WebhookEvent]) -> None:
    """What every recipe must do: take a good delivery once, take a retry without acting
    again, take the old secret during a rotation, refuse a tampered or unsigned one."""
    body = delivery()
    assert post(body, {SIGNATURE_HEADER: sign(body)}) == 204
    assert [e.event for e in handled] == [EventType.CONFIRMED]
    assert post(body, {SIGNATURE_HEADER: sign(body)}) == 200  # a retry
    assert len(handled) == 1
    other = delivery("certificate.anchoring", "anchoring")
    assert post(other, {SIGNATURE_HEADER: sign(other, OLD_SECRET)}) == 204
    assert handled[-1].secret_index == 1
    tampered = body.replace(b"document.pdf", b"document.pdg")
    assert post(tampered, {SIGNATURE_HEADER: sign(body)}) == 400
    assert post(body, {}) == 400
    assert post(body, {SIGNATURE_HEADER: "sha256=" + sign(body)}) == 400
    assert len(handled) == 2


# --------------------------------------------------------------------------- Flask


def _flask_post(app: Any) -> Post:
    client = app.test_client()

    def post(body: bytes, headers: dict[str, str]) -> int:
        return int(client.post("/webhooks/provelio", data=body,
                               headers={"Content-Type": "application/json", **headers})
                   .status_code)
    return post


def test_flask_recipe(monkeypatch):
    pytest.importorskip("flask", reason="Flask is not installed (pip install -e '.[test]')")
    handled: list[WebhookEvent] = []
    _exercise(_flask_post(recipe("flask", handled, monkeypatch)["app"]), handled)


def test_flask_pitfall_reserialised_json_fails_every_delivery():
    """The pitfall the document warns of: request.get_json() dumped again is not the
    signed bytes, so a good delivery is refused."""
    flask = pytest.importorskip("flask", reason="Flask is not installed")
    app = flask.Flask("pitfall")

    @app.post("/webhooks/provelio")
    def wrong() -> tuple[str, int]:
        again = json.dumps(flask.request.get_json()).encode()
        try:
            verify_webhook(again, flask.request.headers.get(SIGNATURE_HEADER), SECRET)
        except WebhookError:
            return "", 400
        return "", 204

    body = delivery()
    assert _flask_post(app)(body, {SIGNATURE_HEADER: sign(body)}) == 400


# --------------------------------------------------------------------------- Starlette


def test_starlette_recipe(monkeypatch):
    pytest.importorskip("starlette", reason="Starlette is not installed (pip install -e '.[test]')")
    pytest.importorskip("httpx2", reason="httpx2, which Starlette's TestClient needs, "
                        "is not installed")
    from starlette.testclient import TestClient

    handled: list[WebhookEvent] = []
    app = recipe("starlette", handled, monkeypatch)["app"]
    with TestClient(app) as client:
        def post(body: bytes, headers: dict[str, str]) -> int:
            return int(client.post("/webhooks/provelio", content=body,
                                   headers={"Content-Type": "application/json", **headers})
                       .status_code)
        _exercise(post, handled)


def test_recipes_stop_at_start_without_a_secret(monkeypatch):
    pytest.importorskip("flask", reason="Flask is not installed")
    from provelio_verify.webhooks import WebhookSecretError

    with pytest.raises(WebhookSecretError, match="holds no secret"):
        recipe("flask", [], monkeypatch, secrets="")


# --------------------------------------------------------------------------- a real server


class _Receiver(http.server.BaseHTTPRequestHandler):
    """A bare receiver: the raw body by Content-Length, the header, verify_webhook."""

    handled: list[WebhookEvent] = []
    refused: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server name
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            event = verify_webhook(body, self.headers.get(SIGNATURE_HEADER), [SECRET])
        except WebhookError as exc:
            self.refused.append(str(exc))
            self.send_response(400)
        else:
            self.handled.append(event)
            self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _send(url: str, body: bytes, signature: str) -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", SIGNATURE_HEADER: signature})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_a_signed_delivery_over_a_real_http_server():
    _Receiver.handled, _Receiver.refused = [], []
    body = delivery()
    with loopback_server(_Receiver) as base:
        url = base + "/webhooks/provelio"
        assert _send(url, body, sign(body).upper()) == 204
        assert _send(url, body + b"\n", sign(body)) == 400
    assert [e.certificate.public_id for e in _Receiver.handled] == ["abc123def456"]
    assert _Receiver.handled[0].body_sha256 == hashlib.sha256(body).hexdigest()
    assert len(_Receiver.refused) == 1 and "does not match the body" in _Receiver.refused[0]
