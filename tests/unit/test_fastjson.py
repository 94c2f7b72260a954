"""_fastjson gives exactly what json.dumps / json.loads give (it is on the activity path)."""
from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from durable_testkit import _fastjson

_scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
            | st.text())
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(st.text(max_size=5), inner, max_size=4), max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(_values)
def test_dumps_equals_json_dumps(value: object) -> None:
    assert _fastjson.dumps(value) == json.dumps(value)


@settings(max_examples=400, deadline=None)
@given(_values)
def test_loads_equals_json_loads(value: object) -> None:
    text = json.dumps(value)
    got, expected = _fastjson.loads(text), json.loads(text)
    assert json.dumps(got) == json.dumps(expected)  # NaN != NaN: compare the texts
    assert type(got) is type(expected)


@pytest.mark.parametrize("text", [" 12", "12 ", "[1, 2]\n", "1 2", "", "nope", "{", '"a"x',
                                  "NaN", "-Infinity", "1e400", '{"a": 1, "a": 2}'])
def test_loads_edge_texts_match_json_loads(text: str) -> None:
    try:
        expected = json.loads(text)
    except ValueError as exc:
        with pytest.raises(type(exc)) as caught:
            _fastjson.loads(text)
        assert str(caught.value) == str(exc)
        return
    got = _fastjson.loads(text)
    assert json.dumps(got) == json.dumps(expected)


def test_dumps_errors_are_jsons_own() -> None:
    cyclic: list = []
    cyclic.append(cyclic)
    with pytest.raises(ValueError, match="Circular reference detected"):
        _fastjson.dumps(cyclic)
    with pytest.raises(TypeError, match="not JSON serializable"):
        _fastjson.dumps({"a": object()})
    with pytest.raises(TypeError, match="not JSON serializable"):
        _fastjson.dumps(object())


def test_special_floats_and_big_values() -> None:
    for value in (math.inf, -math.inf, 1e300, 0.1, -0.0, 2 ** 80, True, False, None, "é\n\"x"):
        assert _fastjson.dumps(value) == json.dumps(value)


@settings(max_examples=300, deadline=None)
@given(_values)
def test_dumps_compact_equals_json_dumps_with_compact_separators(value: object) -> None:
    assert _fastjson.dumps_compact(value) == json.dumps(value, separators=(",", ":"))


def test_dumps_compact_errors_are_jsons_own() -> None:
    cyclic: dict = {}
    cyclic["self"] = cyclic
    with pytest.raises(ValueError, match="Circular reference detected"):
        _fastjson.dumps_compact(cyclic)
