"""The host's activity codec: its fast paths give the worker converter's answers exactly.

``_sdk.encode_activity_result``/``decode_activity_input`` skip the converter (and
its ``os.environ`` read per call) for plain JSON; these properties hold them to
the converter's own output in loose and strict typing mode. ``ActivityCall.result``
is decoded from the result's text when first read, through the SDK's decoder.
"""
from __future__ import annotations

import json
import math
import os
from unittest import mock
from contextlib import contextmanager
from typing import Any, Iterator

import azure.durable_functions as df
import pytest
from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter
from hypothesis import given, settings
from hypothesis import strategies as st

from durable_testkit import InMemoryRuntime, _sdk
from durable_testkit._lazy import Encoded, stored
from durable_testkit.status import ActivityCall

STRICT = "AZURE_FUNCTIONS_DURABLE_STRICT_TYPING"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12)


@contextmanager
def typing_mode(strict: str) -> Iterator[None]:
    """The converter's typing mode, set for a block (it reads the variable per call)."""
    with mock.patch.dict(os.environ):  # restored afterwards
        if strict:
            os.environ[STRICT] = strict
        else:
            os.environ.pop(STRICT, None)
        yield


def _converter_encode(value: Any) -> Any:
    return ActivityTriggerConverter.encode(value, expected_type=None).value


def _converter_decode(text: str) -> Any:
    return ActivityTriggerConverter.decode(meta.Datum(text, "json"), trigger_metadata=None)


@pytest.mark.parametrize("strict", ["", "1"])
@settings(max_examples=150, deadline=None)
@given(value=json_values)
def test_plain_values_encode_as_the_converter_does(value: Any, strict: str) -> None:
    with typing_mode(strict):
        assert _sdk.encode_activity_result(value) == _converter_encode(value)


@pytest.mark.parametrize("strict", ["", "1"])
@settings(max_examples=150, deadline=None)
@given(text=st.one_of(json_values.map(json.dumps), st.text(max_size=12)))
def test_texts_decode_as_the_converter_does(text: str, strict: str) -> None:
    with typing_mode(strict):
        try:
            expected = _converter_decode(text)
        except ValueError as exc:
            with pytest.raises(type(exc)):
                _sdk.decode_activity_input(text)
            return
        got = _sdk.decode_activity_input(text)
        assert type(got) is type(expected)
        assert json.dumps(got) == json.dumps(expected)  # NaN != NaN: compare the texts


def test_nan_and_non_json_text_and_none_follow_the_converter() -> None:
    assert _sdk.encode_activity_result(float("nan")) == _converter_encode(float("nan")) == "NaN"
    assert math.isnan(_sdk.decode_activity_input("NaN"))
    assert _sdk.decode_activity_input("not json") == "not json"
    with pytest.raises(ValueError, match="activity trigger input must be a string"):
        _sdk.decode_activity_input(None)


class Money:
    def __init__(self, cents: int) -> None:
        self.cents = cents

    @staticmethod
    def to_json(obj: "Money") -> Any:
        return {"cents": obj.cents}

    @classmethod
    def from_json(cls, data: Any) -> "Money":
        return cls(data["cents"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Money) and other.cents == self.cents


def test_custom_objects_go_through_the_converter() -> None:
    assert _sdk.encode_activity_result(Money(5)) == _converter_encode(Money(5))
    assert _sdk.encode_activity_result([Money(5)]) == _converter_encode([Money(5)])
    assert _sdk.decode_activity_result(_converter_encode(Money(5))) == Money(5)


def test_activity_call_result_is_decoded_once_when_read() -> None:
    call = ActivityCall("pay", 1, "i", 1, Encoded('{"a": [1, 2]}'), None, 0)
    assert type(stored(call, "result")) is Encoded  # not decoded by building the record
    assert call.result == {"a": [1, 2]}
    assert call.result is call.result  # decoded once, then kept
    assert repr(call).startswith("ActivityCall(name='pay', input=1, instance_id='i', "
                                 "attempt=1, result={'a': [1, 2]}")
    assert call == ActivityCall("pay", 1, "i", 1, {"a": [1, 2]}, None, 0)


def orders(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    total = yield context.call_activity("charge", 3)
    pair = yield context.call_activity("pair", 1)
    return [total.cents, pair]


def test_recorded_results_are_what_the_orchestrator_received() -> None:
    rt = InMemoryRuntime()
    rt.register_orchestrator("orders", orders)
    rt.register_activity("charge", lambda n: Money(n * 100))
    rt.register_activity("pair", lambda n: (n, {1: "one"}))
    try:
        result = rt.run("orders")
        assert result.output == [300, [1, {"1": "one"}]]
        charge, pair = rt.activity_calls
        assert charge.result == Money(300)  # rebuilt, as call_activity returned it
        assert pair.result == [1, {"1": "one"}]  # after the JSON round trip
    finally:
        rt.close()


def test_the_recorded_input_is_what_was_sent_not_what_the_activity_made_of_it() -> None:
    from durable_testkit import InMemoryRuntime

    def charge(order: dict) -> dict:
        order["status"] = "charged"  # activities edit the object they are given
        return order

    def orch(context):  # type: ignore[no-untyped-def]
        return (yield context.call_activity("charge", {"id": 1}))

    rt = InMemoryRuntime()
    rt.register_orchestrator("orch", orch)
    rt.register_activity("charge", charge)
    assert rt.run("orch").output == {"id": 1, "status": "charged"}
    assert rt.activity_calls[0].input == {"id": 1}
