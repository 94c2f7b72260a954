"""DTFx's determinism checks, one per scheduling event kind, with DTFx's exact texts."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from durable_testkit import _protocol as p
from durable_testkit._replay import NonDeterminism, ReplayShim

CHANGED = ("Was a change made to the orchestrator code after this instance had already started "
           "running?")
START = [{"EventType": p.ORCHESTRATOR_STARTED, "EventId": -1, "Timestamp": "2024-01-01T00:00:00Z"},
         {"EventType": p.EXECUTION_STARTED, "EventId": -1, "Timestamp": "2024-01-01T00:00:00Z"}]
ACTIVITY = {"actionType": p.CALL_ACTIVITY, "functionName": "Other", "input": "null"}
TIMER = {"actionType": p.CREATE_TIMER, "fireAt": "2024-01-02T00:00:00.000000Z",
         "isCanceled": False}
SUB = {"actionType": p.CALL_SUB_ORCHESTRATOR, "functionName": "OtherChild", "input": "null",
       "instanceId": None}
SIGNAL = {"actionType": p.SIGNAL_ENTITY, "instanceId": "@counter@k", "operation": "add",
          "input": "1"}
SCHEDULED = {"EventType": p.TASK_SCHEDULED, "EventId": 0, "Name": "Hello", "Version": ""}
CREATED = {"EventType": p.TIMER_CREATED, "EventId": 0, "FireAt": "2024-01-02T00:00:00Z"}
SUB_CREATED = {"EventType": p.SUB_ORCHESTRATION_CREATED, "EventId": 0, "Name": "Child",
               "InstanceId": "c1", "Version": ""}
SENT = {"EventType": p.EVENT_SENT, "EventId": 0, "Name": "op", "InstanceId": "@counter@k",
        "Input": "{}"}


def check(actions: list, event: dict) -> str:
    shim = ReplayShim("i1", "e1", "orch")
    with pytest.raises(NonDeterminism) as info:
        shim.feed(actions, enumerate(START + [event]))
    assert info.value.event_index == 2
    return info.value.detail


@pytest.mark.parametrize("actions, event, text", [
    ([], SCHEDULED,
     "A previous execution of this orchestration scheduled an activity task with sequence ID 0 "
     "and name 'Hello' (version ''), but the current replay execution hasn't (yet?) scheduled "
     "this task. "),
    ([TIMER], SCHEDULED,
     "A previous execution of this orchestration scheduled an activity task with sequence "
     "number 0 named 'Hello', but the current orchestration replay instead produced a "
     "CreateTimerOrchestratorAction action with this sequence number. "),
    ([ACTIVITY], SCHEDULED,
     "A previous execution of this orchestration scheduled an activity task with sequence "
     "number 0 named 'Hello', but the current orchestration replay instead scheduled an "
     "activity task named 'Other' with this sequence number.  "),
    ([], CREATED,
     "A previous execution of this orchestration scheduled a timer task with sequence number 0 "
     "but the current replay execution hasn't (yet?) scheduled this task. "),
    ([ACTIVITY], CREATED,
     "A previous execution of this orchestration scheduled a timer task with sequence number 0 "
     "named but the current orchestration replay instead produced a "
     "ScheduleTaskOrchestratorAction action with this sequence number. "),
    ([], SUB_CREATED,
     "A previous execution of this orchestration scheduled a sub-orchestration task with "
     "sequence ID 0 and name 'Child' (version '', instance ID 'c1'), but the current replay "
     "execution hasn't (yet?) scheduled this task. "),
    ([TIMER], SUB_CREATED,
     "A previous execution of this orchestration scheduled a sub-orchestration task with "
     "sequence ID 0 and name 'Child' (version '', instance ID 'c1'), but the current "
     "orchestration replay instead produced a CreateTimerOrchestratorAction action at this "
     "sequence number. "),
    ([SUB], SUB_CREATED,
     "A previous execution of this orchestration scheduled a sub-orchestration task with "
     "sequence ID 0 and name 'Child' (version '', instance ID 'c1'), but the current "
     "orchestration replay instead scheduled a sub-orchestration task with name OtherChild at "
     "this sequence number. "),
    ([], SENT,
     "A previous execution of this orchestration scheduled a send event task with sequence ID "
     "0, type 'EventSent' name 'op', instance ID '@counter@k', but the current replay execution "
     "hasn't (yet?) scheduled this task. "),
    ([ACTIVITY], SENT,
     "A previous execution of this orchestration scheduled a send event task with sequence ID "
     "0, type 'EventSent', name 'op', instance ID '@counter@k', but the current orchestration "
     "replay instead scheduled a ScheduleTaskOrchestratorAction task at this sequence number. "),
])
def test_each_divergence_gets_dtfx_text(actions: list, event: dict, text: str) -> None:
    assert check(actions, event) == text + CHANGED


@pytest.mark.parametrize("actions, event", [
    ([dict(ACTIVITY, functionName="HELLO", input='"changed input"')], SCHEDULED),
    ([TIMER], CREATED),
    ([dict(SUB, functionName="child")], SUB_CREATED),
    ([SIGNAL], SENT),
])
def test_matching_kind_and_name_passes_whatever_the_input(actions: list, event: dict) -> None:
    shim = ReplayShim("i1", "e1", "orch")
    assert shim.feed(actions, enumerate(START + [event])) == []


# ---------------------------------------------------------------- new work, in order
_LEAVES = [ACTIVITY, TIMER, SUB, SIGNAL,
           {"actionType": p.CALL_ACTIVITY_WITH_RETRY, "functionName": "Flaky", "input": "1",
            "retryOptions": {"maxNumberOfAttempts": 3,
                             "firstRetryIntervalInMilliseconds": 1000}}]


@st.composite
def _action_lists(draw: st.DrawFn) -> list:
    def one(depth: int) -> dict:
        if depth < 2 and draw(st.booleans()):
            kind = draw(st.sampled_from([p.WHEN_ALL, p.WHEN_ANY]))
            return {"actionType": kind, "compoundActions": [
                one(depth + 1) for _ in range(draw(st.integers(0, 3)))]}
        return dict(draw(st.sampled_from(_LEAVES)))
    return [one(0) for _ in range(draw(st.integers(1, 4)))]


@given(_action_lists(), st.integers(0, 3))
def test_new_work_comes_back_in_sequence_order(actions: list, scheduled: int) -> None:
    # feed() hands back the unmatched slots in the order of their sequence numbers
    # (it relies on allocation order, not a sort), after some were already scheduled.
    shim = ReplayShim("i1", "e1", "orch")
    first = shim.feed(actions, enumerate(START))
    assert [s.seq for s in first] == sorted(s.seq for s in first)
    shim.mark_scheduled(first[:scheduled])
    again = shim.feed(actions, [])
    assert [s.seq for s in again] == [s.seq for s in first[scheduled:]]
