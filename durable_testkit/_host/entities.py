"""Durable entities: the extension's entity scheduler, played in process.

The Durable extension runs every entity instance (``@name@key``) as a queue of
operation messages. It hands the Python worker a *batch* of operations as one
JSON document, the SDK's ``df.Entity.create`` handle runs the user function
once per operation and answers with the new state and one result per
operation; the extension stores the state and answers callers with an
``EventRaised`` named by each request id. This module is that scheduler:

* operations of one entity run one batch at a time, in arrival order; a batch
  holds at most ``rt.entity_batch_size`` operations (default
  :data:`DEFAULT_ENTITY_BATCH_SIZE`) and every batch is a ``runtime._Work`` item,
  so the runtime's policy decides when it runs and (``"batch"`` decisions) how
  many of the waiting operations it takes;
* the real SDK handle does the work, so its observable quirks come for free:
  ``_result`` is sticky across a batch, a failed operation keeps whatever state
  it set, Python entities cannot signal other entities.

Wire shapes: docs/runtime.md (Entities) and section 7 of the protocol notes.
"""
from __future__ import annotations

import inspect
import json
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

import azure.durable_functions as df

from . import _protocol as p
from . import _wire as w
from ._watchdog import EpisodeTimeout, Watchdog
from . import policy as _policy
from .errors import (DurableTestkitError, InvalidOperationError, RunawayFunction,
                     UnknownFunctionError)

__all__ = ["DEFAULT_ENTITY_BATCH_SIZE", "EntityStatus", "entity_state", "entity_status",
           "list_entities", "read_entity_state", "run_entity_batch", "send_from_orchestration",
           "signal_entity"]

#: Operations one entity batch holds at most; change per runtime with
#: ``rt.entity_batch_size = n``. (The extension's own cap depends on the storage
#: provider; 50 keeps batches realistic without making tests slow.)
DEFAULT_ENTITY_BATCH_SIZE = 50

@dataclass
class _Operation:
    name: str
    input: Optional[str]  # the batch's "input": JSON text of a JSON string, or None
    is_signal: bool
    request_id: Optional[str] = None
    parent: Optional[Tuple[str, str]] = None  # (instance id, execution id) of a caller


class _EntityRecord:
    """What the extension keeps for one entity instance."""

    __slots__ = ("scheduler_id", "name", "key", "exists", "state", "queue", "scheduled",
                 "operations", "last_modified")

    def __init__(self, scheduler_id: str, name: str, key: str) -> None:
        self.scheduler_id = scheduler_id
        self.name = name  # lower-cased, as in the scheduler id
        self.key = key
        self.exists = False
        self.state: Optional[str] = None  # JSON text
        self.queue: Deque[_Operation] = deque()
        self.scheduled = False  # a batch work item is waiting in rt._ready
        self.operations = 0
        self.last_modified: Optional[datetime] = None


@dataclass(frozen=True)
class EntityStatus:
    """One entity instance as the in-memory host sees it.

    Attributes:
        entity_id: the scheduler id, ``"@name@key"`` (name lower-cased).
        name: the entity name, lower-cased.
        key: the entity key (case preserved).
        exists: False before the first operation that sets state or a result,
            and after ``destruct_on_exit``.
        state: the decoded state (None when it does not exist).
        pending_operations: operations queued and not yet run.
        operations_run: operations run so far (errors included).
        last_modified: virtual time of the last batch, or None.
    """

    entity_id: str
    name: str
    key: str
    exists: bool
    state: Any
    pending_operations: int
    operations_run: int
    last_modified: Optional[datetime]


# ---------------------------------------------------------------- ids and lookups
def _scheduler_id(entity_id: Any) -> Tuple[str, str, str]:
    """(scheduler id, lower-cased name, key) of a ``df.EntityId`` or ``"@name@key"``."""
    if isinstance(entity_id, df.EntityId):
        name, key = entity_id.name, entity_id.key
    elif isinstance(entity_id, str):
        try:
            name, key = p.split_scheduler_id(entity_id)
        except ValueError:
            raise InvalidOperationError(
                f"{entity_id!r} is not an entity id. Pass df.EntityId(name, key) or the "
                "scheduler id '@name@key' (for example '@counter@k1').") from None
    else:
        raise TypeError(f"entity_id must be a df.EntityId or an '@name@key' string, not "
                        f"{type(entity_id).__name__} ({entity_id!r})")
    if not name or key is None or key == "":
        raise InvalidOperationError(
            f"Entity id {entity_id!r} has an empty name or key; both are required.")
    key = str(key)
    return p.entity_scheduler_id(name, key), name.lower(), key


def _registered_names(rt: Any) -> List[str]:
    return [getattr(v, "name", k) for k, v in rt._entities.items()]


def _handle(rt: Any, name: str) -> Optional[Tuple[str, Callable[[str], str]]]:
    """(display name, SDK entity handle) of a registered entity, or None."""
    registered = rt._entities.get(name)
    if registered is None:
        return None
    from .app import FunctionInfo
    from .runtime import _unwrap_function

    if isinstance(registered, FunctionInfo):
        return registered.name, registered.function
    target = _unwrap_function(registered)
    if hasattr(target, "entity_function"):
        return name, target  # already a df.Entity.create handle
    if inspect.iscoroutinefunction(target) or not callable(target):
        raise TypeError(
            f"cannot use {registered!r} as entity '{name}': expected a plain function taking "
            "a df.DurableEntityContext (Python entities are synchronous), a "
            "df.Entity.create handle or a V2 @app.entity_trigger function")
    return name, df.Entity.create(target)


def _record(rt: Any, sid: str, name: str, key: str) -> _EntityRecord:
    rec: Optional[_EntityRecord] = rt._entity_instances.get(sid)
    if rec is None:
        rec = rt._entity_instances[sid] = _EntityRecord(sid, name, key)
    return rec


def _batch_size(rt: Any) -> int:
    size = getattr(rt, "entity_batch_size", DEFAULT_ENTITY_BATCH_SIZE)
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise InvalidOperationError(
            f"rt.entity_batch_size must be a positive int, got {size!r}")
    return size


def _enqueue(rt: Any, rec: _EntityRecord, op: _Operation) -> None:
    rec.queue.append(op)
    _schedule(rt, rec)


def _schedule(rt: Any, rec: _EntityRecord) -> None:
    # One work item per entity at a time keeps its operations in arrival order,
    # however the policy reorders the ready queue.
    if rec.queue and not rec.scheduled:
        from .runtime import _Work

        rec.scheduled = True
        rt._ready.append(_Work("entity", rec.scheduler_id, f"entity batch of {rec.scheduler_id}"))


# ---------------------------------------------------------------- senders
def signal_entity(rt: Any, entity_id: Any, operation: str, input: Any = None) -> None:
    """Queue a signal from outside any orchestration, as the HTTP API's signal does.

    ``None`` sends no input. The SDK client also drops other falsy inputs (0, "",
    False); that quirk lives in the client (``rt.client.signal_entity`` shows it),
    not here.
    """
    from .runtime import _dumps

    sid, name, key = _scheduler_id(entity_id)
    if not isinstance(operation, str) or not operation:
        raise InvalidOperationError(
            f"The operation name must be a non-empty string, got {operation!r}")
    if _handle(rt, name) is None:
        raise UnknownFunctionError(name, "entity function", _registered_names(rt))
    op_input: Optional[str] = None
    if input is not None:
        op_input = json.dumps(_dumps(input, f"The input of entity operation '{operation}'"))
    _enqueue(rt, _record(rt, sid, name, key), _Operation(operation, op_input, is_signal=True))


def send_from_orchestration(rt: Any, inst: Any, slot: Any, stamp: str) -> Dict[str, Any]:
    """Turn a CallEntity/SignalEntity action into the EventSent the host records.

    Queues the operation for the entity; for a call, registers the request id
    the response will be named by.
    """
    action = slot.action
    is_signal = action.get("actionType") == p.SIGNAL_ENTITY
    sid = action.get("instanceId") or ""
    operation = action.get("operation")
    # The action's input is df_dumps(value) text; the request carries it as a JSON string.
    op_input = json.dumps(action.get("input"))
    request_id = w.entity_request_id(inst.instance_id, inst.execution_id, slot.seq)
    event = w.entity_message_sent(stamp, slot.seq, action, inst.instance_id, inst.execution_id,
                                  request_id)
    if not is_signal:
        inst.shim.register_entity_request(slot, request_id)
    # runtime._check_functions has already failed the orchestration for an unknown name.
    _, name, key = _scheduler_id(sid)
    _enqueue(rt, _record(rt, sid, name, key),
             _Operation(str(operation), op_input, is_signal, request_id,
                        (inst.instance_id, inst.execution_id)))
    return event


def _missing_entity(rt: Any, name: str) -> str:
    # ext: DurableTaskExtension.GetInvalidEntityFunctionMessage
    names = _registered_names(rt)
    msg = (f"The function '{name}' doesn't exist, is disabled, or is not an entity function. "
           "Additional info: ")
    if names:
        return msg + "The following are the known entity functions: '" + "', '".join(names) + "'."
    return msg + "No entity functions are currently registered!"


def _respond(rt: Any, instance_id: str, execution_id: str, request_id: str,
             result_text: Optional[str], is_error: bool) -> None:
    inst = rt._instances.get(instance_id)
    if inst is None or inst.terminal:
        return  # the caller is gone; the host drops the response
    rt._post(inst, w.entity_response(rt.clock.now, request_id, result_text, is_error),
             execution_id)


def run_entity_batch(rt: Any, work: Any) -> None:
    """Run one batch of the entity's queued operations through the SDK handle."""
    rec: Optional[_EntityRecord] = rt._entity_instances.get(work.instance_id)
    if rec is None:
        return
    rec.scheduled = False
    if not rec.queue:
        return
    count = min(len(rec.queue), _batch_size(rt))
    if count > 1:
        count -= rt.policy.decide(_policy.Decision(
            _policy.BATCH, tuple(f"deliver {count - i} of {count} operations"
                                 for i in range(count)), rec.scheduler_id))
    ops = [rec.queue.popleft() for _ in range(count)]
    found = _handle(rt, rec.name)
    if found is None:  # unregistered since the message was queued
        for op in ops:
            if not op.is_signal and op.parent is not None and op.request_id is not None:
                _respond(rt, op.parent[0], op.parent[1], op.request_id,
                         json.dumps(_missing_entity(rt, rec.name)), is_error=True)
        _schedule(rt, rec)
        return
    display, handle = found
    request = json.dumps({
        "self": {"name": rec.name, "key": rec.key},
        "exists": rec.exists,
        "state": rec.state if rec.exists else None,
        "batch": [{"name": op.name, "input": op.input, "isSignal": op.is_signal} for op in ops],
    })
    try:
        with Watchdog.guard(rt.function_timeout):
            raw = handle(request)
        response = json.loads(raw)
        results = response["results"]
    except EpisodeTimeout:
        rec.queue.extendleft(reversed(ops))
        raise RunawayFunction("entity", display, rec.scheduler_id,
                              rt.function_timeout) from None
    except Exception as exc:  # the SDK could not finish the batch (e.g. unserializable state)
        rec.queue.extendleft(reversed(ops))
        raise DurableTestkitError(
            f"Entity '{display}' ({rec.scheduler_id}) could not run a batch of {len(ops)} "
            f"operation(s) ({', '.join(op.name for op in ops)}): {type(exc).__name__}: {exc}. "
            "The SDK runs user code per operation and reports its exceptions as operation "
            "errors, so this failure is in saving the batch, most often a state or a "
            "set_result value that is not JSON serializable. In Azure the batch would fail "
            "as a whole and be retried; no state was changed here. Keep entity state and "
            "results plain JSON values (or classes with to_json/from_json).") from exc
    rec.operations += len(ops)
    rec.last_modified = rt.clock.now
    rec.exists = bool(response.get("entityExists"))
    rec.state = response.get("entityState") if rec.exists else None
    # response["signals"] is always empty: DurableEntityContext has no signal_entity.
    for op, result in zip(ops, results):
        if op.is_signal or op.parent is None or op.request_id is None:
            continue
        _respond(rt, op.parent[0], op.parent[1], op.request_id, result.get("result"),
                 is_error=bool(result.get("isError")))
    _schedule(rt, rec)


# ---------------------------------------------------------------- readers
def read_entity_state(rt: Any, entity_id: Any) -> Tuple[bool, Optional[str]]:
    """(exists, state JSON text), as the extension's ``GET entities/{name}/{key}`` answers."""
    sid, _, _ = _scheduler_id(entity_id)
    rec: Optional[_EntityRecord] = rt._entity_instances.get(sid)
    if rec is None or not rec.exists:
        return False, None
    return True, rec.state


def entity_state(rt: Any, entity_id: Any) -> Any:
    """The decoded state, or None for an entity that does not exist."""
    exists, text = read_entity_state(rt, entity_id)
    return json.loads(text) if exists and text is not None else None


def entity_status(rt: Any, entity_id: Any) -> Optional[EntityStatus]:
    """What the host knows about one entity, or None if it never received an operation."""
    sid, _, _ = _scheduler_id(entity_id)
    rec: Optional[_EntityRecord] = rt._entity_instances.get(sid)
    return _status(rec) if rec is not None else None


def list_entities(rt: Any) -> List[EntityStatus]:
    """Every entity instance that has received an operation, in first-contact order."""
    return [_status(rec) for rec in rt._entity_instances.values()]


def _status(rec: _EntityRecord) -> EntityStatus:
    state = json.loads(rec.state) if rec.exists and rec.state is not None else None
    return EntityStatus(rec.scheduler_id, rec.name, rec.key, rec.exists, state, len(rec.queue),
                        rec.operations, rec.last_modified)
