"""The SDK adapter: the one module that touches ``azure.durable_functions`` and ``azure.functions``.

The host speaks DTFx's side of the protocol (``_protocol``, ``_replay``); everything
that depends on the *Python* SDK 1.x lives here, so a 2.x adapter is one new
module with the same names. What it touches, and why:

* ``df.Orchestrator.create`` / ``df.Entity.create``: build the worker's handles
  from user functions (public API).
* ``FunctionBuilder._function.get_user_function()``: a V2 decorator returns a
  builder; the worker calls the user function inside it (internal, read only).
* ``azure.functions.durable_functions.ActivityTriggerConverter``: the worker's
  own decode/encode of activity inputs and results, so payloads round-trip
  exactly as in Azure (internal module, public class).
* ``df_dumps`` (``models.utils.df_serialization``, SDK 1.6+; ``_serialize_custom_object``
  before): the SDK's payload encoder.
* ``OrchestrationRuntimeStatus``, ``EntityId``: public value types.
* the orchestration trigger's context JSON and the handle's answer (schema V3),
  :func:`build_context_json` and :func:`invoke_orchestrator`.
* ``models.utils.http_utils``: the SDK client's aiohttp session (``_server``).

App-surface modules (``app``, ``client``, ``_http_functions``, ``_server``) use the
SDK's public classes through :data:`azure_functions` and :data:`durable_functions`,
re-exported here so no other module imports ``azure`` itself.
"""
from __future__ import annotations

import inspect
import json
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, cast

import azure.durable_functions as durable_functions
import azure.functions as azure_functions
from azure.durable_functions import EntityId, OrchestrationRuntimeStatus
from azure.functions import meta as _meta
from azure.functions.durable_functions import ActivityTriggerConverter as _Converter

from .errors import ProtocolError, SerializationError

try:  # the SDK's own serializer (1.6+), so payloads encode exactly as in Azure
    from azure.durable_functions.models.utils.df_serialization import df_dumps as _df_dumps
except ImportError:  # pragma: no cover - SDK 1.3-1.5
    from azure.functions._durable_functions import _serialize_custom_object as _sco

    def _df_dumps(value: Any) -> str:
        return json.dumps(value, default=_sco)

__all__ = ["EntityId", "OrchestrationRuntimeStatus", "azure_functions", "durable_functions",
           "EpisodeResponse", "build_context_json", "invoke_orchestrator", "dumps_payload",
           "decode_activity_input", "encode_activity_result", "orchestrator_handle",
           "entity_handle", "unwrap_function", "sdk_version", "http_utils"]

Handle = Callable[[str], str]


# ---------------------------------------------------------------- payloads
def dumps_payload(value: Any, what: str) -> str:
    """JSON text of a payload as the SDK and host encode it."""
    try:
        return cast(str, _df_dumps(value))  # the SDK is untyped
    except (TypeError, ValueError) as exc:
        raise SerializationError(what, value, exc) from None


def decode_activity_input(input_text: Optional[str]) -> Any:
    """What the worker passes an activity: its converter's decoding of the input JSON."""
    return _Converter.decode(_meta.Datum(input_text, "json"), trigger_metadata=None)


def encode_activity_result(value: Any) -> Optional[str]:
    """The JSON text the worker sends back for an activity's return value."""
    return cast(Optional[str], _Converter.encode(value, expected_type=None).value)


# ---------------------------------------------------------------- handles
def unwrap_function(fn: Any) -> Any:
    """A V2 decorator returns a FunctionBuilder; the worker calls its user function."""
    inner = getattr(fn, "_function", None)
    if inner is not None and hasattr(inner, "get_user_function"):
        return inner.get_user_function()
    return fn


def function_name(fn: Any) -> Optional[str]:
    """The name a V2 FunctionBuilder registers its function under, if it is one."""
    inner = getattr(fn, "_function", None)
    if inner is not None and hasattr(inner, "get_function_name"):
        return cast(Optional[str], inner.get_function_name())
    return None


def orchestrator_handle(name: str, fn: Any) -> Handle:
    """The worker's handle for an orchestrator, from any form users register.

    Raises:
        TypeError: ``fn`` is an ``async def`` or not callable.
    """
    target = unwrap_function(fn)
    if hasattr(target, "orchestrator_function"):
        return cast(Handle, target)  # already a df.Orchestrator.create handle
    if inspect.iscoroutinefunction(target):
        raise TypeError(
            f"orchestrator '{name}' is an async function; Durable Functions orchestrators "
            "in Python are generator functions (def ... with yield), never async def")
    if callable(target):
        return cast(Handle, durable_functions.Orchestrator.create(target))
    raise TypeError(f"cannot register {fn!r} as orchestrator '{name}': expected a generator "
                    "function, a df.Orchestrator.create handle or a V2 decorated function")


def user_orchestrator(handle: Any) -> Any:
    """The user's generator function behind a handle (for names and source locations)."""
    return getattr(unwrap_function(handle), "orchestrator_function", handle)


def entity_handle(name: str, fn: Any) -> Handle:
    """The worker's handle for an entity function."""
    target = unwrap_function(fn)
    if hasattr(target, "entity_function"):
        return cast(Handle, target)  # already a df.Entity.create handle
    if inspect.iscoroutinefunction(target) or not callable(target):
        raise TypeError(
            f"cannot use {fn!r} as entity '{name}': expected a plain function taking "
            "a df.DurableEntityContext (Python entities are synchronous), a "
            "df.Entity.create handle or a V2 @app.entity_trigger function")
    return cast(Handle, durable_functions.Entity.create(target))


def entity_id_parts(entity_id: Any) -> Optional[tuple[str, str]]:
    """(name, key) of a ``df.EntityId``, or None for anything else."""
    if isinstance(entity_id, EntityId):
        return entity_id.name, entity_id.key
    return None


# ---------------------------------------------------------------- the orchestration trigger
# What the current extension sends (ext: OrchestrationTriggerAttributeBindingProvider).
# upperSchemaVersion stays 1: SDKs before 1.3 reject anything larger.
_CONTEXT_TAIL = (
    ',"upperSchemaVersion":1,"upperSchemaVersionNew":2,'
    '"maximumShortTimerDuration":"6.00:00:00",'
    '"longRunningTimerIntervalDuration":"3.00:00:00",'
    '"defaultHttpAsyncRequestSleepTimeMillseconds":30000}'
)
_OUT_OF_PROC_LABEL = "\n\n$OutOfProcData$:"


def build_context_json(history_json: str, input_text: Optional[str], instance_id: str,
                       parent_instance_id: Optional[str]) -> str:
    """The orchestration trigger payload, with the history already serialized.

    ``history_json`` is the comma-joined wire events (without brackets); the host
    caches it per execution so an episode only serializes its new events.
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


def http_utils() -> Any:
    """The SDK client's transport module (its aiohttp session lives there)."""
    from azure.durable_functions.models.utils import http_utils as module

    return module


_SDK_VERSION: Optional[str] = None


def sdk_version() -> Optional[str]:
    """The installed ``azure-functions-durable`` version, read once."""
    global _SDK_VERSION
    if _SDK_VERSION is None:
        try:
            from importlib.metadata import version

            _SDK_VERSION = version("azure-functions-durable")
        except Exception:  # pragma: no cover - metadata missing in odd installs
            _SDK_VERSION = ""
    return _SDK_VERSION or None
