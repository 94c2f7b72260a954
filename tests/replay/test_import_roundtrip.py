"""Run real orchestrations on the in-memory host, export each shape, import it back.

The lossless formats must give back exactly the recorded (last) execution; the
status API, which drops episodes and sequence numbers, must replay cleanly to the
same output, with the code when tasks share an instant.
"""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Callable, Dict, Generator, List, Tuple

import _exports as X
import azure.durable_functions as df
import golden_orchestrators as g
import pytest

from durable_testkit import InMemoryRuntime, replay_history
from durable_testkit.importers import import_history

Orchestrator = Callable[[df.DurableOrchestrationContext], Generator[Any, Any, Any]]


def doubled(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    """Same-named fan-out: only the inputs tell the tasks apart."""
    n = context.get_input()
    values = yield context.task_all([context.call_activity("Double", i) for i in range(n)])
    return values


def timeout_race(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    """A timer and an event scheduled in one episode (task_any)."""
    deadline = context.create_timer(context.current_utc_datetime + timedelta(hours=1))
    event = context.wait_for_external_event("Done")
    winner = yield context.task_any([event, deadline])
    if winner == event:
        deadline.cancel()
        return ("event", event.result)
    return ("timeout", None)


def _order() -> Tuple[InMemoryRuntime, str]:
    rt, iid = g.run_order_workflow()
    return rt, iid


def _doubled() -> Tuple[InMemoryRuntime, str]:
    rt = InMemoryRuntime()
    rt.register_orchestrator("Doubled", doubled)
    rt.mock_activity("Double", side_effect=lambda x: x * 2)
    return rt, rt.start("Doubled", 4, instance_id="d-1")


def _race(event: bool) -> Callable[[], Tuple[InMemoryRuntime, str]]:
    def run() -> Tuple[InMemoryRuntime, str]:
        rt = InMemoryRuntime()
        rt.register_orchestrator("Race", timeout_race)
        iid = rt.start("Race", None, instance_id="race-1")
        rt.advance(timedelta(minutes=5))
        if event:
            rt.raise_event(iid, "Done", 42)
        return rt, iid
    return run


CASES: Dict[str, Tuple[Callable[[], Tuple[InMemoryRuntime, str]], Orchestrator]] = {
    "order": (_order, g.order_workflow),
    "doubled": (_doubled, doubled),
    "race-event": (_race(True), timeout_race),
    "race-timeout": (_race(False), timeout_race),
    "fan-out": (g.run_fan_out, g.fan_out),
}


def _recorded(case: str) -> Tuple[Any, Any, Orchestrator]:
    run, orchestrator = CASES[case]
    rt, iid = run()
    rt.wait(iid)
    history = rt.export_history(iid)
    return history, replay_history(orchestrator, history).output, orchestrator


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("shape", ["core-tools", "storage-table", "storage-table-csv",
                                   "durabletask"])
def test_lossless_round_trip(case: str, shape: str, tmp_path: Any) -> None:
    history, output, orchestrator = _recorded(case)
    source: Any
    if shape == "core-tools":
        source = X.to_core_tools(history)
    elif shape == "storage-table":
        source = X.to_table_rows(history)
    elif shape == "storage-table-csv":
        source = tmp_path / "MyHubHistory.csv"
        source.write_text(X.rows_to_csv(X.to_table_rows(history)), encoding="utf-8")
    else:
        source = X.to_durabletask(history)
    imported = import_history(source)
    assert imported.events == tuple(history.executions[-1])
    assert replay_history(orchestrator, imported).output == output


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("show_input", [True, False])
def test_status_api_round_trip_with_the_code(case: str, show_input: bool) -> None:
    history, output, orchestrator = _recorded(case)
    body = X.to_status_api(history, show_input=show_input)
    imported = import_history(json.loads(json.dumps(body)), orchestrator=orchestrator)
    notes = imported.metadata["import"]["notes"]
    assert "scheduling order and sequence numbers taken from replaying the orchestrator code" \
        in notes, notes
    replayed = replay_history(orchestrator, imported).output
    if show_input or case not in ("order", "race-event"):
        assert replayed == output
    else:  # without showInput the status API drops event data too
        assert "external event data was not exported (showInput=false): events deliver " \
            "null on replay" in notes
        assert replayed != output


def test_same_named_fan_out_completing_out_of_order_is_matched_by_input() -> None:
    history, output, orchestrator = _recorded("doubled")
    body = X.to_status_api(history)
    events: List[Dict[str, Any]] = body["historyEvents"]
    done = [e for e in events if e["EventType"] == "TaskCompleted"]
    first = events.index(done[0])
    reordered = events[:first] + done[::-1] + events[first + len(done):]
    body["historyEvents"] = reordered
    # Without the code the tasks are numbered in completion order: the replay is
    # "clean" but hands each task another task's result.
    guessed = import_history(body)
    assert replay_history(orchestrator, guessed).output == output[::-1]
    # With the code, the exported inputs say which completion is which task's.
    ordered = import_history(body, orchestrator=orchestrator)
    assert replay_history(orchestrator, ordered).output == output == [0, 2, 4, 6]


def test_status_api_without_inputs_flags_same_named_ties_as_ambiguous() -> None:
    history, output, orchestrator = _recorded("doubled")
    imported = import_history(X.to_status_api(history, show_input=False),
                              orchestrator=orchestrator)
    assert any(n.startswith("same-named tasks scheduled at the same instant without "
                            "exported inputs were matched in completion order: Double")
               for n in imported.metadata["import"]["notes"])
    assert replay_history(orchestrator, imported).output == output


def test_code_that_does_not_match_the_export_falls_back_and_says_why() -> None:
    history, _, _ = _recorded("fan-out")

    def other(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
        value = yield context.call_activity("Omega", 1)
        return value

    imported = import_history(X.to_status_api(history), orchestrator=other)
    notes = imported.metadata["import"]["notes"]
    assert any(n.startswith("the orchestrator code did not reproduce the export (the code "
                            "schedules activity 'Omega'") and n.endswith(
                                "fell back to timestamp order") for n in notes), notes


def parent(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    """A sub-orchestration started under an id of the code's choosing."""
    child_id = f"ship-{context.instance_id}"
    shipped = yield context.call_sub_orchestrator("Ship", {"order": 1}, child_id)
    return shipped


def test_status_api_import_takes_a_sub_orchestrations_id_from_the_code() -> None:
    rt = InMemoryRuntime()
    rt.register_orchestrator("Parent", parent)
    rt.register_orchestrator("Ship", g.ship)
    rt.mock_activity("Pack", side_effect=lambda order: {"packed": order})
    iid = rt.run("Parent", None, instance_id="p-1").instance_id
    history = rt.export_history(iid)
    body = json.loads(json.dumps(X.to_status_api(history)))  # folds away InstanceId
    def created(imported: Any) -> List[Any]:
        return [e.to_wire()["InstanceId"] for e in imported.events
                if e.to_wire()["EventType"] == 7]  # SubOrchestrationInstanceCreated

    assert created(import_history(body)) == [None]  # without the code: unknown
    imported = import_history(body, orchestrator=parent)
    assert created(imported) == ["ship-p-1"]
    assert "sub-orchestration instance ids taken from the code: ship-p-1" in \
        imported.metadata["import"]["notes"]
    assert replay_history(parent, imported, strict=True).output == \
        rt.status(iid).output
