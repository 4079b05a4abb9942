"""The report: the contract's overall rule, fixed JSON keys, no truth value."""

from __future__ import annotations

import json

import pytest

from provelio_verify import (
    CHECK_IDS,
    CheckResult,
    Indication,
    Report,
    SubIndication,
    VerificationFailed,
    VerificationIndeterminate,
)

P, F, U = Indication.PASSED, Indication.FAILED, Indication.INDETERMINATE  # U: undecided


def _checks(overrides: dict[str, tuple[Indication, SubIndication | None, bool]]):
    out = []
    for check_id in CHECK_IDS:
        ind, sub, req = overrides.get(check_id, (P, None, True))
        out.append(CheckResult(check_id, ind, sub, f"{check_id} said so", {}, req))
    return out


def _report(overrides):
    return Report.build(_checks(overrides), subject={"sha256": "00" * 32, "path": None,
                                                     "size": None},
                        certificate=None, existence={"notAfter": None, "evidence": []})


def test_all_passed_is_passed():
    report = _report({})
    assert (report.indication, report.sub_indication) == (P, None)
    report.raise_for_indication()


def test_any_failed_wins_even_when_not_required():
    report = _report({
        "timestamp.chain": (U, SubIndication.NO_CERTIFICATE_CHAIN_FOUND, True),
        "anchor.op-return": (F, SubIndication.HASH_FAILURE, False),
    })
    assert (report.indication, report.sub_indication) == (F, SubIndication.HASH_FAILURE)
    with pytest.raises(VerificationFailed, match="anchor.op-return"):
        report.raise_for_indication()


def test_first_failed_in_table_order_decides_the_sub_indication():
    report = _report({
        "anchor.chain": (F, SubIndication.NOT_IN_BEST_CHAIN, True),
        "file.sha256": (F, SubIndication.HASH_FAILURE, True),
    })
    assert report.sub_indication is SubIndication.HASH_FAILURE
    assert report.deciding_check().id == "file.sha256"


def test_required_indeterminate_gives_indeterminate():
    report = _report({"timestamp.chain": (U, SubIndication.NO_CERTIFICATE_CHAIN_FOUND, True)})
    assert report.indication is U
    assert report.sub_indication is SubIndication.NO_CERTIFICATE_CHAIN_FOUND
    with pytest.raises(VerificationIndeterminate):
        report.raise_for_indication()


def test_optional_indeterminate_does_not_block_passed():
    report = _report({"timestamp.revocation": (U, SubIndication.TRY_LATER, False),
                      "anchor.chain": (U, SubIndication.ANCHOR_PENDING, False)})
    assert report.indication is P


def test_report_has_no_truth_value():
    report = _report({})
    with pytest.raises(TypeError, match="no truth value"):
        bool(report)
    with pytest.raises(TypeError):
        if report:  # noqa: SIM108 - the point of the test
            pass


def test_json_has_the_fixed_keys_in_table_order():
    shuffled = list(reversed(_checks({})))
    report = Report.build(shuffled, subject={"sha256": None, "path": None, "size": None},
                          certificate=None, existence={"notAfter": None, "evidence": []},
                          extra={"verifiedAt": "2026-01-01T00:00:00Z"})
    data = json.loads(report.to_json())
    for key in ("reportVersion", "tool", "indication", "subIndication", "subject",
                "certificate", "existence", "checks", "warnings"):
        assert key in data
    assert data["reportVersion"] == 1 and data["tool"]["name"] == "provelio-verify"
    assert [c["id"] for c in data["checks"]] == list(CHECK_IDS)
    assert set(data["checks"][0]) >= {"id", "indication", "subIndication", "message", "details"}
    assert data["verifiedAt"] == "2026-01-01T00:00:00Z"


def test_added_keys_cannot_replace_fixed_ones():
    report = Report.build(_checks({}), subject={}, certificate=None, existence={},
                          extra={"indication": "PASSED"})
    with pytest.raises(ValueError, match="fixed key"):
        report.to_dict()


def test_a_passed_check_carries_no_sub_indication():
    with pytest.raises(ValueError):
        CheckResult("file.sha256", P, SubIndication.HASH_FAILURE, "m")
    with pytest.raises(ValueError):
        CheckResult("file.sha256", F, None, "m")
    with pytest.raises(ValueError, match="unknown check id"):
        CheckResult("file.md5", P, None, "m")


def test_duplicate_check_ids_are_refused():
    checks = _checks({})
    with pytest.raises(ValueError, match="twice"):
        Report.build([*checks, checks[0]], subject={}, certificate=None, existence={})
