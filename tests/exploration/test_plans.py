"""A schedule saved as a plan replays exactly: the same decisions, the same history bytes."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any, List

import pytest
from hypothesis import given, settings

from durable_testkit import PlannedPolicy, SeededPolicy
from durable_testkit.strategies import host_schedules

from explored_apps import checkout_runtime, fan_out_runtime, order_runtime

EVERYTHING = dict(lose_completions=True, duplicate_activities=True, crash_episodes=True,
                  delay_activities=timedelta(hours=2))


def _history_bytes(rt: Any, iid: str) -> str:
    return json.dumps(rt.export_history(iid).to_json())


@settings(max_examples=40, deadline=None, database=None)
@given(schedule=host_schedules(**EVERYTHING))
def test_a_saved_schedule_replays_byte_for_byte(schedule: Any, tmp_path_factory: Any) -> None:
    rt, charges = checkout_runtime(schedule, idempotent=False)
    result = rt.run("checkout", {"id": "o-1"}, instance_id="checkout-1")
    path = Path(tmp_path_factory.mktemp("plan")) / "plan.json"
    schedule.save(path)

    replayed, replay_charges = checkout_runtime(PlannedPolicy.load(path), idempotent=False)
    again = replayed.run("checkout", {"id": "o-1"}, instance_id="checkout-1")
    assert again.output == result.output
    assert replay_charges == charges
    assert [(t.kind, t.choice) for t in replayed.trace] == schedule.decisions
    assert _history_bytes(replayed, "checkout-1") == _history_bytes(rt, "checkout-1")


def _boom(_: Any) -> None:
    raise ValueError("card declined")


def _tolerant(context: Any) -> Any:
    try:
        yield context.call_activity("charge", None)
    except Exception as exc:  # noqa: BLE001 - the orchestration handles the failure
        return str(exc)
    return "charged"


@settings(max_examples=10, deadline=None, database=None)
@given(schedule=host_schedules(lose_completions=True))
def test_a_plan_with_a_failing_activity_replays_byte_for_byte(schedule: Any,
                                                              tmp_path_factory: Any) -> None:
    """The failure's details carry the worker's stack: the user's frames only, never the
    host's (which differ between a schedule's run and its plan's)."""
    from durable_testkit import InMemoryRuntime

    def run(policy: Any) -> str:
        rt = InMemoryRuntime(policy=policy)
        rt.register_orchestrator("tolerant", _tolerant)
        rt.register_activity("charge", _boom)
        rt.run("tolerant", instance_id="t-1")
        return _history_bytes(rt, "t-1")

    recorded = run(schedule)
    path = Path(tmp_path_factory.mktemp("plan")) / "plan.json"
    schedule.save(path)
    assert run(PlannedPolicy.load(path)) == recorded
    assert "_boom" in recorded and "durable_testkit" not in recorded


@settings(max_examples=30, deadline=None, database=None)
@given(schedule=host_schedules(split_batches=True, delay_activities=timedelta(minutes=5)))
def test_plans_replay_fan_outs_and_event_races(schedule: Any) -> None:
    def run(policy: Any) -> str:
        rt = order_runtime(policy)
        iid = rt.start("order_fixed", instance_id="o")
        rt.raise_event(iid, "approve")
        rt.run_until_idle()
        rt.raise_event(iid, "cancel")
        rt.wait(iid)
        return _history_bytes(rt, iid)

    recorded = run(schedule)
    assert run(schedule.plan()) == recorded


def test_the_plan_file_is_small_and_lists_the_changes_in_words(tmp_path: Path) -> None:
    seen: List[Any] = []

    @settings(max_examples=100, deadline=None, database=None, derandomize=True)
    @given(schedule=host_schedules())
    def prop(schedule: Any) -> None:
        seen.append(schedule)
        assert fan_out_runtime(schedule).run("fan_out_buggy", ["a", "b", "c"]).output == \
            ["a", "b", "c"]

    with pytest.raises(AssertionError):
        prop()
    path = tmp_path / "fan_out.json"
    seen[-1].save(path)
    data = json.loads(path.read_text())
    assert data["format"] == "durable-testkit/plan" and data["version"] == 1
    assert data["schedule"] == ["run append_line #2 before append_line #1"]
    assert len(path.read_text().splitlines()) == len(data["decisions"]) + 9  # one decision a line
    rt = fan_out_runtime(PlannedPolicy.load(path))
    assert rt.run("fan_out_buggy", ["a", "b", "c"]).output == ["a", "c", "b"]


def test_planned_policies_want_only_the_fault_kinds_they_recorded() -> None:
    plan = PlannedPolicy([("next-work", 1), ("duplicate-activity", 0)])
    assert plan.wants("next-work") and plan.wants("record-completion")
    assert plan.wants("duplicate-activity")
    assert not plan.wants("crash-episode") and not plan.wants("delay-activity")
    assert not SeededPolicy(seed=1).wants("duplicate-activity")


def test_seeded_policies_ask_the_decisions_they_always_asked() -> None:
    # The fault decision points exist, but a SeededPolicy does not want them.
    rt, _ = checkout_runtime(SeededPolicy(seed=3, lose_completion_rate=0.3), idempotent=True)
    rt.run("checkout", {"id": "o-1"})
    assert {t.kind for t in rt.trace} <= {"next-work", "batch", "record-completion"}
