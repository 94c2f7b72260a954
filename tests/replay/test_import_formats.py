"""Golden exports of each production format import into the history the host recorded.

The goldens in data/ follow the producers' documented shapes (docs/protocol.md,
"Production history formats"); order-17.expected.json is the history they were
made from (its last execution: every export shows the current execution only).
"""
from __future__ import annotations

import json
import os
from typing import Any

import golden_orchestrators as g
import pytest

from durable_testkit import load_history, replay_history
from durable_testkit.history import ExecutionStarted, TaskScheduled
from durable_testkit.importers import import_histories, import_history

from golden_orchestrators import DATA

EXPECTED_OUTPUT = {"reserved": "R-2", "shipped": "box for R-2", "approval": "bob",
                   "labels": ["label-0", "label-1", "label-2"]}


def _path(name: str) -> str:
    return os.path.join(DATA, name)


@pytest.fixture(scope="module")
def expected() -> Any:
    return load_history(_path("order-17.expected.json"))


LOSSLESS = [("order-17.core-tools.json", "core-tools"),
            ("order-17.history-table.json", "storage-table"),
            ("OrderHubHistory.csv", "storage-table"),
            ("order-17.typed-plain.csv", "storage-table"),
            ("order-17.durabletask.json", "durabletask"),
            ("order-17.durabletask.jsonl.gz", "durabletask")]


@pytest.mark.parametrize("name, fmt", LOSSLESS)
def test_lossless_formats_import_exactly_the_recorded_history(name: str, fmt: str,
                                                              expected: Any) -> None:
    imported = import_history(_path(name))
    assert imported.metadata["import"]["format"] == fmt
    assert (imported.orchestrator, imported.instance_id) == ("OrderWorkflow", "order-17")
    assert imported.events == expected.events
    assert replay_history(g.order_workflow, imported).output == EXPECTED_OUTPUT


@pytest.mark.parametrize("name, fmt", LOSSLESS)
def test_format_given_explicitly_gives_the_same_result(name: str, fmt: str,
                                                       expected: Any) -> None:
    assert import_history(_path(name), format=fmt).events == expected.events


def test_table_export_keeps_only_the_current_execution_and_says_so() -> None:
    with open(_path("order-17.history-table.json")) as fh:
        rows = json.load(fh)["value"]
    executions = {r["ExecutionId"] for r in rows}
    assert len(executions) == 2  # leftover rows of the first execution are in the export
    imported = import_history(_path("order-17.history-table.json"))
    assert "4 row(s) of an earlier execution (continue-as-new) skipped, as DTFx skips them" \
        in imported.metadata["import"]["notes"]


def test_untyped_csv_imports_with_table_nulls_as_absent(expected: Any) -> None:
    imported = import_history(_path("order-17.untyped.csv"))
    # An untyped CSV cannot tell an empty string from an absent value: TaskScheduled's
    # Version "" reads back as null. Everything else is exact.
    def without_version(events: Any) -> Any:
        return [e if not isinstance(e, TaskScheduled) else
                TaskScheduled(event_id=e.event_id, timestamp=e.timestamp,
                              is_played=e.is_played, name=e.name, input=e.input)
                for e in events]
    assert without_version(imported.events) == without_version(expected.events)
    assert replay_history(g.order_workflow, imported).output == EXPECTED_OUTPUT


def test_status_api_export_is_rebuilt_and_replays_with_the_code() -> None:
    imported = import_history(_path("order-17.status-api.json"), orchestrator=g.order_workflow)
    assert replay_history(g.order_workflow, imported).output == EXPECTED_OUTPUT
    notes = imported.metadata["import"]["notes"]
    assert "episodes (OrchestratorStarted/Completed) rebuilt from timestamps" in notes
    assert "scheduling order and sequence numbers taken from replaying the orchestrator code" \
        in notes


def test_status_api_export_replays_without_the_code_when_timestamps_suffice() -> None:
    imported = import_history(_path("order-17.status-api.json"))
    assert replay_history(g.order_workflow, imported).output == EXPECTED_OUTPUT


def test_status_api_app_accepts_what_discover_app_accepts() -> None:
    import azure.durable_functions as df

    app = df.DFApp()
    app.function_name("OrderWorkflow")(
        app.orchestration_trigger(context_name="context")(g.order_workflow))
    imported = import_history(_path("order-17.status-api.json"), app=app)
    assert "scheduling order and sequence numbers taken from replaying the orchestrator code" \
        in imported.metadata["import"]["notes"]
    assert replay_history(g.order_workflow, imported).output == EXPECTED_OUTPUT


def test_docs_sample_with_dotnet_times_and_a_local_offset() -> None:
    imported = import_history(_path("hello-sequence.status-api.json"))
    assert imported.instance_id == "7af46ff000564c65aafbfe99d07c32a5"
    assert replay_history(g.hello_sequence, imported).output == [
        "Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    scheduled = [e for e in imported.events if isinstance(e, TaskScheduled)]
    # -04:00 is read as an offset: 01:18:52.50-04:00 is 05:18:52.50 UTC, after Tokyo's
    # completion, so Seattle is scheduled in the second episode.
    assert [e.event_id for e in scheduled] == [0, 1, 2]
    assert scheduled[1].timestamp.isoformat() == "2018-02-28T05:18:52.502430+00:00"


def test_fan_out_at_one_instant_needs_the_code_to_order_it() -> None:
    from durable_testkit import NonDeterminismError

    guessed = import_history(_path("fan-1.status-api.json"))
    assert any("several tasks were scheduled at the same instant" in n
               for n in guessed.metadata["import"]["notes"])
    with pytest.raises(NonDeterminismError) as info:
        replay_history(g.fan_out, guessed)
    assert "expected (history): activity 'Gamma' #0" in str(info.value)

    ordered = import_history(_path("fan-1.status-api.json"), orchestrator=g.fan_out)
    assert replay_history(g.fan_out, ordered).output == ["Alpha:1", "Beta:2", "Gamma:3"]
    names = [e.name for e in ordered.events if isinstance(e, TaskScheduled)]
    assert names == ["Alpha", "Beta", "Gamma"]


def test_version_comes_from_the_export_or_from_version_argument() -> None:
    imported = import_history(_path("order-17.status-api.json"), version="2.1")
    started = [e for e in imported.events if isinstance(e, ExecutionStarted)]
    assert started[0].version == "2.1"
    assert "ExecutionStarted Version set to '2.1' from version=" in \
        imported.metadata["import"]["notes"]
    with open(_path("order-17.core-tools.json")) as fh:
        events = json.load(fh)
    events[1]["Version"] = "1.0"
    kept = import_history(events, version="2.1")
    assert [e for e in kept.events if isinstance(e, ExecutionStarted)][0].version == "1.0"
    assert "version='2.1' ignored: the export records Version '1.0'" in \
        kept.metadata["import"]["notes"]


def test_python_client_status_object_is_accepted() -> None:
    from azure.durable_functions.models.DurableOrchestrationStatus import (
        DurableOrchestrationStatus)

    with open(_path("hello-sequence.status-api.json")) as fh:
        status = DurableOrchestrationStatus.from_json(json.load(fh))
    imported = import_history(status)
    assert imported.instance_id == "7af46ff000564c65aafbfe99d07c32a5"
    bare = import_history(status.historyEvents, instance_id="abc")
    assert bare.instance_id == "abc"
    assert [type(e) for e in bare.events] == [type(e) for e in imported.events]


def test_a_table_export_of_several_instances_gives_one_history_each() -> None:
    with open(_path("order-17.history-table.json")) as fh:
        rows = json.load(fh)["value"]
    other = [dict(r, PartitionKey="order-18") for r in rows]
    for r in other:
        if "OrchestrationInstance" in r:
            r["OrchestrationInstance"] = r["OrchestrationInstance"].replace("order-17",
                                                                            "order-18")
    histories = import_histories(rows + other)
    assert [h.instance_id for h in histories] == ["order-17", "order-18"]
