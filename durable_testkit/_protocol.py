"""The out-of-process protocol of azure-functions-durable 1.x, as the host speaks it.

Everything that knows the SDK's wire shapes lives here: the context JSON we
send, the response we read back, timestamps and payload encoding. A second
adapter (for the durabletask-based 2.x SDK) would replace this module only.
See docs/protocol.md for each fact and its source.
"""
from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Optional, Tuple

# EventType numbers (azure/durable_functions/models/history/HistoryEventType.py).
EXECUTION_STARTED = 0
EXECUTION_COMPLETED = 1
EXECUTION_FAILED = 2
EXECUTION_TERMINATED = 3
TASK_SCHEDULED = 4
TASK_COMPLETED = 5
TASK_FAILED = 6
SUB_ORCHESTRATION_CREATED = 7
SUB_ORCHESTRATION_COMPLETED = 8
SUB_ORCHESTRATION_FAILED = 9
TIMER_CREATED = 10
TIMER_FIRED = 11
ORCHESTRATOR_STARTED = 12
ORCHESTRATOR_COMPLETED = 13
EVENT_SENT = 14
EVENT_RAISED = 15
CONTINUE_AS_NEW = 16
GENERIC_EVENT = 17
HISTORY_STATE = 18
EXECUTION_SUSPENDED = 19
EXECUTION_RESUMED = 20

# ActionType numbers (azure/durable_functions/models/actions/ActionType.py).
CALL_ACTIVITY = 0
CALL_ACTIVITY_WITH_RETRY = 1
CALL_SUB_ORCHESTRATOR = 2
CALL_SUB_ORCHESTRATOR_WITH_RETRY = 3
ACTION_CONTINUE_AS_NEW = 4
CREATE_TIMER = 5
WAIT_FOR_EXTERNAL_EVENT = 6
CALL_ENTITY = 7
CALL_HTTP = 8
SIGNAL_ENTITY = 9
WHEN_ANY = 11
WHEN_ALL = 12

# The name the extension schedules call_http under (one activity, no 202 polling for Python).
HTTP_ACTIVITY_NAME = "BuiltIn::HttpActivity"

# What the current extension sends (ext: OrchestrationTriggerAttributeBindingProvider).
# upperSchemaVersion stays 1: SDKs before 1.3 reject anything larger.
MAX_SHORT_TIMER = timedelta(days=6)
_CONTEXT_TAIL = (
    ',"upperSchemaVersion":1,"upperSchemaVersionNew":2,'
    '"maximumShortTimerDuration":"6.00:00:00",'
    '"longRunningTimerIntervalDuration":"3.00:00:00",'
    '"defaultHttpAsyncRequestSleepTimeMillseconds":30000}'
)

_OUT_OF_PROC_LABEL = "\n\n$OutOfProcData$:"
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_timestamp(t: datetime) -> str:
    """Wire form of an instant: UTC, microseconds, literal Z (what the SDK itself writes)."""
    if t.tzinfo is not None:
        t = t.astimezone(timezone.utc)
    return t.strftime(_TS_FORMAT)


def parse_timestamp(text: str) -> datetime:
    """Parse the wire timestamps we and .NET write (Z or offset, up to 7 fraction digits)."""
    s = text.strip()
    if s.endswith("Z") or s.endswith("z"):
        s = s[:-1] + "+00:00"
    if "." in s:
        head, _, rest = s.partition(".")
        frac = ""
        i = 0
        while i < len(rest) and rest[i].isdigit():
            frac += rest[i]
            i += 1
        s = head + "." + (frac[:6].ljust(6, "0")) + rest[i:]
    t = datetime.fromisoformat(s)
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return t.astimezone(timezone.utc)


def build_context_json(history_json: str, input_text: Optional[str], instance_id: str,
                       parent_instance_id: Optional[str]) -> str:
    """The orchestration trigger payload, with the history already serialized.

    ``history_json`` is the comma-joined wire events (without brackets); the host
    caches it per instance so an episode only serializes its new events.
    """
    return (
        '{"history":[' + history_json + '],"input":' + json.dumps(input_text)
        + ',"instanceId":' + json.dumps(instance_id) + ',"isReplaying":false'
        + ',"parentInstanceId":' + json.dumps(parent_instance_id) + _CONTEXT_TAIL
    )


@dataclass
class EpisodeResponse:
    """What the SDK's handle answered for one episode."""

    is_done: bool
    actions: List[Dict[str, Any]]
    output: Any
    error: Optional[str]
    custom_status: Any
    raw: str
    crashed: Optional[BaseException] = None  # an SDK-internal error without the out-of-proc label
    stack: str = ""  # the user exception's traceback, for the failure details
    sdk_seconds: float = 0.0  # time inside the SDK's handle alone (the benchmarks' floor)


class ProtocolError(Exception):
    """The SDK answered with something the 1.x protocol does not allow."""


def invoke_orchestrator(handle: Callable[[Any], Any], context_json: str) -> EpisodeResponse:
    """Call the real SDK handle once and read its answer, as the extension does."""
    started = time.perf_counter()
    try:
        raw = handle(context_json)
    except Exception as exc:  # the SDK reports orchestrator failures this way
        elapsed = time.perf_counter() - started
        text = str(exc)
        cut = text.find(_OUT_OF_PROC_LABEL)
        cause = exc.__cause__ or exc
        stack = "".join(traceback.format_exception(type(cause), cause, cause.__traceback__))
        if cut < 0:
            return EpisodeResponse(False, [], None, f"{type(exc).__name__}: {exc}", None,
                                   "", crashed=exc, stack=stack, sdk_seconds=elapsed)
        raw = text[cut + len(_OUT_OF_PROC_LABEL):]
        state = json.loads(raw)
        resp = _read_state(state, raw)
        if not resp.error:
            resp.error = text[:cut] or type(exc).__name__
        resp.stack = stack
        resp.sdk_seconds = elapsed
        return resp
    elapsed = time.perf_counter() - started
    if not isinstance(raw, str):
        raise ProtocolError(
            f"the orchestrator handle returned {type(raw).__name__}, not the JSON string "
            "the out-of-process protocol requires (is this a df.Orchestrator.create handle?)")
    resp = _read_state(json.loads(raw), raw)
    resp.sdk_seconds = elapsed
    return resp


def _read_state(state: Dict[str, Any], raw: str) -> EpisodeResponse:
    actions = state.get("actions") or []
    if "schemaVersion" not in state:
        raise ProtocolError(
            "the SDK answered with the original (V1) replay schema; durable-testkit needs "
            "azure-functions-durable>=1.3, which answers with schema V3")
    if len(actions) > 1:
        # ext: OutOfProcOrchestrationShim.ReplayOOProcOrchestration rejects this too.
        raise ProtocolError(
            f"With OOProc schema V3, expected actions array to be of length 1 in outer layer "
            f"but got size: {len(actions)}")
    flat = actions[0] if actions else []
    return EpisodeResponse(
        is_done=bool(state.get("isDone")),
        actions=flat,
        output=state.get("output"),
        error=state.get("error"),
        custom_status=state.get("customStatus"),
        raw=raw,
    )


def dumps_wire(event: Dict[str, Any]) -> str:
    """Serialize one wire event compactly (the cache stores these strings)."""
    return json.dumps(event, separators=(",", ":"))


def entity_scheduler_id(name: str, key: str) -> str:
    """``@name@key`` with the name lower-cased, as df.EntityId and the extension write it."""
    return f"@{name.lower()}@{key}"


def split_scheduler_id(scheduler_id: str) -> Tuple[str, str]:
    """Inverse of :func:`entity_scheduler_id`."""
    if not scheduler_id.startswith("@") or scheduler_id.count("@") < 2:
        raise ValueError(f"not an entity id: {scheduler_id!r}")
    _, name, key = scheduler_id.split("@", 2)
    return name, key
