"""Wire events the scenario driver and HistoryBuilder append, shaped as the in-memory host's.

Each constructor mirrors what ``runtime.InMemoryRuntime`` writes for the same
moment, so a scenario's (or a hand-built) history equals the host's.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any, Dict, Optional

from . import _protocol as p
from .errors import SerializationError

try:  # the SDK's own serializer (1.6+), so payloads encode exactly as in Azure
    from azure.durable_functions.models.utils.df_serialization import df_dumps as _df_dumps
except ImportError:  # pragma: no cover - SDK 1.3-1.5
    from azure.functions._durable_functions import _serialize_custom_object as _sco

    def _df_dumps(value: Any) -> str:
        return json.dumps(value, default=_sco)

# dtfx: OrchestrationStatus numbers carried by ExecutionCompleted.
COMPLETED = 1
CONTINUED_AS_NEW = 2
FAILED = 3


def dumps(value: Any, what: str) -> str:
    """JSON text of a payload as the SDK and host encode it."""
    try:
        return _df_dumps(value)
    except (TypeError, ValueError) as exc:
        raise SerializationError(what, value, exc) from None


def loads(text: Optional[str]) -> Any:
    """Decode payload text for display and assertions; non-JSON text stays text.

    Plain ``json.loads``: custom-class envelopes stay dicts, so reading a
    pending task never imports or runs user code.
    """
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _base(event_type: int, at: datetime, event_id: int = -1) -> Dict[str, Any]:
    return {"EventType": event_type, "EventId": event_id, "IsPlayed": False,
            "Timestamp": p.format_timestamp(at)}


def orchestrator_started(at: datetime) -> Dict[str, Any]:
    return _base(p.ORCHESTRATOR_STARTED, at)


def orchestrator_completed(at: datetime) -> Dict[str, Any]:
    return _base(p.ORCHESTRATOR_COMPLETED, at)


def execution_started(at: datetime, name: str, input_text: Optional[str], instance_id: str,
                      execution_id: str) -> Dict[str, Any]:
    return dict(_base(p.EXECUTION_STARTED, at), Name=name, Input=input_text, Version=None,
                OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": execution_id},
                ParentInstance=None)


def execution_completed(at: datetime, status: int, result: Optional[str],
                        error: Optional[str] = None) -> Dict[str, Any]:
    event = dict(_base(p.EXECUTION_COMPLETED, at), OrchestrationStatus=status, Result=result)
    if error is not None:
        event["FailureDetails"] = {"ErrorType": "OrchestrationFailureException",
                                   "ErrorMessage": error}
    return event


def task_scheduled(at: datetime, seq: int, name: str, input_text: Optional[str]) -> Dict[str, Any]:
    return dict(_base(p.TASK_SCHEDULED, at, seq), Name=name, Input=input_text, Version="")


def task_completed(at: datetime, seq: int, result_text: Optional[str]) -> Dict[str, Any]:
    return dict(_base(p.TASK_COMPLETED, at), TaskScheduledId=seq, Result=result_text)


def task_failed(at: datetime, seq: int, reason: str, details: Optional[str]) -> Dict[str, Any]:
    return dict(_base(p.TASK_FAILED, at), TaskScheduledId=seq, Reason=reason, Details=details)


def timer_created(at: datetime, seq: int, fire_at: datetime) -> Dict[str, Any]:
    return dict(_base(p.TIMER_CREATED, at, seq), FireAt=p.format_timestamp(fire_at))


def timer_fired(at: datetime, seq: int, fire_at: datetime) -> Dict[str, Any]:
    return dict(_base(p.TIMER_FIRED, at), TimerId=seq, FireAt=p.format_timestamp(fire_at))


def sub_created(at: datetime, seq: int, name: str, instance_id: str, input_text: Optional[str],
                version: Optional[str]) -> Dict[str, Any]:
    return dict(_base(p.SUB_ORCHESTRATION_CREATED, at, seq), Name=name, InstanceId=instance_id,
                Input=input_text, Version=version)


def sub_completed(at: datetime, seq: int, result_text: Optional[str]) -> Dict[str, Any]:
    return dict(_base(p.SUB_ORCHESTRATION_COMPLETED, at), TaskScheduledId=seq,
                Result=result_text)


def sub_failed(at: datetime, seq: int, reason: str, details: Optional[str]) -> Dict[str, Any]:
    return dict(_base(p.SUB_ORCHESTRATION_FAILED, at), TaskScheduledId=seq, Reason=reason,
                Details=details)


def event_raised(at: datetime, name: str, input_text: Optional[str]) -> Dict[str, Any]:
    return dict(_base(p.EVENT_RAISED, at), Name=name, Input=input_text)


def entity_request_id(instance_id: str, execution_id: str, seq: int) -> str:
    """A stable request id for a call_entity (the extension uses a fresh GUID)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"durable-testkit:{instance_id}:{execution_id}:{seq}"))


def entity_message_sent(at: datetime, seq: int, action: Dict[str, Any], instance_id: str,
                        execution_id: str, request_id: Optional[str]) -> Dict[str, Any]:
    """EventSent for call_entity (with the request id the answer is named by) or signal_entity."""
    message: Dict[str, Any] = {"op": action.get("operation")}
    if request_id is None:
        message["signal"] = True
    else:
        message["id"] = request_id
    message.update({"parent": instance_id, "parentExecution": execution_id,
                    "input": action.get("input")})
    return dict(_base(p.EVENT_SENT, at, seq), InstanceId=action.get("instanceId"), Name="op",
                Input=json.dumps(message))


def entity_response(at: datetime, request_id: str, result_text: str,
                    is_error: bool) -> Dict[str, Any]:
    body: Dict[str, Any] = {"result": result_text}
    if is_error:
        body["exceptionType"] = "Exception"
    return event_raised(at, request_id, json.dumps(body))
