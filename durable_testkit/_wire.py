"""The wire events the host records, built in one place.

The in-memory host, the entity scheduler, the scenario driver and HistoryBuilder
all append these, so a scenario's (or a hand-built) history equals the host's by
construction. ``at`` is a datetime or an already formatted wire timestamp (the
host formats once per episode).
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any, Dict, Optional, Union, cast

from . import _protocol as p
from . import _sdk

# dtfx: OrchestrationStatus numbers carried by ExecutionCompleted.
COMPLETED = 1
CONTINUED_AS_NEW = 2
FAILED = 3
TERMINATED = 5

# Request ids of call_entity/signal_entity: stable per (instance, execution, seq); the
# extension uses a fresh GUID, but nothing reads it except to match the answer.
_REQUEST_NAMESPACE = uuid.UUID("6f1c3a52-3f7e-4d0b-9c55-1f4f7e0d2b61")

# What the response to a failed entity call carries; the SDK only checks the key exists
# (models/entities/ResponseMessage.py: ``"exceptionType" in d``).
_EXCEPTION_TYPE = "Error"

When = Union[datetime, str]


def dumps(value: Any, what: str) -> str:
    """JSON text of a payload as the SDK and host encode it."""
    return _sdk.dumps_payload(value, what)


def loads(text: Any) -> Any:
    """Decode payload text for display and assertions; non-JSON text stays text.

    Plain ``json.loads``: custom-class envelopes stay dicts, so reading a
    pending task never imports or runs user code. A value that is not text
    (already decoded, or None) is returned as it is.
    """
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _base(event_type: int, at: When, event_id: int = -1) -> Dict[str, Any]:
    return {"EventType": event_type, "EventId": event_id, "IsPlayed": False,
            "Timestamp": _stamp(at)}


def orchestrator_started(at: When) -> Dict[str, Any]:
    return _base(p.ORCHESTRATOR_STARTED, at)


def orchestrator_completed(at: When) -> Dict[str, Any]:
    return _base(p.ORCHESTRATOR_COMPLETED, at)


def execution_started(at: When, name: str, input_text: Optional[str], instance_id: str,
                      execution_id: str, version: Optional[str] = None,
                      parent: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    return dict(_base(p.EXECUTION_STARTED, at), Name=name, Input=input_text, Version=version,
                OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": execution_id},
                ParentInstance=parent)


def execution_completed(at: When, status: int, result: Optional[str],
                        error: Optional[str] = None) -> Dict[str, Any]:
    event = dict(_base(p.EXECUTION_COMPLETED, at), OrchestrationStatus=status, Result=result)
    if error is not None:
        event["FailureDetails"] = {"ErrorType": "OrchestrationFailureException",
                                   "ErrorMessage": error}
    return event


# The two events of every activity are written out whole (one dict, not _base's copied):
# they are built once per activity, the host's hottest path.
def task_scheduled(at: When, seq: int, name: str, input_text: Optional[str]) -> Dict[str, Any]:
    return {"EventType": p.TASK_SCHEDULED, "EventId": seq, "IsPlayed": False,
            "Timestamp": at if type(at) is str else _stamp(at), "Name": name,
            "Input": input_text, "Version": ""}


def task_completed(at: When, seq: int, result_text: Optional[str]) -> Dict[str, Any]:
    return {"EventType": p.TASK_COMPLETED, "EventId": -1, "IsPlayed": False,
            "Timestamp": at if type(at) is str else _stamp(at), "TaskScheduledId": seq,
            "Result": result_text}


def task_failed(at: When, seq: int, reason: str, details: Optional[str]) -> Dict[str, Any]:
    return dict(_base(p.TASK_FAILED, at), TaskScheduledId=seq, Reason=reason, Details=details)


def _stamp(at: When) -> str:
    return at if isinstance(at, str) else p.format_timestamp(at)


def timer_created(at: When, seq: int, fire_at: When) -> Dict[str, Any]:
    return dict(_base(p.TIMER_CREATED, at, seq), FireAt=_stamp(fire_at))


def timer_fired(at: When, seq: int, fire_at: When) -> Dict[str, Any]:
    return dict(_base(p.TIMER_FIRED, at), TimerId=seq, FireAt=_stamp(fire_at))


def execution_terminated(at: When, reason: str) -> Dict[str, Any]:
    return dict(_base(p.EXECUTION_TERMINATED, at), Input=reason)


def execution_suspended(at: When, reason: str) -> Dict[str, Any]:
    return dict(_base(p.EXECUTION_SUSPENDED, at), Reason=reason)


def execution_resumed(at: When, reason: str) -> Dict[str, Any]:
    return dict(_base(p.EXECUTION_RESUMED, at), Reason=reason)


def sub_created(at: When, seq: int, name: str, instance_id: str, input_text: Optional[str],
                version: Optional[str]) -> Dict[str, Any]:
    return dict(_base(p.SUB_ORCHESTRATION_CREATED, at, seq), Name=name, InstanceId=instance_id,
                Input=input_text, Version=version)


def sub_completed(at: When, seq: int, result_text: Optional[str]) -> Dict[str, Any]:
    return dict(_base(p.SUB_ORCHESTRATION_COMPLETED, at), TaskScheduledId=seq,
                Result=result_text)


def sub_failed(at: When, seq: int, reason: str, details: Optional[str]) -> Dict[str, Any]:
    return dict(_base(p.SUB_ORCHESTRATION_FAILED, at), TaskScheduledId=seq, Reason=reason,
                Details=details)


def event_raised(at: When, name: str, input_text: Optional[str]) -> Dict[str, Any]:
    return dict(_base(p.EVENT_RAISED, at), Name=name, Input=input_text)


def entity_request_id(instance_id: str, execution_id: str, seq: int) -> str:
    """A stable request id for an entity message (the extension uses a fresh GUID)."""
    return str(uuid.uuid5(_REQUEST_NAMESPACE, f"{instance_id}\n{execution_id}\n{seq}"))


def entity_message_sent(at: When, seq: int, action: Dict[str, Any], instance_id: str,
                        execution_id: str, request_id: str) -> Dict[str, Any]:
    """EventSent for a call_entity or signal_entity action.

    The request's ``input`` is the action's input text carried as a JSON string,
    as the extension's RequestMessage does (sdk-protocol.md section 7).
    """
    message: Dict[str, Any] = {"op": action.get("operation")}
    if action.get("actionType") == p.SIGNAL_ENTITY:
        message["signal"] = True
    message.update({"input": json.dumps(action.get("input")), "id": request_id,
                    "parent": instance_id, "parentExecution": execution_id})
    return dict(_base(p.EVENT_SENT, at, seq), InstanceId=action.get("instanceId"), Name="op",
                Input=json.dumps(message))


def entity_response(at: When, request_id: str, result_text: Optional[str],
                    is_error: bool) -> Dict[str, Any]:
    body: Dict[str, Any] = {"result": result_text}
    if is_error:
        body["exceptionType"] = _EXCEPTION_TYPE
    return event_raised(at, request_id, json.dumps(body))
