"""Every HistoryImportError: what the message says (file, format, event, what is missing)."""
from __future__ import annotations

import copy
import gzip
import json
import os
from typing import Any, Dict, List

import pytest

from durable_testkit.errors import HistoryFormatError, HistoryImportError
from durable_testkit.importers import import_history

from golden_orchestrators import DATA


def _load(name: str) -> Any:
    with open(os.path.join(DATA, name)) as fh:
        return json.load(fh)


def _message(source: Any, **kw: Any) -> str:
    with pytest.raises(HistoryImportError) as info:
        import_history(source, **kw)
    assert isinstance(info.value, HistoryFormatError)  # callers catching the old error still do
    return str(info.value)


def test_missing_execution_started_status_api() -> None:
    body = _load("hello-sequence.status-api.json")
    del body["historyEvents"][0]
    assert _message(body) == (
        "<object>, status-api export: no ExecutionStarted event: the export does not start "
        "at the beginning of an execution. Export the full history (showHistory=true)")


def test_missing_execution_started_core_tools(tmp_path: Any) -> None:
    events = _load("order-17.core-tools.json")
    path = tmp_path / "history.json"
    path.write_text(json.dumps([e for e in events if e["EventType"] != "ExecutionStarted"]))
    assert _message(str(path)) == (
        f"{path}, core-tools export: no ExecutionStarted event: the export does not start at "
        "the beginning of an execution, so its input, name and version are unknown. Export "
        "the whole history of the instance")


def test_unknown_event_type_name() -> None:
    events = _load("order-17.core-tools.json")
    events[3]["EventType"] = "TaskScheduledd"
    assert _message(events) == (
        "<object>, core-tools export, event 3 (TaskScheduledd): unknown event type name "
        "'TaskScheduledd'; known: " + ", ".join(
            ["ExecutionStarted", "ExecutionCompleted", "ExecutionFailed", "ExecutionTerminated",
             "TaskScheduled", "TaskCompleted", "TaskFailed", "SubOrchestrationInstanceCreated",
             "SubOrchestrationInstanceCompleted", "SubOrchestrationInstanceFailed",
             "TimerCreated", "TimerFired", "OrchestratorStarted", "OrchestratorCompleted",
             "EventSent", "EventRaised", "ContinueAsNew", "GenericEvent", "HistoryState",
             "ExecutionSuspended", "ExecutionResumed"])
        + ". Newer event kinds (entities, rewind) are not part of the Azure Functions Python "
          "protocol; remove the event or report it")


def test_unknown_event_type_name_suggests_the_right_case() -> None:
    body = _load("hello-sequence.status-api.json")
    body["historyEvents"][1]["EventType"] = "taskcompleted"
    assert "unknown event type name 'taskcompleted' (did you mean TaskCompleted?)" in \
        _message(body)


def test_unknown_durabletask_event_type() -> None:
    doc = _load("order-17.durabletask.json")
    doc["events"][2] = {"event_type": "EntityOperationCalledEvent", "event_id": 5,
                        "timestamp": "2024-01-01T00:00:00+00:00"}
    assert _message(doc) == (
        "<object>, durabletask export, event 2 (EntityOperationCalledEvent): unknown event "
        "type name 'EntityOperationCalledEvent'; entity and rewind events belong to "
        "durabletask's own entities; the Azure Functions Python SDK never sees them")


@pytest.mark.parametrize("value", ["yesterday", "2024-13-01T00:00:00Z", 17])
def test_unparseable_timestamp(value: Any) -> None:
    body = _load("hello-sequence.status-api.json")
    body["historyEvents"][2]["ScheduledTime"] = value
    message = _message(body)
    if value == "2024-13-01T00:00:00Z":
        assert message == ("<object>, status-api export, event 2 (TaskCompleted): "
                           "ScheduledTime is not a valid time: '2024-13-01T00:00:00Z' "
                           "(month must be in 1..12)")
    else:
        assert message == (f"<object>, status-api export, event 2 (TaskCompleted): "
                           f"ScheduledTime is not a timestamp: {value!r}. Timestamps must be "
                           "ISO 8601, like '2024-01-01T00:00:00.000Z'")


def test_unparseable_timestamp_in_a_table_row() -> None:
    rows: List[Dict[str, Any]] = _load("order-17.history-table.json")["value"]
    rows[1]["_Timestamp"] = "01/02/2024 10:00"
    assert _message(rows) == (
        "<object>, storage-table export, event 1 (ExecutionStarted): Timestamp is not a "
        "timestamp: '01/02/2024 10:00'. Timestamps must be ISO 8601, like "
        "'2024-01-01T00:00:00.000Z'")


def test_large_payload_in_a_blob(tmp_path: Any) -> None:
    rows: List[Dict[str, Any]] = copy.deepcopy(_load("order-17.history-table.json")["value"])
    done = next(i for i, r in enumerate(rows) if r["EventType"] == "TaskCompleted"
                and r["ExecutionId"] == rows[-1]["ExecutionId"])
    blob = "order-17/history-0000000000000007-TaskCompleted-8F3A2C11-Result.json.gz"
    rows[done]["Result"] = ""
    rows[done]["ResultBlobName"] = blob
    path = tmp_path / "OrderHubHistory.json"
    path.write_text(json.dumps({"value": rows}))
    assert _message(str(path)) == (
        f"{path}, storage-table export, event {int(rows[done]['RowKey'], 16)} (TaskCompleted): "
        "Result (row "
        f"{rows[done]['RowKey']}) was too large for the table and is stored in blob '{blob}' "
        "of container 'orderhub-largemessages'. Download that blob (e.g. az storage blob "
        f"download --container-name orderhub-largemessages --name '{blob}' --file "
        "blob.json.gz), gunzip it, put its text in the row's Result column, delete "
        "ResultBlobName, and import again")


def test_large_payload_without_a_hub_name_names_the_container_pattern() -> None:
    rows = _load("order-17.history-table.json")["value"]
    rows[1]["Input"] = ""
    rows[1]["InputBlobName"] = "order-17/history-0000000000000001-ExecutionStarted-1-Input.json.gz"
    assert "of container '<taskhub>-largemessages'" in _message(rows)


def test_completion_without_its_scheduling_data() -> None:
    body = _load("hello-sequence.status-api.json")
    del body["historyEvents"][2]["ScheduledTime"]
    assert _message(body) == (
        "<object>, status-api export, event 2 (TaskCompleted): has no ScheduledTime/"
        "FunctionName, so the event that scheduled it is lost: the extension found no matching "
        "scheduling event. Export this instance another way (func durable get-history or the "
        "History table): the status API cannot rebuild it")


def test_bare_status_list_needs_an_instance_id() -> None:
    body = _load("hello-sequence.status-api.json")
    assert _message(body["historyEvents"]) == (
        "<object>, status-api export: the instance id is unknown: a bare historyEvents list "
        "does not say which instance it is. Pass instance_id=, or import the whole status "
        "response (it has instanceId)")


def test_scheduling_event_without_event_id() -> None:
    events = _load("order-17.core-tools.json")
    del events[2]["EventId"]
    assert _message(events) == (
        "<object>, core-tools export, event 2 (TaskScheduled): missing EventId, the sequence "
        "number the SDK matches its actions by")


def test_unknown_shape_and_unknown_format() -> None:
    assert _message({"hello": 1}) == (
        "<object>, auto export: cannot tell the export format: expected a status response "
        "(with historyEvents), History-table rows (PartitionKey/RowKey), a func durable "
        "get-history list (EventType and EventId) or a durabletask export (schema_version, "
        "event_type). Pass format= one of status-api, storage-table, core-tools, durabletask")
    assert _message([], format="csv") == (
        "<object>: unknown format 'csv'. Use one of auto, status-api, storage-table, "
        "core-tools, durabletask")


def test_file_problems(tmp_path: Any) -> None:
    missing = tmp_path / "nope.json"
    assert _message(str(missing)) == f"{missing}: no such file"
    bad = tmp_path / "bad.json"
    bad.write_text('{"historyEvents": [')
    assert _message(str(bad)).startswith(f"{bad}: not valid JSON: Expecting value at line 1")
    gz = tmp_path / "bad.json.gz"
    gz.write_bytes(gzip.compress(b"\xff\xfe not utf-8")[:-4])
    assert _message(str(gz)).startswith(f"{gz}: not a valid gzip file")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert _message(str(text)) == (f"{text}: neither JSON nor a History-table CSV (no "
                                   "PartitionKey column in the first line)")


def test_already_a_history_file() -> None:
    assert _message(os.path.join(DATA, "order-17.expected.json")) == (
        f"{os.path.join(DATA, 'order-17.expected.json')}: this is already a durable-testkit "
        "history file; load it with load_history(), no import needed")


def test_several_instances_need_import_histories() -> None:
    rows = _load("order-17.history-table.json")["value"]
    other = [dict(r, PartitionKey="order-18") for r in rows]
    assert _message(rows + other) == (
        "<object>, auto export: the export holds 2 instances (order-17, order-17). Use "
        "import_histories() or durable-testkit import, which write one file per instance")


def test_bad_csv_cell(tmp_path: Any) -> None:
    path = tmp_path / "h.csv"
    path.write_text("PartitionKey,RowKey,EventId,EventId@type\na,0000000000000000,x,Edm.Int32\n")
    assert _message(str(path)) == (
        f"{path}, storage-table export, event 0: column EventId (Edm.Int32): invalid literal "
        "for int() with base 10: 'x'")
