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
* ``models.history.HistoryEvent.dt_parse`` (and the client status's): swapped for
  an exact, cached timestamp parser on import (``_timestamps``; opt out with
  ``DURABLE_TESTKIT_STOCK_TIMESTAMPS=1``).
* ``models.TaskOrchestrationExecutor.namedtuple``: swapped for a cached one on import
  (``_sdk_executor``), so an episode does not define a class.
* ``DurableOrchestrationContext.from_json``: swapped on import for one that also takes
  the context already parsed (``_sdk_context``), so the stock handle gets the host's
  history dicts instead of text it would parse back (:func:`episode_context`).
  ``DURABLE_TESTKIT_STOCK_SDK=1`` keeps all three swaps out.

App-surface modules (``app``, ``client``, ``_http_functions``, ``_server``) use the
SDK's public classes through :data:`azure_functions` and :data:`durable_functions`,
re-exported here so no other module imports ``azure`` itself.
"""
from __future__ import annotations

import inspect
import json
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple, Union, cast

import azure.durable_functions as durable_functions
import azure.functions as azure_functions
from azure.durable_functions import EntityId, OrchestrationRuntimeStatus
from azure.functions import meta as _meta
from azure.functions.durable_functions import ActivityTriggerConverter as _Converter

from . import _fastjson, _payloads, _protocol, _sdk_context, _sdk_executor, _timestamps
from ._sdk_context import ParsedContext
from .errors import PayloadRejected, ProtocolError, SerializationError

try:  # the SDK's own serializer (1.6+), so payloads encode exactly as in Azure
    from azure.durable_functions.models.utils.df_serialization import df_dumps as _df_dumps
except ImportError:  # pragma: no cover - SDK 1.3-1.5
    from azure.functions._durable_functions import _serialize_custom_object as _sco

    def _df_dumps(value: Any) -> str:
        return json.dumps(value, default=_sco)

# pytest hides this module's frames in failure reports (--full-trace shows them):
# what the user needs is the line of their own code.
__tracebackhide__ = True

__all__ = ["EntityId", "OrchestrationRuntimeStatus", "azure_functions", "durable_functions",
           "EpisodeResponse", "build_context_json", "invoke_orchestrator", "dumps_payload",
           "ParsedContext", "parsed_context", "takes_parsed", "episode_context",
           "decode_activity_input", "encode_activity_result", "decode_activity_result",
           "orchestrator_handle",
           "entity_handle", "unwrap_function", "sdk_version", "http_utils"]

Handle = Callable[[str], str]

# The SDK re-parses every history timestamp with dateutil on every episode; the host
# feeds it the whole history each time, so that parse dominated long orchestrations.
# _timestamps gives identical results from a cache (docs/protocol.md, "Timestamp
# parsing"); DURABLE_TESTKIT_STOCK_TIMESTAMPS=1 keeps the stock path. Each episode's
# executor also defined a namedtuple class (_sdk_executor), and the stock handle parsed
# the whole history's text every episode (_sdk_context). DURABLE_TESTKIT_STOCK_SDK=1
# keeps all three out.
_timestamps.install()
_sdk_executor.install()
_sdk_context.install()


# ---------------------------------------------------------------- the custom-object hook
# Every decode of a payload by the SDK and the worker runs json.loads(..., object_hook=
# azure.functions._durable_functions._deserialize_custom_object): df_loads looks that
# module global up on each call, ActivityTriggerConverter too (azure-functions < 1.26),
# and SDKs before 1.6 bound the name in their own modules with "from ... import". That
# hook calls from_json of the class a payload names (importing its module before
# azure-functions 1.26), so payloads from a history file or a request to serve could run
# code. install_payload_guard() puts _vetted_object_hook in each of those globals: inside
# the host (a durable_testkit._payloads scope) it rebuilds only classes the scope allows;
# outside the host it is the SDK's own hook, untouched. uninstall_payload_guard() puts the
# SDK's hook back (the opt-out; docs/protocol.md, "Security").
from azure.functions import _durable_functions as _codec  # noqa: E402

_SDK_OBJECT_HOOK: Callable[[Dict[str, Any]], Any] = _codec._deserialize_custom_object
_ENVELOPE = ("__class__", "__module__", "__data__")


def _vetted_object_hook(obj: Dict[str, Any]) -> Any:
    if "__class__" not in obj or "__module__" not in obj or "__data__" not in obj:
        return obj
    current = _payloads.current()
    if current is None:  # user code outside the host: the SDK's behaviour
        return _SDK_OBJECT_HOOK(obj)
    cls = current.resolve(obj["__module__"], obj["__class__"])
    return cls.from_json(obj["__data__"])  # type: ignore[attr-defined]


def _swap_object_hook(old: Any, new: Any) -> int:
    swapped = 0
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "azure" or name.startswith("azure.")):
            continue
        if getattr(module, "_deserialize_custom_object", None) is old:
            setattr(module, "_deserialize_custom_object", new)
            swapped += 1
    return swapped


def install_payload_guard() -> int:
    """Vet custom-object payloads inside the host (done on import); returns globals swapped."""
    return _swap_object_hook(_SDK_OBJECT_HOOK, _vetted_object_hook)


def uninstall_payload_guard() -> int:
    """Give the SDK its own custom-object hook back, process-wide (the opt-out)."""
    return _swap_object_hook(_vetted_object_hook, _SDK_OBJECT_HOOK)


install_payload_guard()


# ---------------------------------------------------------------- payloads
def dumps_payload(value: Any, what: str) -> str:
    """JSON text of a payload as the SDK and host encode it."""
    try:
        return cast(str, _df_dumps(value))  # the SDK is untyped
    except (TypeError, ValueError) as exc:
        raise SerializationError(what, value, exc) from None


def decode_activity_input(input_text: Optional[str]) -> Any:
    """What the worker passes an activity: its converter's decoding of the input JSON.

    Text with no JSON object in it (no ``{``) decodes here with ``json.loads``: the
    converter's ``df_loads`` differs from it only in how it treats objects (custom
    class envelopes, strict typing), and it reads ``os.environ`` twice a call to
    learn the typing mode; for such text both modes give exactly this value. Text
    that is not JSON is passed on as the text itself, as the converter does.
    """
    if type(input_text) is str and "{" not in input_text:
        try:
            return _fastjson.loads(input_text)
        except json.JSONDecodeError:
            return input_text
        except Exception:  # noqa: S110 - e.g. RecursionError: the converter's own error
            pass
    try:
        return _Converter.decode(_meta.Datum(input_text, "json"), trigger_metadata=None)
    except ValueError as exc:  # the converter wraps every decode error in a vague ValueError
        if isinstance(exc.__cause__, PayloadRejected):
            raise exc.__cause__ from None
        raise


#: Values whose plain ``json.dumps`` is what the converter writes in either typing mode.
_PLAIN = frozenset({int, str, float, bool, type(None), list, dict})


def encode_activity_result(value: Any) -> Optional[str]:
    """The JSON text the worker sends back for an activity's return value.

    Plain JSON values (exact built-in types, containers of them) encode here with
    ``json.dumps``: the converter's ``df_dumps`` gives the same text for them in
    loose and strict mode alike, after an ``os.environ`` read per call. Anything
    else (custom classes with ``to_json``, containers holding one) goes through
    the converter.
    """
    if type(value) in _PLAIN:
        try:
            return _fastjson.dumps(value)
        except (TypeError, ValueError, RecursionError):
            pass  # a custom object inside: the converter's envelope (or error)
    return cast(Optional[str], _Converter.encode(value, expected_type=None).value)


def decode_activity_result(result_text: Optional[str]) -> Any:
    """An activity's result as the orchestrator sees it: the SDK's decoding of its JSON.

    Custom classes come back rebuilt (``from_json``), as ``call_activity`` returns them.
    """
    if result_text is None:
        return None
    return decode_activity_input(result_text)


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
    wrapped = getattr(target, "orchestrator_function", None)
    if wrapped is not None and not inspect.iscoroutinefunction(wrapped):
        return cast(Handle, target)  # already a df.Orchestrator.create handle
    if inspect.iscoroutinefunction(wrapped or target):
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
_CONTEXT_SETTINGS: Dict[str, Any] = {
    "upperSchemaVersion": 1, "upperSchemaVersionNew": 2,
    "maximumShortTimerDuration": "6.00:00:00",
    "longRunningTimerIntervalDuration": "3.00:00:00",
    "defaultHttpAsyncRequestSleepTimeMillseconds": 30000,
}
_CONTEXT_TAIL = "," + _fastjson.dumps_compact(_CONTEXT_SETTINGS)[1:]
_OUT_OF_PROC_LABEL = "\n\n$OutOfProcData$:"


def build_context_json(history: str, input_text: Optional[str],
                       instance_id: str, parent_instance_id: Optional[str]) -> str:
    """The orchestration trigger payload as text, with the history already serialized.

    ``history`` is the serialized wire events, comma-joined. What a handle other
    than the SDK's own gets (:func:`episode_context`); the stock handle takes
    :func:`parsed_context`.
    """
    dumps = _fastjson.dumps
    return "".join(('{"history":[', history, '],"input":', dumps(input_text),
                    ',"instanceId":', dumps(instance_id), ',"isReplaying":false',
                    ',"parentInstanceId":', dumps(parent_instance_id), _CONTEXT_TAIL))


def parsed_context(history: List[Dict[str, Any]], input_text: Optional[str],
                   instance_id: str, parent_instance_id: Optional[str]) -> ParsedContext:
    """The fields ``json.loads`` of :func:`build_context_json`'s text would give.

    ``history`` is passed as it is, not copied: the SDK reads it only while it
    builds its context (``HistoryEvent(**event)`` each), before any user code
    runs, so the host's later appends cannot reach an episode already running.
    """
    fields = {"history": history, "input": input_text, "instanceId": instance_id,
              "isReplaying": False, "parentInstanceId": parent_instance_id}
    fields.update(_CONTEXT_SETTINGS)
    return ParsedContext(fields)


def _stock_handle_code() -> Any:
    return getattr(durable_functions.Orchestrator.create(lambda context: None),
                   "__code__", None)


_STOCK_HANDLE_CODE = _stock_handle_code()


def takes_parsed(handle: Any) -> bool:
    """Whether ``handle`` is the SDK's own ``Orchestrator.create`` handle, and the swap is in.

    Only then is a parsed context exactly what the handle would have made of the
    text; any other callable (a user's wrapper) gets the text, as in Azure.
    """
    return (getattr(handle, "__code__", None) is _STOCK_HANDLE_CODE
            and _sdk_context.installed())


def episode_context(handle: Any, history: List[Dict[str, Any]], input_text: Optional[str],
                    instance_id: str, parent_instance_id: Optional[str],
                    history_text: Optional[str] = None) -> Union[str, ParsedContext]:
    """What the handle gets for an episode on ``history``: the parsed fields, or the text.

    ``history_text``, if given, is ``history``'s serialized events, comma-joined
    (a saved file's, as read), used for the text instead of serializing again.
    """
    if takes_parsed(handle):
        return parsed_context(history, input_text, instance_id, parent_instance_id)
    if history_text is None:
        history_text = _protocol.dumps_wire_many(history)
    return build_context_json(history_text, input_text, instance_id, parent_instance_id)


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
    # The actions' JSON text, and whether it began with the previous answer's unchanged
    # (then ``actions`` is the previous list plus the parsed tail).
    actions_text: str = ""
    kept_prefix: bool = False


#: A previous answer's actions: (their JSON text, the parsed list).
KnownActions = Optional[Tuple[str, List[Dict[str, Any]]]]

_ACTIONS_KEY = '"actions": [['
_DECODER = json.JSONDecoder()


def invoke_orchestrator(handle: Callable[[Any], Any], context_json: Union[str, ParsedContext],
                        known: KnownActions = None) -> EpisodeResponse:
    """Call the real SDK handle once and read its answer, as the extension does.

    ``known`` is the previous answer's actions for this execution. The SDK
    answers with the whole action list every episode; when its text starts with
    the known actions' text unchanged, only the new tail is parsed, so reading
    the answer costs what the episode added, not what the history holds.

    Payloads decode under the current payload scope (the runtime's); outside a
    runtime (stored-history replay) the orchestrator's own module is the app's.
    """
    if _payloads.current() is None:
        with _payloads.scope(_payloads.PayloadScope(lambda: (handle,))):
            return invoke_orchestrator(handle, context_json, known)
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
        resp = _read_answer(raw, known)
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
    resp = _read_answer(raw, known)
    resp.sdk_seconds = elapsed
    return resp


def _read_answer(raw: str, known: KnownActions) -> EpisodeResponse:
    """Parse the SDK's answer; the actions incrementally where the text allows it."""
    start = raw.find(_ACTIONS_KEY)
    if start < 0:
        return _read_state(_fastjson.loads(raw), raw)
    first = start + len(_ACTIONS_KEY)
    if known is not None and known[0] and raw.startswith(known[0], first):
        # The answer repeats the known actions' text: parse only what follows.
        pos = first + len(known[0])
        tail: List[Dict[str, Any]] = []
        while raw.startswith(", ", pos):
            action, pos = _DECODER.raw_decode(raw, pos + 2)
            tail.append(action)
        if raw.startswith("]]", pos):
            rest = _fastjson.loads(raw[:start] + '"actions": []' + raw[pos + 2:])
            resp = _read_state(rest, raw, known[1] + tail if tail else known[1])
            resp.actions_text = raw[first:pos]
            resp.kept_prefix = True
            return resp
    # First answer, or the earlier actions changed: parse the whole list, keep its text.
    outer, end = _DECODER.raw_decode(raw, start + len('"actions": '))
    rest = _fastjson.loads(raw[:start] + '"actions": []' + raw[end:])
    if not isinstance(outer, list) or len(outer) > 1 or not raw.startswith("]]", end - 2):
        rest["actions"] = outer
        return _read_state(rest, raw)
    resp = _read_state(rest, raw, outer[0] if outer else [])
    resp.actions_text = raw[first:end - 2]
    return resp


def _read_state(state: Dict[str, Any], raw: str,
                flat_actions: Optional[List[Dict[str, Any]]] = None) -> EpisodeResponse:
    if flat_actions is not None:
        state["actions"] = [flat_actions]
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


def client_module() -> Any:
    """The module of ``DurableOrchestrationClient``: its poll loop reads ``time`` and ``sleep`` there."""
    import importlib

    # (models/__init__ re-exports the class under the module's name: import the module.)
    return importlib.import_module("azure.durable_functions.models.DurableOrchestrationClient")


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


class OutputBinding(azure_functions.Out[Any]):
    """What the worker passes a function for a named output binding: ``set`` once, ``get`` back.

    The Python worker's own is ``azure_functions_worker.bindings.out.Out``; this one
    keeps the value so a test can read what the function sent (``ActivityCall.outputs``).
    """

    def __init__(self) -> None:
        self._value: Any = None

    def set(self, val: Any) -> None:
        self._value = val

    def get(self) -> Any:
        return self._value
