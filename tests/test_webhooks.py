"""Webhook deliveries (issue 12): provelio_verify.webhooks and its command line.

There is no example delivery from Provelio on this machine, so the test vector is built
from the scheme the issue states: the body below, the HMAC-SHA256 of its exact bytes
keyed with the whole ``whsec_…`` string as UTF-8, as lowercase hex. Its signature is
pinned here and checked against an independent implementation,
``openssl dgst -sha256 -hmac KEY``, so a mistake in how the key or body is fed to HMAC
would show as a disagreement, not as two matching halves of one error.

Each fault test changes one thing of a delivery that passes, and re-signs it when the
fault is in the body (a duplicated key, an unknown event, a mismatched status), so the
check under test is the only one that can refuse it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.common import SCENARIOS
from provelio_verify import webhooks
from provelio_verify.bundle import parse_bundle
from provelio_verify.errors import ProvelioError
from provelio_verify.webhooks import (
    EventType,
    WebhookError,
    WebhookPayloadError,
    WebhookSecretError,
    WebhookSignatureError,
    WebhookTimeError,
    describe,
    event_to_json,
    secrets_from_env,
    verify_webhook,
)

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER_SECRET = "whsec_7b1cRotatedOutSecretValue00000"
BODY = (
    b'{"event":"certificate.confirmed","timestamp":"2026-04-19T10:12:00.000Z",'
    b'"data":{"certificateId":"550e8400-e29b-41d4-a716-446655440000",'
    b'"publicId":"abc123def456","status":"confirmed","fileName":"document.pdf",'
    b'"sha256Hash":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",'
    b'"testMode":false,"metadata":{"customerId":"cust_abc123","orderId":"ord_xyz789"}}}'
)
#: printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$SECRET", run once and pinned.
SIGNATURE = "c8b893fb894de7620213321818eca7388afd706c911bbe66d394e265bf2e8508"
SENT = datetime(2026, 4, 19, 10, 12, tzinfo=UTC)
NOW = SENT + timedelta(seconds=30)


def sign(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def delivery(event: str = "certificate.confirmed", status: str = "confirmed",
             timestamp: str = "2026-04-19T10:12:00.000Z", **data: Any) -> bytes:
    fields: dict[str, Any] = {
        "certificateId": "550e8400-e29b-41d4-a716-446655440000", "publicId": "abc123def456",
        "status": status, "fileName": "document.pdf",
        "sha256Hash": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "testMode": False, "metadata": {"customerId": "cust_abc123"},
    }
    for key, value in data.items():
        if value is _ABSENT:
            fields.pop(key)
        else:
            fields[key] = value
    return json.dumps({"event": event, "timestamp": timestamp, "data": fields}).encode()


_ABSENT = object()


def check(body: bytes, **kwargs: Any) -> webhooks.WebhookEvent:
    return verify_webhook(body, sign(body), SECRET, now=NOW, **kwargs)


# --------------------------------------------------------------------------- the vector


def test_vector_signature_is_the_pinned_one_and_openssl_agrees():
    assert sign(BODY) == SIGNATURE
    openssl = shutil.which("openssl")
    if openssl is None:  # pragma: no cover - scripts/test installs it
        pytest.skip("openssl is not installed: the independent oracle is missing")
    out = subprocess.run([openssl, "dgst", "-sha256", "-hmac", SECRET], input=BODY,
                         capture_output=True, check=True).stdout.decode()
    assert out.split()[-1] == SIGNATURE


def test_vector_verifies_and_is_read_whole():
    event = verify_webhook(BODY, SIGNATURE, SECRET, now=NOW)
    assert event.event is EventType.CONFIRMED
    assert event.instant == SENT and event.timestamp == "2026-04-19T10:12:00.000Z"
    cert = event.certificate
    assert cert.certificate_id == "550e8400-e29b-41d4-a716-446655440000"
    assert cert.public_id == "abc123def456" and cert.status.value == "confirmed"
    assert cert.sha256_hash.hex() == \
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert cert.test_mode is False and cert.file_name == "document.pdf"
    assert event.metadata == {"customerId": "cust_abc123", "orderId": "ord_xyz789"}
    assert event.secret_index == 0 and event.warnings == ()
    assert event.body_sha256 == hashlib.sha256(BODY).hexdigest()
    assert event.idempotency_key == hashlib.sha256(
        b"certificate.confirmed\n550e8400-e29b-41d4-a716-446655440000").hexdigest()


def test_event_is_frozen_and_its_metadata_read_only():
    event = verify_webhook(BODY, SIGNATURE, SECRET, now=NOW)
    with pytest.raises(AttributeError):
        event.secret_index = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        event.metadata["orderId"] = "x"  # type: ignore[index]


def test_a_restamped_retry_keeps_the_idempotency_key_not_the_body_hash():
    first = check(delivery(timestamp="2026-04-19T10:12:00Z"))
    retry = check(delivery(timestamp="2026-04-19T10:12:20Z"))
    assert first.idempotency_key == retry.idempotency_key
    assert first.body_sha256 != retry.body_sha256
    assert check(delivery("certificate.anchoring", "anchoring")).idempotency_key \
        != first.idempotency_key


# --------------------------------------------------------------------------- the signature


def test_tampered_byte_fails_the_signature():
    tampered = BODY.replace(b"document.pdf", b"document.pdg")
    with pytest.raises(WebhookSignatureError, match="does not match the body"):
        verify_webhook(tampered, SIGNATURE, SECRET, now=NOW)


def test_swapped_secret_fails_the_signature():
    with pytest.raises(WebhookSignatureError, match="under the secret"):
        verify_webhook(BODY, SIGNATURE, OTHER_SECRET, now=NOW)


def test_signature_message_never_holds_the_expected_hmac_or_a_secret():
    with pytest.raises(WebhookSignatureError) as caught:
        verify_webhook(BODY, "0" * 64, [SECRET, OTHER_SECRET], now=NOW)
    text = str(caught.value)
    assert SIGNATURE not in text and SECRET not in text and OTHER_SECRET not in text
    assert "any of the 2 secrets" in text


def test_rotation_second_secret_matches():
    event = verify_webhook(BODY, SIGNATURE, [OTHER_SECRET, SECRET], now=NOW)
    assert event.secret_index == 1
    assert verify_webhook(BODY, SIGNATURE, (SECRET, OTHER_SECRET), now=NOW).secret_index == 0


def test_every_secret_is_compared_even_after_a_match(monkeypatch):
    calls = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append(1)
        return real(a, b)

    monkeypatch.setattr(webhooks.hmac, "compare_digest", counting)
    verify_webhook(BODY, SIGNATURE, [SECRET, OTHER_SECRET, OTHER_SECRET + "x"], now=NOW)
    assert len(calls) == 3


@pytest.mark.parametrize("given", [SIGNATURE.upper(), f"  {SIGNATURE}\r\n",
                                   SIGNATURE[:10].upper() + SIGNATURE[10:]])
def test_uppercase_mixed_case_and_surrounding_whitespace_are_accepted(given):
    assert verify_webhook(BODY, given, SECRET, now=NOW).event is EventType.CONFIRMED


@pytest.mark.parametrize(("signature", "message"), [
    (None, "X-Provelio-Signature is missing"),
    ("", "X-Provelio-Signature is empty"),
    (" \t", "X-Provelio-Signature is empty"),
    ("g" + SIGNATURE[1:], "not hex: character 'g'"),
    (SIGNATURE[:-1] + "\u0660", "not hex: character '\\\\u0660'"),
    ("0x" + SIGNATURE[2:], "not hex: character 'x'"),
    (SIGNATURE[:-2], "62 hex characters, expected 64"),
    (SIGNATURE + "00", "66 hex characters, expected 64"),
    ("sha256=" + SIGNATURE, "starts with 'sha256='"),
    ("SHA256=" + SIGNATURE, "starts with 'sha256='"),
    (SIGNATURE[:32] + " " + SIGNATURE[32:], "not hex: character ' '"),
])
def test_malformed_signatures_are_refused_by_form(signature, message):
    with pytest.raises(WebhookSignatureError, match=message):
        verify_webhook(BODY, signature, SECRET, now=NOW)


def test_signature_is_checked_before_the_body_is_read():
    # Not JSON at all, and a wrong signature: the answer is about the signature.
    with pytest.raises(WebhookSignatureError):
        verify_webhook(b'{"a":1,"a":2', "ab" * 32, SECRET, now=NOW)


@pytest.mark.parametrize(("secrets", "message"), [
    ([], "no secret given"),
    ("", "secret 0 is empty"),
    ([SECRET, ""], "secret 1 is empty"),
    (SECRET + "\n", "secret 0 has leading or trailing whitespace"),
    ([b"whsec_x"], "secret 0 is bytes"),
    (b"whsec_x", "not bytes"),
    ("whsec_\udcff", "not valid Unicode"),
])
def test_unusable_secrets_are_refused(secrets, message):
    with pytest.raises(WebhookSecretError, match=message):
        verify_webhook(BODY, SIGNATURE, secrets, now=NOW)


def test_a_decoded_body_is_a_type_error_that_says_why():
    with pytest.raises(TypeError, match="raw body as bytes"):
        verify_webhook(BODY.decode(), SIGNATURE, SECRET, now=NOW)  # type: ignore[arg-type]


def test_an_oversized_body_is_refused_before_hashing():
    big = b" " * (webhooks.MAX_WEBHOOK_BYTES + 1)
    with pytest.raises(WebhookPayloadError, match="over the limit"):
        verify_webhook(big, sign(big), SECRET, now=NOW)


# --------------------------------------------------------------------------- the time


def test_old_timestamp_fails_the_time_window():
    late = SENT + timedelta(minutes=5, seconds=1)
    with pytest.raises(WebhookTimeError) as caught:
        verify_webhook(BODY, SIGNATURE, SECRET, now=late)
    error = caught.value
    assert error.instant == SENT and error.now == late
    assert error.tolerance == timedelta(minutes=5)
    assert "2026-04-19T10:12:00Z is 5m1s before now (2026-04-19T10:17:01Z)" in str(error)


def test_future_timestamp_fails_the_time_window():
    early = SENT - timedelta(minutes=6)
    with pytest.raises(WebhookTimeError, match="6m after now"):
        verify_webhook(BODY, SIGNATURE, SECRET, now=early)


def test_the_window_edges_are_inside_and_tolerance_is_the_callers():
    for now in (SENT + timedelta(minutes=5), SENT - timedelta(minutes=5)):
        assert verify_webhook(BODY, SIGNATURE, SECRET, now=now).instant == SENT
    later = SENT + timedelta(hours=2)
    assert verify_webhook(BODY, SIGNATURE, SECRET, now=later,
                          tolerance=timedelta(hours=3)).instant == SENT


def test_the_clock_must_be_aware_and_the_tolerance_not_negative():
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_webhook(BODY, SIGNATURE, SECRET, now=datetime(2026, 4, 19, 10, 12))
    with pytest.raises(ValueError, match="negative"):
        verify_webhook(BODY, SIGNATURE, SECRET, now=NOW, tolerance=timedelta(seconds=-1))


@pytest.mark.parametrize(("stamp", "instant"), [
    ("2026-04-19T12:12:00+02:00", SENT),
    ("2026-04-19T05:42:00-04:30", SENT),
    ("2026-04-19t10:12:00z", SENT),
    ("2026-04-19T10:12:00-00:00", SENT),
    ("2026-04-19T10:12:00.123456789Z", SENT + timedelta(microseconds=123456)),
])
def test_rfc3339_instants_with_an_offset_are_read_in_utc(stamp, instant):
    assert check(delivery(timestamp=stamp)).instant == instant


@pytest.mark.parametrize(("stamp", "message"), [
    ("2026-04-19T10:12:00", "not an RFC 3339 instant with an offset"),
    ("2026-04-19 10:12:00Z", "not an RFC 3339 instant"),
    ("1776593520", "not an RFC 3339 instant"),
    ("2026-02-30T10:12:00Z", "not a valid date and time"),
    ("2026-04-19T24:00:00Z", "not a valid date and time"),
    ("2026-04-19T10:12:00+24:00", "not a valid date and time"),
    ("0001-01-01T00:00:00+01:00", "not a valid date and time"),
    ("2016-12-31T23:59:60Z", "leap second"),
])
def test_timestamps_that_are_not_instants_are_payload_errors(stamp, message):
    with pytest.raises(WebhookPayloadError, match=message) as caught:
        check(delivery(timestamp=stamp))
    assert caught.value.field == "timestamp"


# --------------------------------------------------------------------------- the payload


def test_duplicated_key_fails_the_payload():
    body = BODY.replace(b'"testMode":false', b'"testMode":false,"testMode":true')
    with pytest.raises(WebhookPayloadError, match="duplicated key 'testMode'"):
        check(body)


def test_unknown_event_fails_the_payload():
    with pytest.raises(WebhookPayloadError) as caught:
        check(delivery("certificate.revoked"))
    assert caught.value.field == "event"
    assert '"certificate.revoked" is not one of certificate.created' in str(caught.value)


def test_status_that_disagrees_with_the_event_fails_the_payload():
    with pytest.raises(WebhookPayloadError) as caught:
        check(delivery("certificate.confirmed", "anchoring"))
    assert caught.value.field == "data.status"
    assert 'event certificate.confirmed needs status "confirmed", got "anchoring"' \
        in str(caught.value)


@pytest.mark.parametrize("event", list(EventType))
def test_each_event_with_its_status_passes(event):
    assert check(delivery(event.value, event.status.value)).event is event


@pytest.mark.parametrize(("change", "where", "message"), [
    ({"sha256Hash": "e3b0" * 15}, "data.sha256Hash", "expected 64 hex characters"),
    ({"sha256Hash": "z" * 64}, "data.sha256Hash", "not hex"),
    ({"sha256Hash": 5}, "data.sha256Hash", "expected a string, got an integer"),
    ({"testMode": "false"}, "data.testMode", "expected true or false, got a string"),
    ({"testMode": 0}, "data.testMode", "expected true or false, got an integer"),
    ({"testMode": _ABSENT}, "data.testMode", "required field is missing"),
    ({"certificateId": ""}, "data.certificateId", "must not be empty"),
    ({"certificateId": 7}, "data.certificateId", "expected a string"),
    ({"publicId": _ABSENT}, "data.publicId", "required field is missing"),
    ({"fileName": 5}, "data.fileName", "expected a string"),
    ({"fileName": None}, "data.fileName", "null is not allowed"),
    ({"metadata": []}, "data.metadata", "expected an object, got an array"),
    ({"metadata": None}, "data.metadata", "null is not allowed"),
    ({"status": "pending"}, "data.status", '"pending" is not one of created, anchoring'),
])
def test_each_malformed_field_is_named(change, where, message):
    with pytest.raises(WebhookPayloadError, match=message) as caught:
        check(delivery(**change))
    assert caught.value.field == where


def test_optional_fields_may_be_absent_and_unknown_keys_are_warnings():
    event = check(delivery(fileName=_ABSENT, metadata=_ABSENT, deliveryAttempt=2))
    assert event.certificate.file_name is None and event.metadata is None
    assert event.warnings == ("unknown key data.deliveryAttempt ignored",)


@pytest.mark.parametrize(("body", "message"), [
    (b"[]", "expected a JSON object, got an array"),
    (b'{"event":"certificate.created","timestamp":"2026-04-19T10:12:00Z"}',
     "data: required field is missing"),
    (b'{"event":"certificate.created","timestamp":"2026-04-19T10:12:00Z","data":null}',
     "data: null is not allowed"),
    (b'{"event":"certificate.created","timestamp":NaN,"data":{}}', "NaN is not a JSON value"),
    (b"\xff{}", "body is not UTF-8: byte 0xff at offset 0"),
    (b"[" * 5000 + b"]" * 5000, "nest"),
    (b"", "not JSON"),
])
def test_bodies_that_are_not_deliveries_are_payload_errors(body, message):
    with pytest.raises(WebhookPayloadError, match=message):
        check(body)


def test_metadata_is_echoed_untouched():
    metadata = {"n": 1.5, "deep": {"list": [1, "two", None, True]}, "ü": "\u2603"}
    assert check(delivery(metadata=metadata)).metadata == metadata


# --------------------------------------------------------------------------- bundles


CONFIRMED = SCENARIOS / "ok-confirmed-regtest"


def _event_for(certificate: dict[str, Any], **change: Any) -> webhooks.WebhookEvent:
    fields = {key: certificate[key] for key in
              ("certificateId", "publicId", "status", "sha256Hash", "testMode")}
    fields.update(change)
    return check(delivery(**fields))


def test_a_confirmed_event_matches_its_bundle():
    raw = (CONFIRMED / "proof.json").read_bytes()
    event = _event_for(json.loads(raw)["certificate"])
    bundle = parse_bundle(raw)
    assert event.matches(bundle) and event.mismatches(bundle) == ()


@pytest.mark.parametrize(("change", "field"), [
    ({"certificateId": "another"}, "certificateId"),
    ({"sha256Hash": "00" * 32}, "sha256Hash"),
    ({"testMode": False}, "testMode"),
])
def test_a_bundle_of_another_certificate_does_not_match(change, field):
    raw = (CONFIRMED / "proof.json").read_bytes()
    certificate = json.loads(raw)["certificate"]
    event = _event_for(certificate, **change)
    found = event.mismatches(parse_bundle(raw))
    assert [m.field for m in found] == [field] and not event.matches(parse_bundle(raw))
    assert str(found[0]).startswith(f"{field}: the event has ")


def test_an_event_of_another_status_does_not_match():
    raw = (SCENARIOS / "ok-created" / "proof.json").read_bytes()
    event = _event_for(json.loads(raw)["certificate"], status="confirmed")
    found = event.mismatches(parse_bundle(raw))
    assert [(m.field, m.event_value, m.bundle_value) for m in found] == \
        [("status", "confirmed", "created")]


def test_confirmed_then_download_then_verify():
    """The flow docs/webhooks.md tells: on certificate.confirmed, fetch the bundle,
    check it is the one the event speaks of, and verify it independently."""
    from provelio_verify import Indication, Policy, load_certificates, verify
    from provelio_verify.chain import HeadersFileSource

    raw = (CONFIRMED / "proof.json").read_bytes()
    event = _event_for(json.loads(raw)["certificate"])
    bundle = parse_bundle(raw)
    assert event.event is EventType.CONFIRMED and event.matches(bundle)
    policy = Policy(tsa_roots=load_certificates(CONFIRMED / "roots.pem"), allow_test_mode=True)
    report = verify(CONFIRMED / "document.txt", bundle, policy=policy,
                    sources=[HeadersFileSource(CONFIRMED / "headers.bin")])
    assert report.indication is Indication.PASSED


# --------------------------------------------------------------------------- output


def test_event_to_json_is_json_and_holds_no_secret():
    event = verify_webhook(BODY, SIGNATURE, [OTHER_SECRET, SECRET], now=NOW)
    data = event_to_json(event)
    text = json.dumps(data, allow_nan=False)
    assert SECRET not in text and OTHER_SECRET not in text
    assert data["event"] == "certificate.confirmed" and data["secretIndex"] == 1
    assert data["instant"] == "2026-04-19T10:12:00Z"
    assert data["data"] == json.loads(BODY)["data"]


def test_describe_names_the_event_and_escapes_the_senders_strings():
    event = check(delivery(fileName="evil\x1b[2J.pdf\n"))
    text = describe(event)
    assert "webhook certificate.confirmed: signature valid (secret 0)" in text
    assert "\x1b" not in text and "evil\\x1b[2J.pdf\\n" in text
    assert "provelio-verify FILE proof.json" in text


@pytest.mark.parametrize(("value", "found"), [
    (SECRET, (SECRET,)),
    (f"{OTHER_SECRET},{SECRET}", (OTHER_SECRET, SECRET)),
    (f" {OTHER_SECRET} ,\n{SECRET}\n", (OTHER_SECRET, SECRET)),
    (f"{OTHER_SECRET}\n\n{SECRET}", (OTHER_SECRET, SECRET)),
])
def test_secrets_from_env(value, found):
    assert secrets_from_env(value) == found


@pytest.mark.parametrize(("value", "message"), [
    (None, "PROVELIO_WEBHOOK_SECRET is not set"),
    ("", "holds no secret"), (" \n", "holds no secret"),
    ("a,,b", "empty entry"),
])
def test_secrets_from_env_refuses_nothing(value, message):
    with pytest.raises(WebhookSecretError, match=message):
        secrets_from_env(value)


def test_errors_have_one_root():
    for error in (WebhookSecretError, WebhookSignatureError, WebhookPayloadError,
                  WebhookTimeError):
        assert issubclass(error, WebhookError) and issubclass(error, ProvelioError)


# --------------------------------------------------------------------------- properties


@given(body=st.binary(max_size=400), signature=st.one_of(st.none(), st.text(max_size=80)),
       secrets=st.one_of(st.text(max_size=40), st.lists(st.text(max_size=40), max_size=3)))
def test_arbitrary_inputs_raise_only_webhook_errors(body, signature, secrets):
    with contextlib.suppress(WebhookError):
        verify_webhook(body, signature, secrets, now=NOW)


@st.composite
def mutated_body(draw: st.DrawFn) -> bytes:
    raw = bytearray(BODY)
    action = draw(st.sampled_from(["flip", "truncate", "insert", "nest", "value"]))
    if action == "flip":
        bit = draw(st.integers(0, len(raw) * 8 - 1))
        raw[bit // 8] ^= 1 << (bit % 8)
    elif action == "truncate":
        del raw[draw(st.integers(0, len(raw))):]
    elif action == "insert":
        at = draw(st.integers(0, len(raw)))
        raw[at:at] = draw(st.one_of(st.binary(min_size=1, max_size=16), st.sampled_from(
            [b"9" * 5000, b"1e999", b'"\\ud800"', b"NaN", b"\x00", b'"a":1,"a":2'])))
    elif action == "nest":
        depth = draw(st.integers(1, 3000))
        at = draw(st.integers(0, len(raw)))
        raw[at:at] = b"[" * depth + b"]" * depth
    else:
        document = json.loads(BODY)
        value = draw(st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
            | st.text(max_size=20),
            lambda inner: st.lists(inner, max_size=3)
            | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8))
        key = draw(st.sampled_from(["event", "timestamp", "data", *document["data"]]))
        (document if key in document else document["data"])[key] = value
        return json.dumps(document).encode()
    return bytes(raw)


@given(body=mutated_body())
def test_signed_mutated_bodies_raise_only_payload_or_time_errors(body):
    """Signed, so the reader is reached: whatever the bytes, a typed refusal or an
    event, never another exception."""
    try:
        event = verify_webhook(body, sign(body), SECRET, now=NOW)
    except (WebhookPayloadError, WebhookTimeError):
        return
    json.dumps(event_to_json(event), allow_nan=False)
    describe(event)


# --------------------------------------------------------------------------- the command


def _now_body(**change: Any) -> bytes:
    stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return delivery(timestamp=stamp, **change)


def run_cli(args: list[str], secret: str | None) -> subprocess.CompletedProcess[str]:
    """The real command line in a child process, PROVELIO_WEBHOOK_SECRET set to
    ``secret`` or removed (whatever the calling shell has)."""
    env = {k: v for k, v in os.environ.items() if k != "PROVELIO_WEBHOOK_SECRET"}
    if secret is not None:
        env["PROVELIO_WEBHOOK_SECRET"] = secret
    return subprocess.run([sys.executable, "-m", "provelio_verify", *args], env=env,
                          capture_output=True, text=True, timeout=60)


class TestCommand:
    """``provelio-verify --webhook BODY_FILE --signature HEX [--json]``, the secret(s)
    from PROVELIO_WEBHOOK_SECRET: exit 0 and the event, 1 and the reason, 2 for usage."""

    def _run(self, tmp_path, body: bytes, signature: str, *extra: str,
             secret: str | None = SECRET) -> subprocess.CompletedProcess[str]:
        path = tmp_path / "body.json"
        path.write_bytes(body)
        proc = run_cli(["--webhook", str(path), "--signature", signature, *extra], secret)
        assert SECRET not in proc.stdout + proc.stderr
        return proc

    def test_valid_delivery_prints_the_event(self, tmp_path):
        body = _now_body()
        proc = self._run(tmp_path, body, sign(body))
        assert proc.returncode == 0, proc.stderr
        assert "certificate.confirmed" in proc.stdout
        assert "550e8400-e29b-41d4-a716-446655440000" in proc.stdout

    def test_json_prints_the_event_as_json(self, tmp_path):
        body = _now_body()
        proc = self._run(tmp_path, body, sign(body).upper(), "--json")
        assert proc.returncode == 0, proc.stderr
        data = json.loads(proc.stdout)
        assert data["event"] == "certificate.confirmed" and data["secretIndex"] == 0

    def test_rotation_in_the_environment(self, tmp_path):
        body = _now_body()
        proc = self._run(tmp_path, body, sign(body), "--json",
                         secret=f"{OTHER_SECRET},{SECRET}")
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["secretIndex"] == 1

    def test_tampered_body_exits_1_with_the_reason(self, tmp_path):
        body = _now_body()
        proc = self._run(tmp_path, body + b" ", sign(body))
        assert proc.returncode == 1
        assert "does not match the body" in proc.stderr + proc.stdout

    def test_old_delivery_exits_1(self, tmp_path):
        proc = self._run(tmp_path, BODY, SIGNATURE)
        assert proc.returncode == 1
        assert "before now" in proc.stderr + proc.stdout

    def test_missing_secret_is_a_usage_error(self, tmp_path):
        body = _now_body()
        proc = self._run(tmp_path, body, sign(body), secret=None)
        assert proc.returncode == 2
        assert "PROVELIO_WEBHOOK_SECRET" in proc.stderr

    def test_unreadable_body_file_is_a_usage_error(self, tmp_path):
        proc = run_cli(["--webhook", str(tmp_path / "absent.json"), "--signature", SIGNATURE],
                       SECRET)
        assert proc.returncode == 2
        assert "absent.json" in proc.stderr

    def test_webhook_without_signature_is_a_usage_error(self, tmp_path):
        path = tmp_path / "body.json"
        path.write_bytes(BODY)
        proc = run_cli(["--webhook", str(path)], SECRET)
        assert proc.returncode == 2
        assert "--signature" in proc.stderr and "No such option" not in proc.stderr

    def test_body_from_standard_input(self):
        body = _now_body()
        env = {k: v for k, v in os.environ.items() if k != "PROVELIO_WEBHOOK_SECRET"}
        env["PROVELIO_WEBHOOK_SECRET"] = SECRET
        proc = subprocess.run([sys.executable, "-m", "provelio_verify", "--webhook", "-",
                               "--signature", sign(body), "--json"], input=body, env=env,
                              capture_output=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["event"] == "certificate.confirmed"

    def test_tolerance_widens_the_window(self, tmp_path):
        """The seed's example delivery is years old: refused at the default window,
        accepted once the window is wider than its age."""
        assert self._run(tmp_path, BODY, SIGNATURE).returncode == 1
        proc = self._run(tmp_path, BODY, SIGNATURE, "--tolerance", str(10 ** 10))
        assert proc.returncode == 0, proc.stderr

    def test_negative_tolerance_is_a_usage_error(self, tmp_path):
        proc = self._run(tmp_path, BODY, SIGNATURE, "--tolerance", "-1")
        assert proc.returncode == 2 and "--tolerance" in proc.stderr

    def test_oversize_body_is_refused(self, tmp_path):
        body = b" " * (webhooks.MAX_WEBHOOK_BYTES + 10)
        proc = self._run(tmp_path, body, sign(body))
        assert proc.returncode == 1 and "over the limit" in proc.stderr

    @pytest.mark.parametrize("extra", [
        ["doc.pdf", "proof.json"], ["--digest", "00" * 32], ["--batch", "folder"],
        ["--evidence", "capsule"], ["--esplora", "http://127.0.0.1:1"],
        ["--html", "out.html"], ["--tsa-roots", "roots.pem"],
    ])
    def test_verification_options_do_not_go_with_webhook(self, tmp_path, extra):
        proc = self._run(tmp_path, BODY, SIGNATURE, *extra)
        assert proc.returncode == 2
        named = extra[0] if extra[0].startswith("-") else "FILE PROOF"
        assert "not with --webhook" in proc.stderr and named in proc.stderr

    @pytest.mark.parametrize("extra", [["--signature", SIGNATURE], ["--tolerance", "5"]])
    def test_webhook_options_alone_are_usage_errors(self, extra):
        proc = run_cli(["--digest", "00" * 32, "proof.json", *extra], SECRET)
        assert proc.returncode == 2
        assert f"only with --webhook BODY_FILE: {extra[0]}" in proc.stderr

    def test_secret_in_the_environment_is_never_printed_even_on_refusal(self, tmp_path):
        body = _now_body()
        for signature in (sign(body, OTHER_SECRET), "zz", sign(body)):
            proc = self._run(tmp_path, body + b"\n", signature, "--json")
            assert SECRET not in proc.stdout + proc.stderr
            assert proc.returncode in (1, 2)
