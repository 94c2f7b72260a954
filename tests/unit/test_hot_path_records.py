"""Records the host builds on its hot path without their dataclass __init__ equal the usual ones."""
from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from durable_testkit import _lazy
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
        k.replace("_result_stored", "result") for k in vars(fast)}
