"""The extension's side of replay: sequence numbers, await order and determinism checks.

The SDK numbers its tasks itself and never checks history against its actions;
the Durable extension does, by replaying the SDK's action list on its own DTFx
context (ext: OutOfProcOrchestrationShim.ProcessAsyncActionsV2): each top-level
action is invoked, which allocates sequence numbers depth-first, then awaited
(failures ignored) before the next one is invoked. DTFx checks every
scheduling event in history against the action holding the same number
(dtfx: TaskOrchestrationContext.Handle*Event). This module is that interpreter:
one state machine that both finds the new work of an episode and, on a fresh
replay, checks a whole history.

It is fed incrementally: the host keeps one ``ReplayShim`` per execution and
gives it only each episode's new events, so its cost follows the new events.
"""
from __future__ import annotations

import enum
from collections import deque
from datetime import datetime, timedelta
from typing import Any, Callable, Deque, Dict, Iterable, List, Optional, Tuple, cast

from . import _protocol as p

# pytest hides this module's frames in failure reports (--full-trace shows them):
# what the user needs is the line of their own code.
__tracebackhide__ = True


class SlotKind(str, enum.Enum):
    """What a sequence number was allocated for (DTFx's scheduling event kinds)."""

    ACTIVITY = "activity"  # TaskScheduled (call_http too, as BuiltIn::HttpActivity)
    TIMER = "timer"  # TimerCreated
    SUB_ORCHESTRATION = "suborchestration"  # SubOrchestrationInstanceCreated
    EVENT = "event"  # EventSent (entity calls and signals)

    def __str__(self) -> str:
        return self.value


# The members as module globals, for the per-event paths: on CPython 3.11 reading a
# member off its Enum class costs ~0.12 µs, about ten times a global's load.
_ACTIVITY, _TIMER, _SUB_ORCHESTRATION, _EVENT = (
    SlotKind.ACTIVITY, SlotKind.TIMER, SlotKind.SUB_ORCHESTRATION, SlotKind.EVENT)

_CHANGED = ("Was a change made to the orchestrator code after this instance had already "
            "started running?")

# DTFx's texts (dtfx: TaskOrchestrationContext.Handle*Event), quirks included ("named but",
# the double space, "{new}at"): per kind, (nothing scheduled with this number, another kind
# of action has it, the same kind under another name). Each is followed by _CHANGED.
_DTFX_TEXTS = {
    SlotKind.ACTIVITY: (
        "A previous execution of this orchestration scheduled an activity task with sequence "
        "ID {seq} and name '{name}' (version '{version}'), but the current replay execution "
        "hasn't (yet?) scheduled this task.",
        "A previous execution of this orchestration scheduled an activity task with sequence "
        "number {seq} named '{name}', but the current orchestration replay instead produced a "
        "{clr} action with this sequence number.",
        "A previous execution of this orchestration scheduled an activity task with sequence "
        "number {seq} named '{name}', but the current orchestration replay instead scheduled "
        "an activity task named '{new}' with this sequence number. "),
    SlotKind.TIMER: (
        "A previous execution of this orchestration scheduled a timer task with sequence number "
        "{seq} but the current replay execution hasn't (yet?) scheduled this task.",
        "A previous execution of this orchestration scheduled a timer task with sequence number "
        "{seq} named but the current orchestration replay instead produced a {clr} action with "
        "this sequence number.",
        ""),
    SlotKind.SUB_ORCHESTRATION: (
        "A previous execution of this orchestration scheduled a sub-orchestration task with "
        "sequence ID {seq} and name '{name}' (version '{version}', instance ID '{iid}'), but the "
        "current replay execution hasn't (yet?) scheduled this task.",
        "A previous execution of this orchestration scheduled a sub-orchestration task with "
        "sequence ID {seq} and name '{name}' (version '{version}', instance ID '{iid}'), but the "
        "current orchestration replay instead produced a {clr} action at this sequence number.",
        "A previous execution of this orchestration scheduled a sub-orchestration task with "
        "sequence ID {seq} and name '{name}' (version '{version}', instance ID '{iid}'), but the "
        "current orchestration replay instead scheduled a sub-orchestration task with name "
        "{new} at this sequence number."),
    SlotKind.EVENT: (
        "A previous execution of this orchestration scheduled a send event task with sequence "
        "ID {seq}, type 'EventSent' name '{name}', instance ID '{iid}', but the current replay "
        "execution hasn't (yet?) scheduled this task.",
        "A previous execution of this orchestration scheduled a send event task with sequence "
        "ID {seq}, type 'EventSent', name '{name}', instance ID '{iid}', but the current "
        "orchestration replay instead scheduled a {clr} task at this sequence number.",
        "A previous execution of this orchestration scheduled a send event task with sequence "
        "ID {seq}, type 'EventSent', name '{name}', instance ID '{iid}'), but the current "
        "orchestration replay instead scheduled a send event task with name {new}at this "
        "sequence number."),
}

# The .NET type names DTFx prints in its messages.
_CLR_NAMES = {
    SlotKind.ACTIVITY: "ScheduleTaskOrchestratorAction",
    SlotKind.TIMER: "CreateTimerOrchestratorAction",
    SlotKind.SUB_ORCHESTRATION: "CreateSubOrchestrationAction",
    SlotKind.EVENT: "SendEventOrchestratorAction",
}


class Slot:
    """One sequence number the replay allocated: work the host must schedule.

    A class with ``__slots__`` and a positional ``__init__`` rather than a dataclass:
    one is made per task of every replayed action (a fan-out's thousands, a stored
    replay's every step), and the dataclass ``__init__`` was the shim's largest cost.
    Equality and repr are what the dataclass gave.
    """

    __slots__ = ("seq", "kind", "name", "action", "fire_at", "attempt", "node")

    def __init__(self, seq: int, kind: SlotKind, name: Optional[str], action: Dict[str, Any],
                 fire_at: Optional[datetime] = None, attempt: int = 1,
                 node: Optional["_Node"] = None) -> None:
        self.seq = seq
        self.kind = kind
        self.name = name
        self.action = action
        self.fire_at = fire_at  # timers
        self.attempt = attempt  # retries: which attempt this is
        self.node = node

    def _fields(self) -> Tuple[Any, ...]:
        return (self.seq, self.kind, self.name, self.action, self.fire_at, self.attempt,
                self.node)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not Slot:
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __repr__(self) -> str:
        return (f"Slot(seq={self.seq!r}, kind={self.kind!r}, name={self.name!r}, "
                f"action={self.action!r}, fire_at={self.fire_at!r}, attempt={self.attempt!r})")

    def describe(self) -> str:
        if self.kind is SlotKind.TIMER:
            return f"timer #{self.seq} firing at {p.format_timestamp(self.fire_at)}" \
                if self.fire_at else f"timer #{self.seq}"
        if self.kind is SlotKind.EVENT:
            return f"entity message #{self.seq} '{self.name}' to {self.action.get('instanceId')}"
        return f"{'sub-orchestration' if self.kind is SlotKind.SUB_ORCHESTRATION else 'activity'} " \
               f"'{self.name}' #{self.seq}"


class ActionRefused(Exception):
    """An action the extension throws on synchronously while replaying it: the instance fails.

    The message is the .NET exception's (the host prefixes "Orchestrator function ...
    failed: "), e.g. ``CallActivityWithRetryAsync`` given no retry options.
    """


class NonDeterminism(Exception):
    """Raised inside the interpreter; the host turns it into a failed instance."""

    def __init__(self, detail: str, event_index: int, expected: str, actual: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.event_index = event_index
        self.expected = expected
        self.actual = actual


# ---------------------------------------------------------------- awaitables
class _Node:
    __slots__ = ("parent", "done", "failed")

    def __init__(self) -> None:
        self.parent: Optional[_Node] = None
        self.done = False
        self.failed = False

    def _finish(self, failed: bool, shim: "ReplayShim") -> None:
        if self.done:
            return
        self.done = True
        self.failed = failed
        if self.parent is not None:
            self.parent.child_done(self, shim)
        elif shim.blocked is self:
            shim.blocked = None
            shim.advance()

    def child_done(self, child: "_Node", shim: "ReplayShim") -> None:  # pragma: no cover
        raise NotImplementedError

    def waiting_for(self, shim: "ReplayShim") -> List[str]:
        return []


class _Atomic(_Node):
    __slots__ = ("slot",)

    def __init__(self, slot: Slot) -> None:  # _Node's fields set here: one made per task
        self.parent: Optional[_Node] = None
        self.done = False
        self.failed = False
        self.slot = slot

    def waiting_for(self, shim: "ReplayShim") -> List[str]:
        return [] if self.done else [self.slot.describe()]


class _Immediate(_Node):
    """Fire-and-forget actions (signal_entity, continue_as_new): never block."""

    def __init__(self) -> None:
        super().__init__()
        self.done = True


class _ExternalEvent(_Node):
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def waiting_for(self, shim: "ReplayShim") -> List[str]:
        return [] if self.done else [f"external event '{self.name}'"]


class _EntityResponse(_Node):
    """call_entity: an EventSent, then an EventRaised named by the request id."""

    __slots__ = ("slot", "request_id")

    def __init__(self, slot: Slot) -> None:  # _Node's fields set here: one made per task
        self.parent: Optional[_Node] = None
        self.done = False
        self.failed = False
        self.slot = slot
        self.request_id: Optional[str] = None

    def waiting_for(self, shim: "ReplayShim") -> List[str]:
        return [] if self.done else [
            f"entity '{self.slot.action.get('instanceId')}' to answer operation "
            f"'{self.slot.action.get('operation')}'"]


class _Compound(_Node):
    __slots__ = ("children", "remaining", "any_failed", "is_any")

    def __init__(self, children: List[_Node], is_any: bool) -> None:
        super().__init__()
        self.children = children
        self.is_any = is_any
        self.remaining = 0
        self.any_failed = False
        for c in children:
            c.parent = self
            if not c.done:
                self.remaining += 1

    def settle(self, shim: "ReplayShim") -> None:
        if self.is_any:
            if self.remaining < len(self.children) or not self.children:
                self._finish(False, shim)
        elif self.remaining == 0:
            self._finish(self.any_failed or any(c.failed for c in self.children), shim)

    def child_done(self, child: _Node, shim: "ReplayShim") -> None:
        self.remaining -= 1
        if child.failed:
            self.any_failed = True
        self.settle(shim)

    def waiting_for(self, shim: "ReplayShim") -> List[str]:
        out: List[str] = []
        for c in self.children:
            out.extend(c.waiting_for(shim))
        if self.is_any and len(out) > 1:
            return ["any of: " + "; ".join(out)]
        return out


class _Retry(_Node):
    """DTFx's RetryInterceptor: attempt, on failure a timer, then attempt again.

    A timer follows every failed attempt, the last one included; only when it
    fires does the failure surface (the SDK waits for the same extra timer). That
    last one fires at once.
    """

    __slots__ = ("kind", "name", "action", "max_attempts", "interval", "attempts",
                 "current", "on_timer")

    def __init__(self, kind: SlotKind, action: Dict[str, Any]) -> None:
        super().__init__()
        self.kind = kind
        self.action = action
        self.name = action.get("functionName")
        opts = action.get("retryOptions") or {}
        self.max_attempts = int(opts.get("maxNumberOfAttempts", 1))
        self.interval = timedelta(milliseconds=int(opts.get("firstRetryIntervalInMilliseconds", 0)))
        self.attempts = 1
        self.current: Optional[_Node] = None
        self.on_timer = False

    def child_done(self, child: _Node, shim: "ReplayShim") -> None:
        if self.on_timer:
            self.on_timer = False
            if self.attempts >= self.max_attempts:
                self._finish(True, shim)
                return
            self.attempts += 1
            self.current = shim.allocate_attempt(self)
            return
        if not child.failed:
            self._finish(False, shim)
            return
        last = self.attempts >= self.max_attempts
        if not last and self.interval <= timedelta(0):
            self._finish(True, shim)  # dtfx: no delay to wait, so no more attempts
            return
        # dtfx RetryInterceptor (since core 2.7, #661): after the last attempt a "dummy timer
        # for back-compat" that fires at once, so the failure surfaces without another wait.
        delay = timedelta(0) if last else min(self.interval, p.MAX_SHORT_TIMER)
        self.on_timer = True
        self.current = shim.allocate_timer(shim.now() + delay, self, retry_of=self.name)

    def waiting_for(self, shim: "ReplayShim") -> List[str]:
        if self.done or self.current is None:
            return []
        inner = self.current.waiting_for(shim)
        return [f"{w} (retry attempt {self.attempts} of {self.max_attempts})" for w in inner]


# ---------------------------------------------------------------- the interpreter
class _Role(enum.Enum):
    """What the replay does with an event."""

    STARTED = 1  # OrchestratorStarted: the orchestration's current time
    EXECUTION = 2  # ExecutionStarted: start invoking the actions
    COMPLETE = 3  # a completion: finish the task it names
    RAISE = 4  # EventRaised: an external event or an entity response
    CHECK = 5  # a scheduling event: check it against the replayed action


_STARTED, _EXECUTION, _COMPLETE, _RAISE, _CHECK = (
    _Role.STARTED, _Role.EXECUTION, _Role.COMPLETE, _Role.RAISE, _Role.CHECK)

#: What the replay does with each event type, looked up once per event.
_EVENT_ROLES: Dict[int, Tuple[_Role, Any]] = {
    p.ORCHESTRATOR_STARTED: (_Role.STARTED, None),
    p.EXECUTION_STARTED: (_Role.EXECUTION, None),
    p.TASK_COMPLETED: (_Role.COMPLETE, ("TaskScheduledId", False)),
    p.SUB_ORCHESTRATION_COMPLETED: (_Role.COMPLETE, ("TaskScheduledId", False)),
    p.TASK_FAILED: (_Role.COMPLETE, ("TaskScheduledId", True)),
    p.SUB_ORCHESTRATION_FAILED: (_Role.COMPLETE, ("TaskScheduledId", True)),
    p.TIMER_FIRED: (_Role.COMPLETE, ("TimerId", False)),
    p.EVENT_RAISED: (_Role.RAISE, None),
    p.TASK_SCHEDULED: (_Role.CHECK, SlotKind.ACTIVITY),
    p.TIMER_CREATED: (_Role.CHECK, SlotKind.TIMER),
    p.SUB_ORCHESTRATION_CREATED: (_Role.CHECK, SlotKind.SUB_ORCHESTRATION),
    p.EVENT_SENT: (_Role.CHECK, SlotKind.EVENT),
}


#: ``(kind, name) -> None`` for a function the host knows, else the extension's
#: "doesn't exist" text. A plain function (a closure), so copying a shim copies no registry.
UnknownCall = Callable[[SlotKind, Optional[str]], Optional[str]]


def entity_name_of(action: Dict[str, Any]) -> str:
    """The entity an entity action addresses (its scheduler id ``@name@key``), as written."""
    try:
        return p.split_scheduler_id(action.get("instanceId") or "")[0]
    except ValueError:
        return str(action.get("instanceId"))


class ReplayShim:
    """Replays one execution's action list against its history, as the extension does."""

    def __init__(self, instance_id: str, execution_id: str, orchestrator: str,
                 unknown_call: Optional["UnknownCall"] = None,
                 parent_instance_id: Optional[str] = None) -> None:
        self.instance_id = instance_id
        self.parent_instance_id = parent_instance_id
        # The host's registry, asked about each call (None: every function is known).
        self.unknown_call = unknown_call
        self.ignored: List[str] = []  # calls the host ignored, for stuck-instance messages
        self.execution_id = execution_id
        self.orchestrator = orchestrator
        self.next_seq = 0
        self.actions: List[Dict[str, Any]] = []
        self.ptr = 0
        self.started = False
        self.blocked: Optional[_Node] = None
        self.open: Dict[int, _Node] = {}
        self.unmatched: Dict[int, Slot] = {}
        self.waiters: Dict[str, Deque[_Node]] = {}
        self.buffered: Dict[str, Deque[Any]] = {}
        self.entity_waiters: Dict[str, _EntityResponse] = {}
        self.timers: Dict[int, Tuple[int, ...]] = {}  # seq -> path of its CreateTimer action
        # The latest OrchestratorStarted timestamp, parsed only when a retry timer needs it.
        self.current_stamp: Optional[str] = None
        self.continue_as_new: Optional[Dict[str, Any]] = None
        # EventRaised events that came after the continue-as-new: the next execution's.
        self.carryover: List[Dict[str, Any]] = []
        self.entity_request_ids: Dict[int, str] = {}

    def now(self) -> datetime:
        """The orchestration's current time: the latest OrchestratorStarted timestamp."""
        stamp = self.current_stamp
        return datetime.min if stamp is None else p.parse_timestamp(stamp)

    # -- feeding -------------------------------------------------------------
    def feed(self, actions: List[Dict[str, Any]], events: Iterable[Tuple[int, Dict[str, Any]]]
             ) -> List[Slot]:
        """Take the SDK's current action list and the new events; return new work.

        The per-event dispatch is inlined in the loop (a stored replay feeds every
        event of the history here, so a method call per event was a tenth of it).
        """
        self.actions = actions
        if self.started:
            self.advance()
        roles = _EVENT_ROLES
        for index, ev in events:
            role = roles.get(ev["EventType"])
            if role is None:
                continue  # OrchestratorCompleted and the events the replay does not read
            what, arg = role
            if what is _COMPLETE:
                key, failed = arg
                self._complete(ev.get(key), failed)
            elif what is _CHECK:
                self._check(index, ev, arg)
            elif what is _STARTED:
                self.current_stamp = ev["Timestamp"]
            elif what is _EXECUTION:
                self.started = True
                self.advance()
            elif self.continue_as_new is not None:
                # dtfx TaskOrchestrationContext.HandleEventRaisedEvent: once the orchestration
                # has continued as new, a later event in the batch is carried over to the next
                # execution (Azure Storage: EventBehaviourForContinueAsNew = Carryover).
                self.carryover.append(ev)
            else:
                self._raise(ev)
        # Sequence numbers are allocated in increasing order and the dict keeps insertion
        # order, so its values are already sorted by seq.
        return list(self.unmatched.values())

    def mark_scheduled(self, slots: Iterable[Slot]) -> None:
        for s in slots:
            self.unmatched.pop(s.seq, None)

    # -- the shim's loop -----------------------------------------------------
    def advance(self) -> None:
        """Invoke top-level actions until one has to be awaited."""
        while self.blocked is None and self.ptr < len(self.actions):
            index = self.ptr
            self.ptr += 1
            node = self._invoke(self.actions[index], (index,))
            if not node.done:
                self.blocked = node

    def _invoke(self, action: Dict[str, Any], path: Tuple[int, ...]) -> _Node:
        t = action.get("actionType")
        if t == p.CALL_ACTIVITY:
            name = action.get("functionName")
            return self._ignored(_ACTIVITY, name) or self._atomic(_ACTIVITY, name, action)
        if t == p.CALL_HTTP:
            return self._atomic(_ACTIVITY, p.HTTP_ACTIVITY_NAME, action)
        if t == p.CALL_SUB_ORCHESTRATOR:
            name = action.get("functionName")
            return (self._ignored(_SUB_ORCHESTRATION, name, action)
                    or self._atomic(_SUB_ORCHESTRATION, name, action))
        if t == p.CREATE_TIMER:
            fire_at = p.parse_timestamp(action["fireAt"])
            node = self._atomic(_TIMER, None, action, fire_at=fire_at)
            self.timers[node.slot.seq] = path
            if action.get("isCanceled"):
                # ext: the token is cancelled right after CreateTimer: the id is used
                # and TimerCreated recorded, but nothing awaits the timer.
                node.done = True
            return node
        if t in (p.CALL_ACTIVITY_WITH_RETRY, p.CALL_SUB_ORCHESTRATOR_WITH_RETRY):
            kind = _ACTIVITY if t == p.CALL_ACTIVITY_WITH_RETRY else _SUB_ORCHESTRATION
            if not action.get("retryOptions"):
                # ext: Call{Activity,SubOrchestrator}WithRetryAsync are not async: their
                # ArgumentNullException leaves the shim's loop and fails the orchestration.
                raise ActionRefused("Value cannot be null. (Parameter 'retryOptions')")
            ignored = self._ignored(kind, action.get("functionName"), action)
            if ignored is not None:
                return ignored
            retry = _Retry(kind, action)
            retry.current = self.allocate_attempt(retry)
            return retry
        if t == p.WAIT_FOR_EXTERNAL_EVENT:
            name = action.get("externalEventName") or ""
            waiter = _ExternalEvent(name)
            key = name.lower()  # the extension matches event names case-insensitively
            queue = self.buffered.get(key)
            if queue:
                queue.popleft()
                waiter.done = True
            else:
                self.waiters.setdefault(key, deque()).append(waiter)
            return waiter
        if t == p.CALL_ENTITY:
            ignored = self._ignored(_EVENT, entity_name_of(action))
            if ignored is not None:
                return ignored
            slot = self._allocate(_EVENT, "op", action)
            response = _EntityResponse(slot)
            slot.node = response
            self.open[slot.seq] = response
            return response
        if t == p.SIGNAL_ENTITY:
            self._allocate(_EVENT, "op", action)
            return _Immediate()
        if t == p.ACTION_CONTINUE_AS_NEW:
            self.continue_as_new = action
            return _Immediate()
        if t in (p.WHEN_ALL, p.WHEN_ANY):
            children = [self._invoke(c, path + (i,))
                        for i, c in enumerate(action.get("compoundActions") or [])]
            compound = _Compound(children, is_any=(t == p.WHEN_ANY))
            if compound.is_any:
                if not children or compound.remaining < len(children):
                    compound.done = True
            elif compound.remaining == 0:
                compound.done = True
                compound.failed = any(c.failed for c in children)
            return compound
        raise NonDeterminism(
            f"Received an unexpected action type from the out-of-proc function: '${t}'.",
            -1, "a known action type", repr(action))

    def _ignored(self, kind: SlotKind, name: Optional[str],
                 action: Optional[Dict[str, Any]] = None) -> Optional[_Node]:
        """A call to a function the host does not know: a faulted task, nothing scheduled.

        ext: ``CallDurableTaskFunctionAsync`` is async, so ``ThrowIfFunctionDoesNotExist``
        faults the task it returns instead of throwing, and
        ``OutOfProcOrchestrationShim.ProcessAsyncActionsV2`` awaits it under "silently
        ignore": no sequence number is used, nothing is scheduled, the replay moves on,
        and the orchestrator waits for an answer that never comes.
        """
        problem = self.unknown_call(kind, name) if self.unknown_call is not None else None
        if problem is None and kind is _SUB_ORCHESTRATION and action is not None:
            problem = self._refused_child_id(action.get("instanceId"))
        if problem is None:
            return None
        what = {_ACTIVITY: "activity", _SUB_ORCHESTRATION: "sub-orchestration"}.get(
            kind, "entity")
        note = (f"the {what} call to '{name}', which the host never scheduled: {problem} The "
                "extension ignores a call it refuses (its check faults the task the "
                "out-of-proc shim awaits and ignores), so in Azure this instance would stay "
                "Running forever")
        if note not in self.ignored:
            self.ignored.append(note)
        node = _Node()
        node.done = True
        node.failed = True
        return node

    def _refused_child_id(self, child_id: Any) -> Optional[str]:
        """ext CallDurableTaskFunctionAsync's checks of a sub-orchestration's instance id."""
        if not isinstance(child_id, str) or not child_id:
            return None
        own = {self.instance_id.lower()}
        if self.parent_instance_id:
            own.add(self.parent_instance_id.lower())
        if child_id.lower() in own:
            return (f"The instance ID of a sub-orchestration must be different than the instance "
                    f"ID of a parent orchestration ('{child_id}').")
        if child_id.startswith("@"):
            return f"Orchestration instance ids must not start with @ ('{child_id}')."
        return None

    def _allocate(self, kind: SlotKind, name: Optional[str], action: Dict[str, Any],
                  fire_at: Optional[datetime] = None, attempt: int = 1) -> Slot:
        slot = Slot(self.next_seq, kind, name, action, fire_at, attempt)
        self.next_seq += 1
        self.unmatched[slot.seq] = slot
        return slot

    def _atomic(self, kind: SlotKind, name: Optional[str], action: Dict[str, Any],
                fire_at: Optional[datetime] = None, attempt: int = 1) -> _Atomic:
        slot = self._allocate(kind, name, action, fire_at, attempt)
        node = _Atomic(slot)
        slot.node = node
        self.open[slot.seq] = node
        return node

    def allocate_attempt(self, retry: _Retry) -> _Node:
        node = self._atomic(retry.kind, retry.name, retry.action, attempt=retry.attempts)
        node.parent = retry
        return node

    def allocate_timer(self, fire_at: datetime, retry: _Retry, retry_of: Optional[str]) -> _Node:
        node = self._atomic(_TIMER, None, {"actionType": p.CREATE_TIMER, "retryOf": retry_of},
                            fire_at=fire_at)
        node.parent = retry
        return node

    # -- completions ---------------------------------------------------------
    def _complete(self, seq: Any, failed: bool) -> None:
        node = self.open.pop(seq, None) if isinstance(seq, int) else None
        if node is None:
            return  # dtfx logs "Duplicate ... Event" and ignores it
        node._finish(failed, self)

    def _raise(self, ev: Dict[str, Any]) -> None:
        name = ev.get("Name") or ""
        entity = self.entity_waiters.pop(name, None)
        if entity is not None:
            self.open.pop(entity.slot.seq, None)
            entity._finish(False, self)
            return
        key = name.lower()
        # ext: waiters are a stack, so an event completes the newest wait and abandoned ones
        # (a task_any in a loop) never swallow it; events nobody waits for queue FIFO.
        stack = self.waiters.get(key)
        while stack:
            node = stack.pop()
            if not node.done:
                node._finish(False, self)
                return
        self.buffered.setdefault(key, deque()).append(ev.get("Input"))

    def register_entity_request(self, slot: Slot, request_id: str) -> None:
        """The host generated ``request_id`` for a call_entity; its answer is named by it."""
        node = slot.node
        if isinstance(node, _EntityResponse):
            node.request_id = request_id
            self.entity_waiters[request_id] = node

    # -- determinism checks --------------------------------------------------
    def _check(self, index: int, ev: Dict[str, Any], kind: SlotKind) -> None:
        seq: Any = ev.get("EventId")  # a wire value: normally an int
        slot = self.unmatched.pop(seq, None)
        name = ev.get("Name")
        if kind is _EVENT and slot is not None and slot.kind is _EVENT \
                and isinstance(slot.node, _EntityResponse):
            request_id = _entity_request_id(ev)
            if request_id:
                self.register_entity_request(slot, request_id)
        if slot is not None and slot.kind is kind and (
                kind is _TIMER or slot.name == name
                or (slot.name or "").lower() == (name or "").lower()):
            return  # DTFx compares kind, then name case-insensitively; never inputs
        missing, wrong_kind, wrong_name = _DTFX_TEXTS[kind]
        template = missing if slot is None else wrong_kind if slot.kind != kind else wrong_name
        detail = template.format(
            seq=seq, name=name, version=ev.get("Version") or "", iid=ev.get("InstanceId"),
            clr=_CLR_NAMES.get(slot.kind, "") if slot is not None else "",
            new=slot.name if slot is not None else "") + " " + _CHANGED
        expected = _describe_event(ev, kind)
        actual = slot.describe() if slot is not None else "nothing scheduled with this number"
        raise NonDeterminism(detail, index, expected, actual)

    # -- questions the host asks ---------------------------------------------
    def uncancelled_open_timers(self) -> List[int]:
        """Timers the orchestrator neither awaited to the end nor cancelled.

        DTFx does not complete an instance while one of these is outstanding.
        """
        out = []
        for seq, node in self.open.items():
            path = self.timers.get(seq)
            if path is None or node.done:
                continue
            action = self._action_at(path)
            if action is not None and not action.get("isCanceled"):
                out.append(seq)
        return out

    def _action_at(self, path: Tuple[int, ...]) -> Optional[Dict[str, Any]]:
        try:
            action = self.actions[path[0]]
            for i in path[1:]:
                action = action["compoundActions"][i]
            return action
        except (IndexError, KeyError, TypeError):
            return None

    def waiting_for(self) -> List[str]:
        """What the replay is blocked on, for stuck-instance messages."""
        waits = list(self.ignored)
        if self.blocked is not None:
            waits.extend(self.blocked.waiting_for(self))
        return waits


def _entity_request_id(ev: Dict[str, Any]) -> Optional[str]:
    import json

    try:
        return cast(Optional[str], json.loads(ev.get("Input") or "{}").get("id"))
    except (ValueError, AttributeError):
        return None


def _describe_event(ev: Dict[str, Any], kind: SlotKind) -> str:
    seq = ev.get("EventId")
    if kind is SlotKind.ACTIVITY:
        return f"activity '{ev.get('Name')}' #{seq}"
    if kind is SlotKind.TIMER:
        return f"timer #{seq} firing at {ev.get('FireAt')}"
    if kind is SlotKind.SUB_ORCHESTRATION:
        return f"sub-orchestration '{ev.get('Name')}' #{seq} (instance '{ev.get('InstanceId')}')"
    return f"entity message #{seq} '{ev.get('Name')}' to {ev.get('InstanceId')}"
