"""Durable entities: the extension's entity scheduler, played in process.

The Durable extension runs every entity instance (``@name@key``) as a queue of
operation messages. It hands the Python worker a *batch* of operations as one
JSON document, the SDK's ``df.Entity.create`` handle runs the user function
once per operation and answers with the new state and one result per
operation; the extension stores the state and answers callers with an
``EventRaised`` named by each request id. This module is that scheduler:

* operations of one entity run one batch at a time, in arrival order; a batch
  holds at most ``rt.entity_batch_size`` operations (default
  :data:`DEFAULT_ENTITY_BATCH_SIZE`) and every batch is one work item of the
  scheduler, so the policy decides when it runs and (``"batch"`` decisions) how
  many of the waiting operations it takes;
* the real SDK handle does the work, so its observable quirks come for free:
  ``_result`` is sticky across a batch, a failed operation keeps whatever state
  it set, Python entities cannot signal other entities.

It works against :class:`EntityHost`, the few things of the scheduler it needs,
so it never imports the scheduler. Wire shapes: docs/runtime.md (Entities).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Optional, Protocol, Tuple

from .. import _protocol as p
from .. import _fastjson, _sdk
from .. import _wire as w
from .._replay import Slot
from .._guard import Guard
from ..errors import (DurableTestkitError, InvalidOperationError, RunawayFunction,
                      UnknownFunctionError)
from ..policy import BATCH, Decision, WorkKind, WorkSubject
from . import activity_clock as _clock
from .records import EntityRecord, Instance, Operation
from .registry import Registry, missing_function_text

# pytest hides this module's frames in failure reports (--full-trace shows them):
# what the user needs is the line of their own code.
__tracebackhide__ = True

__all__ = ["DEFAULT_ENTITY_BATCH_SIZE", "EntityStatus", "entity_state", "entity_status",
           "list_entities", "read_entity_state", "run_entity_batch", "send_from_orchestration",
           "signal_entity"]

#: Operations one entity batch holds at most; change per runtime with
#: ``rt.entity_batch_size = n``. (The extension's own cap depends on the storage
#: provider; 50 keeps batches realistic without making tests slow.)
DEFAULT_ENTITY_BATCH_SIZE = 50

class EntityHost(Protocol):
    """What the entity scheduler needs from the host (the scheduler provides it)."""

    registry: Registry
    entity_records: Dict[str, EntityRecord]
    entity_batch_size: int
    guard: Guard  # runs the batch under function_timeout, off the host's thread

    @property
    def function_timeout(self) -> Optional[float]: ...

    @property
    def now(self) -> datetime: ...

    @property
    def virtual_time(self) -> bool: ...

    def enqueue_entity(self, scheduler_id: str) -> None: ...

    def respond(self, instance_id: str, execution_id: str, event: Dict[str, Any]) -> None: ...

    def decide(self, decision: Decision) -> int: ...


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
        outputs: what the function set on its output bindings (function.json
            ``"direction": "out"``), one dict per batch that set any, in order.
    """

    entity_id: str
    name: str
    key: str
    exists: bool
    state: Any
    pending_operations: int
    operations_run: int
    last_modified: Optional[datetime]
    outputs: Tuple[Dict[str, Any], ...] = ()


# ---------------------------------------------------------------- ids and lookups
def _scheduler_id(entity_id: Any) -> Tuple[str, str, str]:
    """(scheduler id, lower-cased name, key) of a ``df.EntityId`` or ``"@name@key"``."""
    parts = _sdk.entity_id_parts(entity_id)
    if parts is not None:
        name, key = parts
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


def _record(host: EntityHost, sid: str, name: str, key: str) -> EntityRecord:
    rec: Optional[EntityRecord] = host.entity_records.get(sid)
    if rec is None:
        rec = host.entity_records[sid] = EntityRecord(sid, name, key)
    return rec


def _batch_size(host: EntityHost) -> int:
    size = host.entity_batch_size
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise InvalidOperationError(
            f"rt.entity_batch_size must be a positive int, got {size!r}")
    return size


def _enqueue(host: EntityHost, rec: EntityRecord, op: Operation) -> None:
    rec.queue.append(op)
    _schedule(host, rec)


def _schedule(host: EntityHost, rec: EntityRecord) -> None:
    # One work item per entity at a time keeps its operations in arrival order,
    # however the policy reorders the ready queue.
    if rec.queue and not rec.scheduled:
        rec.scheduled = True
        host.enqueue_entity(rec.scheduler_id)


# ---------------------------------------------------------------- senders
def signal_entity(host: EntityHost, entity_id: Any, operation: str, input: Any = None) -> None:
    """Queue a signal from outside any orchestration, as the HTTP API's signal does.

    ``None`` sends no input. The SDK client also drops other falsy inputs (0, "",
    False); that quirk lives in the client (``rt.client.signal_entity`` shows it),
    not here.
    """
    sid, name, key = _scheduler_id(entity_id)
    if not isinstance(operation, str) or not operation:
        raise InvalidOperationError(
            f"The operation name must be a non-empty string, got {operation!r}")
    if host.registry.entity_handle(name) is None:
        missing = UnknownFunctionError(name, "entity function", host.registry.entity_names())
        # The extension's ArgumentException text, which its HTTP API answers with a 400.
        missing.host_text = host.registry.missing_entity_text(name)
        raise missing
    op_input: Optional[str] = None
    if input is not None:
        op_input = json.dumps(_sdk.dumps_payload(input, f"The input of entity operation '{operation}'"))
    _enqueue(host, _record(host, sid, name, key), Operation(operation, op_input, is_signal=True))


def send_from_orchestration(host: EntityHost, inst: Instance, slot: Slot,
                            stamp: str) -> Dict[str, Any]:
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
        inst.execution.shim.register_entity_request(slot, request_id)
    # The scheduler has already failed the orchestration for an unknown name.
    _, name, key = _scheduler_id(sid)
    _enqueue(host, _record(host, sid, name, key),
             Operation(str(operation), op_input, is_signal, request_id,
                        (inst.instance_id, inst.execution_id)))
    return event


def _respond(host: EntityHost, instance_id: str, execution_id: str, request_id: str,
             result_text: Optional[str], is_error: bool) -> None:
    # The host drops the response if the caller is gone.
    host.respond(instance_id, execution_id,
                 w.entity_response(host.now, request_id, result_text, is_error))


def run_entity_batch(host: EntityHost, scheduler_id: str) -> None:
    """Run one batch of the entity's queued operations through the SDK handle."""
    rec: Optional[EntityRecord] = host.entity_records.get(scheduler_id)
    if rec is None:
        return
    rec.scheduled = False
    if not rec.queue:
        return
    count = min(len(rec.queue), _batch_size(host))
    if count > 1:
        count -= host.decide(Decision(
            BATCH, tuple(f"deliver {count - i} of {count} operations" for i in range(count)),
            rec.scheduler_id, WorkSubject(WorkKind.ENTITY, rec.name, rec.scheduler_id)))
    ops = [rec.queue.popleft() for _ in range(count)]
    found = host.registry.entity_handle(rec.name)
    if found is None:  # unregistered since the message was queued
        for op in ops:
            if not op.is_signal and op.parent is not None and op.request_id is not None:
                _respond(host, op.parent[0], op.parent[1], op.request_id,
                         json.dumps(missing_function_text(rec.name, "entity",
                                                          host.registry.entity_names())), is_error=True)
        _schedule(host, rec)
        return
    display, handle = found
    request = _fastjson.dumps({  # one encode per batch, one decode of the answer below
        "self": {"name": rec.name, "key": rec.key},
        "exists": rec.exists,
        "state": rec.state if rec.exists else None,
        "batch": [{"name": op.name, "input": op.input, "isSignal": op.is_signal} for op in ops],
    })
    virtual_now = host.now if host.virtual_time else None
    registered = host.registry.entities.get(rec.name)
    # Output bindings: the worker passes one Out object per name, as to an activity.
    outs = {n: _sdk.OutputBinding() for n in host.registry.entity_outputs.get(rec.name, ())}

    def run() -> str:
        return handle(request, **outs) if outs else handle(request)

    def call() -> str:  # runs on the guard's worker: it must not touch host state
        if virtual_now is None:
            return run()
        # Operations see the virtual clock; their sleeps return at once.
        fn = getattr(registered, "user_function", registered)
        ns = None if str(getattr(fn, "__module__", "")).startswith("azure.") \
            else getattr(fn, "__globals__", None)
        with _clock.virtual_time(_clock.ActivityClock(virtual_now),
                                 (ns,) if isinstance(ns, dict) else ()):
            return run()

    def runaway() -> RunawayFunction:  # the batch is stopped or abandoned: requeue it
        rec.queue.extendleft(reversed(ops))
        return RunawayFunction("entity", display, rec.scheduler_id, host.function_timeout or 0)

    try:
        raw = host.guard.run(call, host.function_timeout, runaway)
        response = _fastjson.loads(raw)
        results = response["results"]
    except RunawayFunction:
        raise
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
    rec.last_modified = host.now
    if any(out.get() is not None for out in outs.values()):
        rec.outputs.append({name: out.get() for name, out in outs.items()})
    rec.exists = bool(response.get("entityExists"))
    rec.state = response.get("entityState") if rec.exists else None
    # response["signals"] is always empty: DurableEntityContext has no signal_entity.
    for op, result in zip(ops, results):
        if op.is_signal or op.parent is None or op.request_id is None:
            continue
        _respond(host, op.parent[0], op.parent[1], op.request_id, result.get("result"),
                 is_error=bool(result.get("isError")))
    _schedule(host, rec)


# ---------------------------------------------------------------- readers
def read_entity_state(host: EntityHost, entity_id: Any) -> Tuple[bool, Optional[str]]:
    """(exists, state JSON text), as the extension's ``GET entities/{name}/{key}`` answers."""
    sid, _, _ = _scheduler_id(entity_id)
    rec: Optional[EntityRecord] = host.entity_records.get(sid)
    if rec is None or not rec.exists:
        return False, None
    return True, rec.state


def entity_state(host: EntityHost, entity_id: Any) -> Any:
    """The decoded state, or None for an entity that does not exist."""
    exists, text = read_entity_state(host, entity_id)
    return json.loads(text) if exists and text is not None else None


def entity_status(host: EntityHost, entity_id: Any) -> Optional[EntityStatus]:
    """What the host knows about one entity, or None if it never received an operation."""
    sid, _, _ = _scheduler_id(entity_id)
    rec: Optional[EntityRecord] = host.entity_records.get(sid)
    return _status(rec) if rec is not None else None


def list_entities(host: EntityHost) -> List[EntityStatus]:
    """Every entity instance that has received an operation, in first-contact order."""
    return [_status(rec) for rec in host.entity_records.values()]


def _status(rec: EntityRecord) -> EntityStatus:
    state = json.loads(rec.state) if rec.exists and rec.state is not None else None
    return EntityStatus(rec.scheduler_id, rec.name, rec.key, rec.exists, state, len(rec.queue),
                        rec.operations, rec.last_modified,
                        tuple(dict(batch) for batch in rec.outputs))
