"""Issue 8, item 13: no result object has a truth value, and a report does not iterate.

``Indication`` is a StrEnum: without its own ``__bool__`` every member, FAILED and
INDETERMINATE included, is a non-empty str and so true. A ``CheckResult`` is a
dataclass: true unless told otherwise. ``all(report)`` would iterate the checks and be
true whenever each item is.
"""

from __future__ import annotations

import pytest

from provelio_verify import CHECK_IDS, CheckResult, Indication, Report, SubIndication

U = Indication.INDETERMINATE


def _report(indication: Indication, sub: SubIndication | None) -> Report:
    checks = [CheckResult(c, Indication.PASSED, None, f"{c} said so") for c in CHECK_IDS]
    checks[CHECK_IDS.index("timestamp.chain")] = CheckResult(
        "timestamp.chain", indication, sub, "no path to a configured root")
    return Report.build(checks, subject={"sha256": "00" * 32, "path": None, "size": None},
                        certificate=None, existence={"notAfter": None, "evidence": []})


@pytest.mark.parametrize("indication", list(Indication))
def test_an_indication_has_no_truth_value(indication: Indication) -> None:
    with pytest.raises(TypeError, match=f"Indication has no truth value.*{indication.value}"):
        bool(indication)


def test_if_report_indication_raises_for_indeterminate() -> None:
    report = _report(U, SubIndication.NO_CERTIFICATE_CHAIN_FOUND)
    assert report.indication is U
    with pytest.raises(TypeError, match="no truth value"):
        if report.indication:  # the careless test the issue names
            pytest.fail("an INDETERMINATE indication read as true")


def test_if_report_check_raises_for_indeterminate() -> None:
    report = _report(U, SubIndication.NO_CERTIFICATE_CHAIN_FOUND)
    with pytest.raises(TypeError, match=r"CheckResult has no truth value \(check "
                                        r"timestamp.chain is INDETERMINATE\)"):
        if report.check("timestamp.chain"):
            pytest.fail("an INDETERMINATE check read as true")


def test_a_passed_check_has_no_truth_value_either() -> None:
    with pytest.raises(TypeError, match="no truth value"):
        bool(CheckResult("file.sha256", Indication.PASSED, None, "matches"))


def test_a_report_is_not_iterable() -> None:
    report = _report(Indication.FAILED, SubIndication.EXPIRED)
    with pytest.raises(TypeError, match=r"not iterable: iterate over report.checks"):
        all(report)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="report.checks"):
        list(report)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="report.checks"):
        _ = report.checks[0] in report


def test_indications_still_compare_hash_and_serialise() -> None:
    report = _report(U, SubIndication.NO_CERTIFICATE_CHAIN_FOUND)
    assert report.indication == "INDETERMINATE" and report.indication is not Indication.PASSED
    assert {Indication.PASSED: 1}[Indication("PASSED")] == 1
    assert report.to_dict()["indication"] == "INDETERMINATE"
    assert [c.id for c in report.checks if c.indication is U] == ["timestamp.chain"]
    report.check("timestamp.chain")  # looking a check up is not a truth test
