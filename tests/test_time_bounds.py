"""Issue 8, item 10: times from a token, a header or a clock never overflow a datetime.

``accuracy.seconds`` = 10^20 cannot become a timedelta, and genTime 9999-12-31T23:59:59Z
plus one second is past ``datetime.max``: both used to raise OverflowError before any
check ran, even with a broken signature. Now the accuracy is bounded
(``MAX_ACCURACY``), genTime must lie ``GEN_TIME_HEADROOM`` clear of the calendar's
ends, and sums with a clock are held to the calendar (``_time.shift``): each is a
``timestamp.token`` FAILED with a message, or no overflow at all.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import core, tsp
from hypothesis import given
from hypothesis import strategies as st

from helpers.tsa_helpers import (
    GEN_TIME,
    NOW,
    cms_edit,
    scenario_token,
    tsa_tokens,
    tsa_world,
    verify_token,
)
from provelio_verify import Indication, Policy, SubIndication
from provelio_verify._time import EARLIEST, LATEST, rfc3339, shift
from provelio_verify.core.timestamp.tstinfo import GEN_TIME_HEADROOM, MAX_ACCURACY
from provelio_verify.verifier.assemble import BLOCK_TIME_TOLERANCE, existence

FAILED_FORMAT = (Indication.FAILED, SubIndication.FORMAT_FAILURE)
LATER_CHECKS = ("timestamp.imprint", "timestamp.signature", "timestamp.signing-certificate",
                "timestamp.tsa-certificate", "timestamp.chain")


def _token_check(report):
    check = report.check("timestamp.token")
    return (check.indication, check.sub_indication), check.message


def _with_tst(edit, *, resign: bool = True) -> bytes:
    """The committed ok token with its TSTInfo edited: re-signed by the same TSA (a
    valid signature), or not (the signature no longer covers the TSTInfo)."""
    token = scenario_token("ok-created")
    if resign:
        return cms_edit.resign(token, tsa_world().tsas["rsa2048"], edit_tst=edit)

    def unsigned(info):
        encap = info["content"]["encap_content_info"]
        tst = tsp.TSTInfo.load(encap["content"].contents)
        edit(tst)
        encap["content"] = core.ParsableOctetString(tst.dump())
    return cms_edit.edit_token(token, unsigned)


def _accuracy(seconds: int, millis: int | None = None):
    def edit(tst: tsp.TSTInfo) -> None:
        value = {"seconds": seconds}
        if millis is not None:
            value["millis"] = millis
        tst["accuracy"] = value
    return edit


def _gen_time(text: bytes, seconds: int | None = 1):
    def edit(tst: tsp.TSTInfo) -> None:
        tst["gen_time"] = tsp.GeneralizedTime.load(b"\x18" + bytes([len(text)]) + text)
        tst["accuracy"] = {"seconds": seconds} if seconds is not None else None
    return edit


# Accuracy -----------------------------------------------------------------------------

def test_openssl_accuracy_at_the_limit_passes_and_one_second_over_fails():
    """Tokens made by `openssl ts -reply` with `accuracy = secs:N` in its config."""
    limit = int(MAX_ACCURACY.total_seconds())
    at_limit = tsa_tokens.reply("rsa2048", serial=0x7101, accuracy=f"secs:{limit}")
    over = tsa_tokens.reply("rsa2048", serial=0x7102, accuracy=f"secs:{limit + 1}")
    ok = verify_token(at_limit)
    assert ok.indication is Indication.PASSED, [(c.id, c.message) for c in ok.checks]
    assert ok.existence["notAfter"] == rfc3339(GEN_TIME + MAX_ACCURACY)
    outcome, message = _token_check(verify_token(over))
    assert outcome == FAILED_FORMAT
    assert f"TSTInfo accuracy is {limit + 1} s 0 ms 0 µs, over the limit of {limit} s" \
        in message


def test_accuracy_over_the_limit_by_a_millisecond_fails():
    outcome, message = _token_check(verify_token(_with_tst(_accuracy(86400, millis=1))))
    assert outcome == FAILED_FORMAT
    assert "86400 s 1 ms 0 µs, over the limit of 86400 s" in message


@pytest.mark.parametrize("resign", [True, False], ids=["signed", "signature-broken"])
def test_accuracy_of_ten_to_the_twenty_seconds_is_a_failed_token_not_a_crash(resign):
    report = verify_token(_with_tst(_accuracy(10**20), resign=resign))
    outcome, message = _token_check(report)
    assert outcome == FAILED_FORMAT, message
    assert f"TSTInfo accuracy is {10**20} s" in message and "over the limit" in message
    assert report.check("timestamp.token").details["seconds"] == 10**20
    assert report.indication is Indication.FAILED
    assert all(report.check(c).sub_indication is SubIndication.NOT_EVALUATED
               for c in LATER_CHECKS)
    assert report.existence == {"notAfter": None, "evidence": []}
    report.to_json()  # renders


# genTime at the ends of the calendar ---------------------------------------------------

@pytest.mark.parametrize("resign", [True, False], ids=["signed", "signature-broken"])
@pytest.mark.parametrize(("gen_time", "seconds"), [
    (b"99991231235959Z", 1), (b"99991231235959Z", None), (b"99991230000000Z", 1),
    (b"00010101000000Z", 1), (b"00010102235959Z", None),
], ids=["9999-12-31+-1s", "9999-12-31-no-accuracy", "9999-12-30", "0001-01-01", "0001-01-02"])
def test_gen_time_at_the_ends_of_the_calendar_is_a_failed_token_not_a_crash(
        gen_time, seconds, resign):
    report = verify_token(_with_tst(_gen_time(gen_time, seconds), resign=resign))
    outcome, message = _token_check(report)
    assert outcome == FAILED_FORMAT, message
    assert "of the end of the calendar" in message
    assert f"{GEN_TIME_HEADROOM.days} days" in message and "0001-01-03" in message \
        and "9999-12-29" in message
    report.to_json()


def test_gen_time_just_inside_the_headroom_is_judged_as_any_future_time():
    """Inside the bound the token is read, and the future rule (contract section 4)
    fails it, with both times."""
    report = verify_token(_with_tst(_gen_time(b"99991229000000Z", 86400)))
    outcome, message = _token_check(report)
    assert outcome == FAILED_FORMAT
    assert "9999-12-29T00:00:00+00:00 is later than this verifier's clock" in message


# The verifier's clock at the end of the calendar ---------------------------------------

def test_a_clock_at_the_calendars_end_does_not_overflow_the_future_rule():
    """A caller, or a capsule's recorded moment, may name 9999-12-31T23:59:59.999999Z:
    clock + accuracy + five minutes is held to the end, and the token is judged."""
    token = tsa_tokens.reply("rsa2048", serial=0x7103, accuracy="secs:1")
    report = verify_token(token, now=LATEST)
    outcome, message = _token_check(report)
    assert outcome == (Indication.PASSED, None), message
    assert report.to_dict()["verifiedAt"] == "9999-12-31T23:59:59Z"


def test_the_policy_clock_is_still_compared_exactly_away_from_the_end():
    token = tsa_tokens.reply("rsa2048", serial=0x7104, accuracy="secs:1")
    just_in = GEN_TIME - timedelta(minutes=5, seconds=1)
    just_out = just_in - timedelta(microseconds=1)
    assert _token_check(verify_token(token, now=just_in))[0] == (Indication.PASSED, None)
    assert _token_check(verify_token(token, now=just_out))[0] == FAILED_FORMAT
    assert Policy(now=NOW).now == NOW


# The helpers ---------------------------------------------------------------------------

_aware = st.datetimes(timezones=st.just(UTC))


@given(_aware, st.timedeltas())
def test_shift_is_addition_held_to_the_calendar(moment, delta):
    result = shift(moment, delta)
    assert EARLIEST <= result <= LATEST
    try:
        exact = moment + delta
    except OverflowError:
        assert result == (LATEST if delta > timedelta(0) else EARLIEST)
    else:
        assert result == exact


@given(_aware)
def test_rfc3339_rounding_up_never_overflows(moment):
    text = rfc3339(moment, round_up=True)
    assert len(text) == 20 and text.endswith("Z")


def test_block_time_bound_at_the_largest_ntime():
    """nTime is a uint32: its largest value plus Bitcoin's two hours is far from the
    calendar's end, and existence renders it."""
    block_time = datetime.fromtimestamp(2**32 - 1, UTC)

    class Anchor:
        pass

    anchor = Anchor()
    anchor.block_time = block_time  # type: ignore[attr-defined]
    bound = existence(lambda _check: True, None, anchor)  # type: ignore[arg-type]
    assert bound == {"notAfter": rfc3339(block_time + BLOCK_TIME_TOLERANCE, round_up=True),
                     "evidence": ["bitcoin"]}
    assert bound["notAfter"] == "2106-02-07T08:28:15Z"
