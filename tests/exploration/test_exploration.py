"""host_schedules and event_arrivals find real ordering bugs and shrink them to one decision."""
from __future__ import annotations

from datetime import timedelta
from typing import Any, List

import pytest
from hypothesis import given, settings

from durable_testkit import OrchestrationRuntimeStatus as S
from durable_testkit.strategies import event_arrivals, host_schedules

from explored_apps import (PACKING, checkout_runtime, fan_out_runtime, order_runtime)

EXPLORE = settings(max_examples=100, deadline=None, database=None, derandomize=True)
LINES = ["a", "b", "c"]


def _shrunk(prop: Any, seen: List[Any]) -> Any:
    """Run a property expected to fail; the last example it ran is the shrunk one."""
    with pytest.raises(AssertionError):
        prop()
    return seen[-1]


# (a) ---------------------------------------------------------------------------------------
def test_exploration_finds_the_fan_out_that_assumes_completion_order() -> None:
    seen: List[Any] = []

    @EXPLORE
    @given(schedule=host_schedules())
    def prop(schedule: Any) -> None:
        seen.append(schedule)
        rt = fan_out_runtime(schedule)
        assert rt.run("fan_out_buggy", LINES).output == LINES, schedule

    schedule = _shrunk(prop, seen)
    # One decision is not the default: after the first line, the third ran before the second
    # (hypothesis shrinks towards the earliest decisions at 0).
    assert schedule.changes == ["run append_line #2 before append_line #1"]
    assert repr(schedule) == "host_schedule(run append_line #2 before append_line #1)"
    assert sum(1 for _, choice in schedule.decisions if choice) == 1


@EXPLORE
@given(schedule=host_schedules(lose_completions=True))
def test_the_fixed_fan_out_survives_every_ordering_batching_and_lost_completion(
        schedule: Any) -> None:
    rt = fan_out_runtime(schedule)
    assert rt.run("fan_out_fixed", LINES).output == LINES, schedule


# (b) ---------------------------------------------------------------------------------------
def _cancel_in_time(arrivals: Any) -> bool:
    return arrivals.at("cancel") <= arrivals.at("approve") + PACKING


def test_event_arrivals_find_the_approve_cancel_race_and_shrink_it() -> None:
    seen: List[Any] = []

    @EXPLORE
    @given(arrivals=event_arrivals(["approve", "cancel"], within=timedelta(hours=1)))
    def prop(arrivals: Any) -> None:
        seen.append(arrivals)
        rt = order_runtime()
        iid = rt.start("order_buggy", instance_id="order-1")
        arrivals.apply(rt, iid)
        result = rt.wait(iid)
        if _cancel_in_time(arrivals):
            assert result.output == "cancelled", arrivals

    arrivals = _shrunk(prop, seen)
    # Both at the start, approve first: the cancel lands during packing and is ignored.
    assert arrivals.arrivals == ((timedelta(0), "approve", None), (timedelta(0), "cancel", None))
    assert repr(arrivals) == "event_arrivals(approve at +0:00:00, cancel at +0:00:00)"


@EXPLORE
@given(arrivals=event_arrivals({"approve": __import__("hypothesis").strategies.none(),
                                "cancel": __import__("hypothesis").strategies.none()},
                               within=timedelta(hours=1)),
       schedule=host_schedules())
def test_the_fixed_order_lets_a_cancel_before_shipping_win(arrivals: Any,
                                                           schedule: Any) -> None:
    rt = order_runtime(schedule)
    iid = rt.start("order_fixed", instance_id="order-1")
    arrivals.apply(rt, iid)
    result = rt.wait(iid)
    assert result.runtime_status == S.Completed
    if arrivals.at("cancel") < arrivals.at("approve") + PACKING:
        assert result.output == "cancelled", (arrivals, schedule)
    elif arrivals.at("cancel") > arrivals.at("approve") + PACKING:
        assert result.output == "shipped", (arrivals, schedule)


# (c) ---------------------------------------------------------------------------------------
def test_duplicates_find_the_non_idempotent_charge_and_shrink_to_one_duplicate() -> None:
    seen: List[Any] = []

    @EXPLORE
    @given(schedule=host_schedules(duplicate_activities=True))
    def prop(schedule: Any) -> None:
        seen.append(schedule)
        rt, charges = checkout_runtime(schedule, idempotent=False)
        result = rt.run("checkout", {"id": "o-1"}, instance_id="checkout-1")
        assert result.output == "receipt-o-1"
        assert charges == {"o-1": 1}, schedule

    schedule = _shrunk(prop, seen)
    assert schedule.changes == ["run charge #1 twice (the second completion is dropped)"]


def test_a_lost_completion_of_the_non_idempotent_charge_is_found_and_named_a_crash() -> None:
    seen: List[Any] = []

    @EXPLORE
    @given(schedule=host_schedules(lose_completions=True))
    def prop(schedule: Any) -> None:
        seen.append(schedule)
        rt, charges = checkout_runtime(schedule, idempotent=False)
        rt.run("checkout", {"id": "o-1"}, instance_id="checkout-1")
        assert charges == {"o-1": 1}, schedule

    schedule = _shrunk(prop, seen)
    assert schedule.changes == ["crash after charge #1 (its completion is lost: it runs again)"]


@EXPLORE
@given(schedule=host_schedules(duplicate_activities=True, lose_completions=True,
                               crash_episodes=True, delay_activities=timedelta(hours=2)))
def test_the_idempotent_charge_survives_duplicates_lost_completions_crashes_and_delays(
        schedule: Any) -> None:
    rt, charges = checkout_runtime(schedule, idempotent=True)
    result = rt.run("checkout", {"id": "o-1"}, instance_id="checkout-1")
    assert result.runtime_status == S.Completed, schedule
    assert result.output == "receipt-o-1", schedule
    assert charges == {"o-1": 1}, schedule


# the strategies' own contract --------------------------------------------------------------
@settings(max_examples=30, deadline=None, database=None)
@given(schedule=host_schedules(reorder=False, split_batches=False))
def test_a_schedule_with_everything_off_is_the_host_default(schedule: Any) -> None:
    rt = fan_out_runtime(schedule)
    assert rt.run("fan_out_buggy", LINES).output == LINES
    assert schedule.changes == [] and all(choice == 0 for _, choice in schedule.decisions)
    # The fault decisions are not asked at all unless the schedule explores them.
    assert {kind for kind, _ in schedule.decisions} <= {"next-work", "batch",
                                                        "record-completion"}


def test_bad_arguments_are_refused_with_their_value() -> None:
    with pytest.raises(TypeError, match="delay_activities=5"):
        host_schedules(delay_activities=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="within="):
        event_arrivals(["approve"], within=3)  # type: ignore[arg-type]
    with pytest.raises(KeyError, match="no event called 'nope'"):
        from durable_testkit.strategies import EventArrivals
        EventArrivals([]).at("nope")
