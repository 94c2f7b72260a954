"""Records the host builds on its hot path without a dataclass __init__ behave as the usual ones."""
from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from durable_testkit import _lazy
from durable_testkit._replay import Slot, SlotKind
from durable_testkit.status import ActivityCall, _new_activity_call


@given(st.text(max_size=8), st.integers() | st.none() | st.text(max_size=4), st.integers(1, 5),
       st.integers(0, 99), st.booleans(), st.none() | st.sampled_from(["duplicate_activity"]),
       st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
def test_new_activity_call_equals_the_dataclass(name, value, attempt, seq, recorded, fault,
                                                outputs) -> None:
    exc = None if recorded else ValueError("boom")
    fast = _new_activity_call(name, value, "inst", attempt, _lazy.Encoded("[1, 2]"), exc, seq,
                             recorded, fault, outputs)
    slow = ActivityCall(name, value, "inst", attempt, _lazy.Encoded("[1, 2]"), exc, seq,
                        recorded, fault, outputs)
    assert fast == slow
    assert repr(fast) == repr(slow)
    assert fast.result == [1, 2]
    assert dataclasses.replace(fast, attempt=attempt + 1).attempt == attempt + 1
    assert {f.name for f in dataclasses.fields(ActivityCall)} == {
        k.replace("_result_stored", "result").replace("_input_stored", "input")
        for k in vars(fast)}
    encoded = _new_activity_call(name, _lazy.EncodedInput('{"k": [1]}'), "inst", attempt,
                                 _lazy.Encoded("[1, 2]"), exc, seq, recorded, fault, outputs)
    assert encoded.input == {"k": [1]}  # the input's text, decoded on first read


@given(st.integers(0, 9), st.sampled_from(list(SlotKind)), st.none() | st.text(max_size=4),
       st.integers(1, 3))
def test_a_slot_compares_and_prints_by_its_fields_as_the_dataclass_did(seq, kind, name,
                                                                       attempt) -> None:
    action = {"actionType": 0, "functionName": name}
    slot = Slot(seq, kind, name, action, None, attempt)
    same = Slot(seq, kind, name, dict(action), attempt=attempt)
    assert slot == same and not slot != same
    assert slot != Slot(seq + 1, kind, name, action, None, attempt)
    assert slot != Slot(seq, kind, name, action, None, attempt + 1)
    assert slot != (seq, kind, name, action)  # another type is never equal
    assert repr(slot) == (f"Slot(seq={seq!r}, kind={kind!r}, name={name!r}, action={action!r}, "
                          f"fire_at=None, attempt={attempt!r})")
    with pytest.raises(TypeError):
        hash(slot)  # mutable: unhashable, as the dataclass was
    with pytest.raises(AttributeError):
        slot.extra = 1  # type: ignore[attr-defined]  # __slots__: no stray attributes
