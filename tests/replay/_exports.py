"""Test-only converters: turn a history the in-memory host recorded into each export shape.

They follow the producers described in docs/protocol.md ("Production history
formats"): the extension's status-API fold (DurableClient), DTFx's History-table
rows (TableEntityConverter), Core Tools' get-history JSON and durabletask-python's
history export. They exist so tests can check that ``import_history`` undoes them.
"""
from __future__ import annotations

import csv
import io
import json
from typing import Any, Dict, List, Optional, Sequence

from durable_testkit.history import EventType, InstanceHistory

_STATUS_NAMES = {0: "Running", 1: "Completed", 2: "ContinuedAsNew", 3: "Failed",
                 4: "Canceled", 5: "Terminated", 6: "Pending", 7: "Suspended"}
_COMPLEX = ("OrchestrationInstance", "ParentInstance", "FailureDetails", "Tags")


def last_execution(history: InstanceHistory) -> List[Dict[str, Any]]:
    return [e.to_wire() for e in history.executions[-1]]


def to_core_tools(history: InstanceHistory) -> List[Dict[str, Any]]:
    """func durable get-history: DTFx's events, EventType as names, status numbers kept."""
    out = []
    for ev in last_execution(history):
        ev = dict(ev)
        ev["EventType"] = EventType(ev["EventType"]).name
        out.append(ev)
    return out


def _parse(text: Optional[str]) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def to_status_api(history: InstanceHistory, *, show_input: bool = True,
                  show_output: bool = True) -> Dict[str, Any]:
    """The status API body, folded as DurableClient.GetDurableOrchestrationStatusAsync does."""
    events = [dict(e) for e in to_core_tools(history)]
    scheduled: Dict[str, Dict[str, Any]] = {}
    drop: List[int] = []
    for i, ev in enumerate(events):
        et = ev["EventType"]
        if et in ("TaskScheduled", "SubOrchestrationInstanceCreated"):
            scheduled[f"{et}_{ev['EventId']}"] = {"Index": i, "Name": ev.get("Name"),
                                                  "Date": ev["Timestamp"],
                                                  "Input": ev.get("Input")}
            ev.pop("Version", None)
        elif et in ("TaskCompleted", "TaskFailed", "SubOrchestrationInstanceCompleted",
                    "SubOrchestrationInstanceFailed"):
            prefix = "TaskScheduled" if et.startswith("Task") else \
                "SubOrchestrationInstanceCreated"
            data = scheduled.get(f"{prefix}_{ev.get('TaskScheduledId')}")
            if data is not None:
                ev["ScheduledTime"] = data["Date"]
                ev["FunctionName"] = data["Name"]
                if show_input:
                    ev["Input"] = data["Input"]
                drop.append(data["Index"])
            ev.pop("TaskScheduledId", None)
            if et.endswith("Completed"):
                if show_output:
                    ev["Result"] = _parse(ev.get("Result"))
                else:
                    ev.pop("Result", None)
        elif et == "ExecutionStarted":
            ev["FunctionName"] = ev.pop("Name")
            for k in ("OrchestrationInstance", "ParentInstance", "Version", "Tags"):
                ev.pop(k, None)
        elif et == "ExecutionCompleted":
            ev["OrchestrationStatus"] = _STATUS_NAMES[ev["OrchestrationStatus"]]
            if show_output:
                ev["Result"] = _parse(ev.get("Result"))
            else:
                ev.pop("Result", None)
        elif et == "TimerFired":
            ev.pop("TimerId", None)
        elif et in ("OrchestratorStarted", "OrchestratorCompleted"):
            drop.append(i)
        if not show_input:
            ev.pop("Input", None)
        ev.pop("EventId", None)
        ev.pop("IsPlayed", None)
    kept = [ev for i, ev in enumerate(events) if i not in set(drop)]
    first = last_execution(history)
    started = next(e for e in first if e["EventType"] == 0)
    return {"name": history.orchestrator, "instanceId": history.instance_id,
            "runtimeStatus": "Completed", "input": _parse(started.get("Input")),
            "customStatus": None, "output": None,
            "createdTime": started["Timestamp"][:19] + "Z",
            "lastUpdatedTime": first[-1]["Timestamp"][:19] + "Z", "historyEvents": kept}


def _rows_of(events: Sequence[Dict[str, Any]], iid: str) -> List[Dict[str, Any]]:
    started = next(e for e in events if e["EventType"] == 0)
    execution_id = started["OrchestrationInstance"]["ExecutionId"]
    rows = []
    for seq, ev in enumerate(events):
        row: Dict[str, Any] = {"PartitionKey": iid, "RowKey": f"{seq:016X}",
                               "ExecutionId": execution_id}
        for k, v in ev.items():
            if v is None:
                continue  # Table storage does not store nulls
            if k == "EventType":
                v = EventType(v).name
            elif k == "Timestamp":
                k = "_Timestamp"
            elif k == "OrchestrationStatus":
                v = _STATUS_NAMES[v]
            elif k in _COMPLEX:
                v = json.dumps(v)
            row[k] = v
        rows.append(row)
    return rows


def to_table_rows(history: InstanceHistory) -> List[Dict[str, Any]]:
    """History-table rows: every execution written in turn over the same RowKeys, as
    continue-as-new does, leaving an older execution's extra rows behind; a sentinel last."""
    by_key: Dict[str, Dict[str, Any]] = {}
    execution_id = ""
    for execution in history.executions:
        rows = _rows_of([e.to_wire() for e in execution], history.instance_id)
        execution_id = rows[0]["ExecutionId"]
        for row in rows:
            by_key[row["RowKey"]] = row
    ordered = [by_key[k] for k in sorted(by_key)]
    ordered.append({"PartitionKey": history.instance_id, "RowKey": "sentinel",
                    "ExecutionId": execution_id, "IsCheckpointComplete": True})
    return ordered


_EDM = {str: "Edm.String", bool: "Edm.Boolean", int: "Edm.Int32"}
_PLAIN = {str: "String", bool: "Boolean", int: "Int32"}


def rows_to_csv(rows: Sequence[Dict[str, Any]], *, types: Optional[str] = "Edm") -> str:
    """Storage Explorer's CSV: ``Prop,Prop@type`` columns (``types`` "Edm" or "plain"),
    or untyped (``types=None``); the table's own Timestamp column first."""
    columns: List[str] = ["PartitionKey", "RowKey", "Timestamp"]
    for row in rows:
        for k in row:
            if k not in columns:
                columns.append(k)
    header: List[str] = []
    for c in columns:
        header.append(c)
        if types and c not in ("PartitionKey", "RowKey", "Timestamp"):
            header.append(f"{c}@type")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    names = _EDM if types == "Edm" else _PLAIN
    for row in rows:
        cells: List[str] = []
        for c in columns:
            if c == "Timestamp":
                cells.append("2024-06-01T00:00:00.000Z")
                continue
            v = row.get(c)
            text = "" if v is None else ("true" if v is True else "false" if v is False
                                         else str(v))
            cells.append(text)
            if types and c not in ("PartitionKey", "RowKey"):
                kind = names[type(v)] if v is not None else ""
                if c == "_Timestamp" and v is not None:
                    kind = "Edm.DateTime" if types == "Edm" else "DateTime"
                cells.append(kind)
        writer.writerow(cells)
    return buf.getvalue()


_DT_NAMES = {0: "ExecutionStartedEvent", 1: "ExecutionCompletedEvent",
             3: "ExecutionTerminatedEvent", 4: "TaskScheduledEvent", 5: "TaskCompletedEvent",
             6: "TaskFailedEvent", 7: "SubOrchestrationInstanceCreatedEvent",
             8: "SubOrchestrationInstanceCompletedEvent",
             9: "SubOrchestrationInstanceFailedEvent", 10: "TimerCreatedEvent",
             11: "TimerFiredEvent", 12: "OrchestratorStartedEvent",
             13: "OrchestratorCompletedEvent", 14: "EventSentEvent", 15: "EventRaisedEvent",
             16: "ContinueAsNewEvent"}


def _iso(text: str) -> str:
    # durabletask writes datetime.isoformat(): +00:00, not Z
    return text.replace("Z", "+00:00")


def to_durabletask(history: InstanceHistory) -> Dict[str, Any]:
    """durabletask-python's history export (JSON kind), fields as durabletask.history names them."""
    events = []
    for ev in last_execution(history):
        et = ev["EventType"]
        out: Dict[str, Any] = {"event_type": _DT_NAMES[et], "event_id": ev["EventId"],
                               "timestamp": _iso(ev["Timestamp"])}
        if et == 0:
            oi = ev.get("OrchestrationInstance") or {}
            out.update(name=ev["Name"], version=ev.get("Version"), input=ev.get("Input"),
                       orchestration_instance={"instance_id": oi.get("InstanceId"),
                                               "execution_id": oi.get("ExecutionId")},
                       parent_instance=None, scheduled_start_timestamp=None,
                       parent_trace_context=None, orchestration_span_id=None, tags=None)
        elif et == 1:
            out.update(orchestration_status=ev["OrchestrationStatus"], result=ev.get("Result"),
                       failure_details=None)
        elif et in (4, 7):
            out.update(name=ev["Name"], version=ev.get("Version"), input=ev.get("Input"),
                       parent_trace_context=None, tags=None)
            if et == 7:
                out["instance_id"] = ev.get("InstanceId")
        elif et in (5, 8):
            out.update(task_scheduled_id=ev["TaskScheduledId"], result=ev.get("Result"))
        elif et in (6, 9):
            out.update(task_scheduled_id=ev["TaskScheduledId"],
                       failure_details={"message": ev.get("Reason"), "error_type": "Exception",
                                        "stack_trace": ev.get("Details")})
        elif et == 10:
            out["fire_at"] = _iso(ev["FireAt"])
        elif et == 11:
            out.update(fire_at=_iso(ev["FireAt"]), timer_id=ev["TimerId"])
        elif et == 15:
            out.update(name=ev["Name"], input=ev.get("Input"))
        elif et == 14:
            out.update(instance_id=ev.get("InstanceId"), name=ev.get("Name"),
                       input=ev.get("Input"))
        events.append(out)
    return {"schema_version": "1.0", "instance_id": history.instance_id, "events": events,
            "metadata": {"instance_id": history.instance_id, "name": history.orchestrator,
                         "runtime_status": "COMPLETED"}}
