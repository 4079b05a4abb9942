"""A report's conversion to JSON data (``report._jsonable``), the hot path of every
JSON line a batch writes (issue 11), against a plain statement of its rules: the same
copy for every value, the same error naming the same place."""

from __future__ import annotations

import enum
import math
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provelio_verify._time import rfc3339
from provelio_verify.report import MAX_JSON_DEPTH, _jsonable


def reference(value, depth=0, where=""):
    """The rules, written for reading rather than speed."""
    if isinstance(value, (Mapping, list, tuple)) and depth >= MAX_JSON_DEPTH:
        raise ValueError(f"report value {where or 'report'} nests deeper than the limit "
                         f"of {MAX_JSON_DEPTH}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"report value {where or 'report'} is {value}, not a JSON number")
        return float(value)
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, Mapping):
        return {str(k): reference(v, depth + 1, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [reference(v, depth + 1, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, datetime):
        return rfc3339(value)
    raise TypeError(f"report details cannot hold a {type(value).__name__}")


class Colour(enum.Enum):
    RED = "red"


leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=8),
    st.floats(allow_nan=True, allow_infinity=True),
    st.binary(max_size=8), st.binary(max_size=4).map(bytearray),
    st.just(Colour.RED),
    st.datetimes(timezones=st.just(UTC)),
)
keys = st.one_of(st.text(max_size=4), st.integers(-3, 3))
values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(keys, inner, max_size=4),
        st.dictionaries(keys, inner, max_size=3).map(OrderedDict),
    ),
    max_leaves=30,
)


def outcome(function, value, depth):
    try:
        return ("value", function(value, depth, "checks.x.details"))
    except (ValueError, TypeError) as exc:
        return (type(exc).__name__, str(exc))


@settings(max_examples=400, deadline=None)
@given(values, st.integers(0, MAX_JSON_DEPTH))
def test_the_copy_and_its_errors_follow_the_rules(value, depth):
    got = outcome(_jsonable, value, depth)
    assert got == outcome(reference, value, depth)
    if got[0] == "value":
        assert type(got[1]) in {dict, list, str, int, bool, float, type(None)}


def test_a_copy_shares_no_container_with_what_it_copied():
    details = {"a": [1, {"b": 2}], "c": {"d": []}}
    copy = _jsonable(details, 3, "x")
    assert copy == details
    assert copy is not details and copy["a"] is not details["a"]
    assert copy["a"][1] is not details["a"][1] and copy["c"]["d"] is not details["c"]["d"]


def test_errors_name_the_place_and_the_value():
    with pytest.raises(ValueError, match=r"report value x\.a\[1\]\.b is inf, not a JSON"):
        _jsonable({"a": [0, {"b": math.inf}]}, 0, "x")
    deep: list = []
    for _ in range(MAX_JSON_DEPTH):
        deep = [deep]
    with pytest.raises(ValueError, match=r"report value x(\[0\])+ nests deeper"):
        _jsonable(deep, 0, "x")
    with pytest.raises(TypeError, match="cannot hold a timedelta"):
        _jsonable({"t": timedelta(1)}, 0, "x")
