"""Provelio webhooks: check a delivery's signature, then read it strictly.

Provelio posts certificate status changes to an integrator's server: a JSON body
``{"event", "timestamp", "data": {...}}`` and the header ``X-Provelio-Signature``, the
hex HMAC-SHA256 of the raw body keyed with the webhook secret exactly as it was shown
(the whole ``whsec_…`` string, UTF-8). :func:`verify_webhook` does, in this order:

(1) the signature's form: 64 hex characters, either case, surrounding whitespace
    ignored; no ``sha256=`` prefix (that is another provider's scheme);
(2) the HMAC of the body under every secret given (several during a rotation), each
    compared in constant time, all of them computed whatever the first one gave;
(3) only then the body: the project's strict JSON reader (no duplicated key, no NaN,
    no lone surrogate, bounded nesting), a known event, every field's type, a status
    that agrees with the event;
(4) the ``timestamp``: an RFC 3339 instant with an offset, within ``tolerance`` of the
    clock in both directions (a replay of an old delivery; a sender's clock ahead).

Every refusal is a :class:`WebhookError`; a :class:`WebhookEvent` is returned only when
all four hold. See docs/webhooks.md for the framework recipes.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

from ._json_reader import Obj, kind, load_json, read_hex
from .bundle import Bundle, Status
from .errors import (
    BundleFormatError,
    WebhookError,
    WebhookPayloadError,
    WebhookSecretError,
    WebhookSignatureError,
    WebhookTimeError,
)

__all__ = [
    "DEFAULT_TOLERANCE", "MAX_WEBHOOK_BYTES", "SIGNATURE_HEADER", "SECRET_ENV",
    "EventType", "FieldMismatch", "WebhookCertificate", "WebhookError", "WebhookEvent",
    "WebhookPayloadError", "WebhookSecretError", "WebhookSignatureError", "WebhookTimeError",
    "describe", "event_to_json", "secrets_from_env", "verify_webhook",
]

#: The header Provelio sends the signature in.
SIGNATURE_HEADER = "X-Provelio-Signature"
#: The environment variable the command line reads the secret(s) from.
SECRET_ENV = "PROVELIO_WEBHOOK_SECRET"
#: How far a delivery's timestamp may be from the clock, either way.
DEFAULT_TOLERANCE = timedelta(minutes=5)
#: A delivery is a small JSON document; a larger body is refused before it is hashed.
MAX_WEBHOOK_BYTES = 1024 * 1024
#: HMAC-SHA256 is 32 bytes, 64 hex characters.
_SIGNATURE_HEX = 64

_HEX_SIGNATURE = re.compile(r"[0-9a-fA-F]{64}")
# RFC 3339 §5.6 date-time: full-date "T" full-time, time-offset required (Z or ±hh:mm).
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)
_WHITESPACE = " \t\r\n"


# --------------------------------------------------------------------------- the event


class EventType(enum.StrEnum):
    """The four events, each announcing one status of the bundle contract (§1)."""

    CREATED = "certificate.created"
    ANCHORING = "certificate.anchoring"
    CONFIRMED = "certificate.confirmed"
    FAILED = "certificate.failed"

    @property
    def status(self) -> Status:
        """The certificate status this event announces (``data.status`` must equal it)."""
        return Status(self.value.removeprefix("certificate."))


@dataclass(frozen=True)
class WebhookCertificate:
    """``data`` of a delivery, checked. ``sha256_hash`` is the digest's 32 bytes."""

    certificate_id: str
    public_id: str
    status: Status
    sha256_hash: bytes
    test_mode: bool
    file_name: str | None = None


@dataclass(frozen=True)
class FieldMismatch:
    """One field on which an event and a proof bundle disagree (bundle field names)."""

    field: str
    event_value: Any
    bundle_value: Any

    def __str__(self) -> str:
        return f"{self.field}: the event has {_show(self.event_value)}, " \
               f"the bundle has {_show(self.bundle_value)}"


@dataclass(frozen=True)
class WebhookEvent:
    """A delivery whose signature, form and time all held.

    ``idempotency_key`` is the SHA-256 (hex) of the event type and the certificate id:
    each certificate passes through each status once (contract §1), so "certificate X is
    confirmed" is the unit a handler must act on once. It is not the body's hash on
    purpose: a retry that is stamped anew (as it must be to stay inside the time window)
    has a different body but the same key. ``body_sha256`` is the hash of the exact
    bytes signed, for a replay cache over the time window.
    """

    event: EventType
    #: The ``timestamp`` in UTC; ``timestamp`` is the text as sent.
    instant: datetime
    timestamp: str
    certificate: WebhookCertificate
    #: ``data.metadata`` as sent (read-only view), or None when absent.
    metadata: Mapping[str, Any] | None
    #: The position, in the secrets given, of the secret whose HMAC matched.
    secret_index: int
    idempotency_key: str
    body_sha256: str
    warnings: tuple[str, ...] = ()

    def mismatches(self, bundle: Bundle) -> tuple[FieldMismatch, ...]:
        """The fields on which ``bundle`` is not the certificate this event speaks of:
        ``certificateId``, ``sha256Hash``, ``status`` and ``testMode``, in that order.
        A bundle without a ``certificateId`` cannot be shown to be it, and so differs."""
        mine, theirs = self.certificate, bundle.certificate
        pairs = [
            ("certificateId", mine.certificate_id, theirs.certificate_id),
            ("sha256Hash", mine.sha256_hash.hex(), theirs.sha256_hash.hex()),
            ("status", mine.status.value, Status(theirs.status).value),
            ("testMode", mine.test_mode, theirs.test_mode),
        ]
        return tuple(FieldMismatch(name, ours, other) for name, ours, other in pairs
                     if ours != other or type(ours) is not type(other))

    def matches(self, bundle: Bundle) -> bool:
        """Whether ``bundle`` is the proof of the certificate, in the state, that this
        event announces (no field of :meth:`mismatches` differs). A ``confirmed`` event
        and the bundle downloaded for it should match before it is verified."""
        return not self.mismatches(bundle)


# --------------------------------------------------------------------------- verifying


def verify_webhook(
    body: bytes,
    signature: str | None,
    secrets: str | Sequence[str],
    *,
    tolerance: timedelta = DEFAULT_TOLERANCE,
    now: datetime | None = None,
) -> WebhookEvent:
    """Check a delivery and return its event.

    Args:
        body: the raw request body, exactly as received (Flask ``request.get_data()``,
            Django ``request.body``, Starlette ``await request.body()``), never a
            decoded or re-serialised copy.
        signature: the ``X-Provelio-Signature`` header (None when it was absent).
        secrets: the webhook secret as shown (``whsec_…``), or several during a
            rotation; the first one that matches is reported as ``secret_index``.
        tolerance: how far the delivery's timestamp may be from ``now``, either way.
        now: the clock, timezone-aware (default: the system clock).

    Raises:
        WebhookSecretError: ``secrets`` is empty, or one is empty, not text, or has
            surrounding whitespace.
        WebhookSignatureError: the signature is missing, not 64 hex characters, or
            matches under no secret.
        WebhookPayloadError: the signed body is over :data:`MAX_WEBHOOK_BYTES`, not
            strict JSON, or not a valid delivery (the message names the field).
        WebhookTimeError: the timestamp is outside ``tolerance`` of ``now``.
        TypeError: ``body`` is not bytes (a decoded body cannot be checked).
        ValueError: ``now`` is naive, or ``tolerance`` is negative.
    """
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise TypeError(
            f"verify_webhook takes the raw body as bytes, not {type(body).__name__}: "
            "a decoded or re-serialised body does not carry the signed bytes"
        )
    body = bytes(body)
    clock = datetime.now(UTC) if now is None else _aware(now)
    if tolerance < timedelta(0):
        raise ValueError(f"tolerance must not be negative, got {tolerance}")
    keys = _keys(secrets)
    given = _signature_bytes(signature)
    if len(body) > MAX_WEBHOOK_BYTES:
        raise WebhookPayloadError(
            "", f"body is {len(body)} bytes, over the limit of {MAX_WEBHOOK_BYTES}")
    # (2) every secret's HMAC is computed and compared; none is skipped once one matched.
    results = [hmac.compare_digest(hmac.new(key, body, hashlib.sha256).digest(), given)
               for key in keys]
    if not any(results):
        count = "the secret" if len(keys) == 1 else f"any of the {len(keys)} secrets"
        raise WebhookSignatureError(
            f"signature does not match the body under {count} (a body decoded or "
            "re-serialised before the check, or a secret that is not this endpoint's?)"
        )
    # (3) and (4): the body is Provelio's; read it strictly.
    warnings: list[str] = []
    event, instant, stamp, certificate, metadata = _read_delivery(body, warnings)
    if abs(instant - clock) > tolerance:
        raise WebhookTimeError(_outside(instant, clock, tolerance), instant=instant,
                               now=clock, tolerance=tolerance)
    key = hashlib.sha256(f"{event.value}\n{certificate.certificate_id}".encode()).hexdigest()
    return WebhookEvent(
        event=event, instant=instant, timestamp=stamp, certificate=certificate,
        metadata=None if metadata is None else MappingProxyType(metadata),
        secret_index=results.index(True), idempotency_key=key,
        body_sha256=hashlib.sha256(body).hexdigest(), warnings=tuple(warnings),
    )


def secrets_from_env(value: str | None) -> tuple[str, ...]:
    """The secrets in an environment variable's value: one secret, or several separated
    by commas or newlines (a rotation); whitespace around each one, and blank lines,
    are ignored; ``a,,b`` is refused. A secret that contains a comma cannot be given this way.

    Raises:
        WebhookSecretError: the variable is unset or holds no secret.
    """
    if value is None:
        raise WebhookSecretError(f"{SECRET_ENV} is not set")
    found = tuple(re.split(r"[ \t\r]*[,\n][ \t\r\n]*", value.strip(_WHITESPACE)))
    if not any(found):
        raise WebhookSecretError(f"{SECRET_ENV} holds no secret")
    if not all(found):
        raise WebhookSecretError(f"{SECRET_ENV} has an empty entry between separators")
    return found


def _keys(secrets: str | Sequence[str]) -> list[bytes]:
    listed = [secrets] if isinstance(secrets, str) else secrets
    if isinstance(listed, (bytes, bytearray)) or not isinstance(listed, Sequence):
        raise WebhookSecretError(
            f"secrets must be a string or a sequence of strings, not {type(secrets).__name__}")
    if not listed:
        raise WebhookSecretError("no secret given")
    keys = []
    for i, secret in enumerate(listed):
        if not isinstance(secret, str):
            raise WebhookSecretError(f"secret {i} is {type(secret).__name__}, not a string")
        if not secret:
            raise WebhookSecretError(f"secret {i} is empty")
        if secret != secret.strip(_WHITESPACE):
            raise WebhookSecretError(
                f"secret {i} has leading or trailing whitespace (a newline from a file?)")
        try:
            keys.append(secret.encode("utf-8"))
        except UnicodeEncodeError:
            raise WebhookSecretError(f"secret {i} is not valid Unicode text") from None
    return keys


def _signature_bytes(signature: str | None) -> bytes:
    """(1) The signature's form, checked before anything is hashed."""
    if signature is None:
        raise WebhookSignatureError(f"{SIGNATURE_HEADER} is missing")
    if not isinstance(signature, str):
        raise WebhookSignatureError(
            f"signature must be a string, not {type(signature).__name__}")
    text = signature.strip(_WHITESPACE)
    if not text:
        raise WebhookSignatureError(f"{SIGNATURE_HEADER} is empty")
    if text[:7].lower() == "sha256=":
        raise WebhookSignatureError(
            "signature starts with 'sha256='; Provelio sends the bare hex HMAC")
    if not _HEX_SIGNATURE.fullmatch(text):
        bad = next((ch for ch in text if ch not in "0123456789abcdefABCDEF"), None)
        if bad is not None:
            raise WebhookSignatureError(f"signature is not hex: character {ascii(bad)}")
        raise WebhookSignatureError(
            f"signature has {len(text)} hex characters, expected {_SIGNATURE_HEX} "
            "(HMAC-SHA256)")
    return bytes.fromhex(text)


_TOP_KEYS = ("event", "timestamp", "data")
_DATA_KEYS = ("certificateId", "publicId", "status", "fileName", "sha256Hash", "testMode",
              "metadata")


def _read_delivery(body: bytes, warnings: list[str]) -> tuple[
        EventType, datetime, str, WebhookCertificate, dict[str, Any] | None]:
    try:
        document = load_json(body, warnings)
        if not isinstance(document, dict):
            raise BundleFormatError("", f"expected a JSON object, got {kind(document)}")
        top = Obj(document, "", _TOP_KEYS, warnings)
        event = _event(top)
        stamp = top.string("timestamp", required=True)
        data = top.obj("data", _DATA_KEYS, warnings, required=True)
        assert stamp is not None and data is not None
        instant = _instant(stamp)
        certificate, metadata = _read_data(data, event)
    except BundleFormatError as exc:
        # The strict reader was written for bundles; here the bytes are a body.
        raise WebhookPayloadError(exc.field, _body(exc.problem)) from None
    warnings[:] = [_body(w) for w in warnings]
    return event, instant, stamp, certificate, metadata


def _body(text: str) -> str:
    return "body" + text[len("bundle"):] if text.startswith("bundle ") else text


def _event(top: Obj) -> EventType:
    value = top.string("event", required=True)
    assert value is not None
    try:
        return EventType(value)
    except ValueError:
        allowed = ", ".join(e.value for e in EventType)
        raise BundleFormatError("event", f"{_show(value)} is not one of {allowed}") from None


def _read_data(data: Obj, event: EventType) -> tuple[WebhookCertificate, dict[str, Any] | None]:
    ids = {}
    for key in ("certificateId", "publicId"):
        value = data.string(key, required=True)
        if not value:
            raise BundleFormatError(data.where(key), "must not be empty")
        ids[key] = value
    status = data.choice("status", Status)
    if status is not event.status:
        raise BundleFormatError(
            data.where("status"),
            f"event {event.value} needs status {_show(event.status.value)}, "
            f"got {_show(status.value)}")
    raw_hash = data.string("sha256Hash", required=True)
    assert raw_hash is not None
    digest = read_hex(raw_hash, data.where("sha256Hash"), 32)
    test_mode = data.boolean("testMode", required=True)
    assert test_mode is not None
    # As in the bundle (contract §2): metadata is any JSON object or absent; null is
    # not a value of it.
    metadata = data.raw("metadata", required=False)
    if metadata is not None and not isinstance(metadata, dict):
        raise BundleFormatError(data.where("metadata"), f"expected an object, got {kind(metadata)}")
    certificate = WebhookCertificate(
        certificate_id=ids["certificateId"], public_id=ids["publicId"], status=status,
        sha256_hash=digest, test_mode=test_mode, file_name=data.string("fileName"))
    return certificate, metadata


def _instant(text: str) -> datetime:
    """(4) RFC 3339 §5.6 date-time with a required offset, in UTC. Fractions past
    microseconds are cut; a leap second (``:60``) is refused (Python cannot hold it)."""
    where = "timestamp"
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise BundleFormatError(
            where, f"{_show(text)} is not an RFC 3339 instant with an offset "
            "(like 2026-04-19T10:12:00Z or 2026-04-19T12:12:00+02:00)")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, zulu, sign, off_h, off_m = match.groups()[6:]
    if second == 60:
        raise BundleFormatError(where, f"{_show(text)} names a leap second")
    try:
        offset = timedelta(0) if zulu else \
            (1 if sign == "+" else -1) * timedelta(hours=int(off_h), minutes=int(off_m))
        if int(off_h or 0) > 23 or int(off_m or 0) > 59:
            raise ValueError("offset out of range")
        micro = int((fraction or "0").ljust(6, "0")[:6])
        local = datetime(year, month, day, hour, minute, second, micro,
                         tzinfo=timezone(offset))
        return local.astimezone(UTC)
    except (ValueError, OverflowError):
        raise BundleFormatError(where, f"{_show(text)} is not a valid date and time") from None


def _outside(instant: datetime, now: datetime, tolerance: timedelta) -> str:
    gap = instant - now
    direction = "after" if gap > timedelta(0) else "before"
    return (f"timestamp {_iso(instant)} is {_span(abs(gap))} {direction} now ({_iso(now)}), "
            f"outside the tolerance of {_span(tolerance)}")


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


# --------------------------------------------------------------------------- output


def event_to_json(event: WebhookEvent) -> dict[str, Any]:
    """The event as JSON-ready values, in the delivery's own field names, plus what the
    check established (``instant``, ``secretIndex``, ``idempotencyKey``, ``bodySha256``,
    ``warnings``). Never a secret."""
    cert = event.certificate
    data: dict[str, Any] = {
        "certificateId": cert.certificate_id, "publicId": cert.public_id,
        "status": cert.status.value, "sha256Hash": cert.sha256_hash.hex(),
        "testMode": cert.test_mode,
    }
    if cert.file_name is not None:
        data["fileName"] = cert.file_name
    if event.metadata is not None:
        data["metadata"] = dict(event.metadata)
    return {
        "event": event.event.value, "timestamp": event.timestamp,
        "instant": _iso(event.instant), "data": data, "secretIndex": event.secret_index,
        "idempotencyKey": event.idempotency_key, "bodySha256": event.body_sha256,
        "warnings": list(event.warnings),
    }


def describe(event: WebhookEvent) -> str:
    """The event as text for a person; the sender's strings are shown escaped, so no
    control character reaches the terminal."""
    cert = event.certificate
    lines = [
        f"webhook {event.event.value}: signature valid (secret {event.secret_index}), "
        f"sent {_iso(event.instant)}",
        f"  certificate   {_printable(cert.certificate_id)} "
        f"(public id {_printable(cert.public_id)})",
        f"  status        {cert.status.value}",
        f"  sha256Hash    {cert.sha256_hash.hex()}",
        f"  test mode     {'yes (not evidence)' if cert.test_mode else 'no'}",
    ]
    if cert.file_name is not None:
        lines.append(f"  file name     {_printable(cert.file_name)}")
    if event.metadata is not None:
        lines.append(f"  metadata      {json.dumps(dict(event.metadata), ensure_ascii=True)}")
    lines.append(f"  idempotency   {event.idempotency_key}")
    lines.extend(f"  warning: {_printable(w)}" for w in event.warnings)
    if event.event is EventType.CONFIRMED:
        lines.append("next: download the proof bundle, check event.matches(bundle), "
                     "then verify it: provelio-verify FILE proof.json")
    return "\n".join(lines)


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 72 else text[:71] + "…"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{delta.total_seconds():g}s"
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m"),
                                           (secs, "s")) if n]
    return "".join(parts)
