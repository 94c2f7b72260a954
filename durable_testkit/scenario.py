"""Drive one orchestrator step by step through a history you decide.

``OrchestrationScenario`` plays the host for a single orchestrator: it calls the
real SDK handle once per episode, replays the returned actions with the same
``ReplayShim`` the in-memory host uses (so sequence numbers, await order and
non-determinism checks match it), and appends the events the host would
append. Instead of running activities and timers it stops and lets the test
decide what each pending task returns, in which order and when.

``HistoryBuilder`` writes such a history by hand in a few readable lines, and
``next_actions`` asks an orchestrator what it does next given a history.
"""
from __future__ import annotations

import enum
import json
import os
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import (Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Set,
                    Tuple, Union, cast, final)

from . import _protocol as p
from . import _sdk
from . import _wire as w
from ._host.episode import ND_PREFIX, EpisodeEnd, close_episode, replay_events, run_episode
from ._host.records import Execution
from ._replay import NonDeterminism, ReplayShim, Slot, SlotKind
from ._worker_failure import activity_failure
from .clock import VirtualClock
from .errors import NonDeterminismError, ScenarioError
from .history import HistoryEvent, InstanceHistory, load_history, render_timeline
from .status import Divergence

# pytest hides this module's frames in failure reports (--full-trace shows them):
# what the user needs is the line of their own code.
__tracebackhide__ = True

__all__ = ["HistoryBuilder", "OrchestrationScenario", "PendingTask", "ScenarioError",
           "TaskKind",
           "next_actions"]

#: The instance id a scenario or HistoryBuilder uses unless told otherwise; fixed so that
#: ``new_uuid()`` values and default sub-orchestration ids are the same on every run.
DEFAULT_INSTANCE_ID = "scenario-instance"



# ---------------------------------------------------------------- values
class TaskKind(str, enum.Enum):
    """What a :class:`PendingTask` is; compares equal to its string value."""

    ACTIVITY = "activity"
    TIMER = "timer"
    SUB_ORCHESTRATION = "sub_orchestration"
    EXTERNAL_EVENT = "external_event"
    ENTITY_CALL = "entity_call"
    ENTITY_SIGNAL = "entity_signal"
    HTTP = "http"

    def __str__(self) -> str:
        return self.value


_COMPLETABLE = (TaskKind.ACTIVITY, TaskKind.HTTP, TaskKind.SUB_ORCHESTRATION,
                TaskKind.ENTITY_CALL)


@dataclass(frozen=True)
class PendingTask:
    """One piece of work the orchestrator scheduled or waits for.

    Attributes:
        kind: "activity", "timer", "sub_orchestration", "external_event",
            "entity_call", "entity_signal" or "http".
        name: the activity or sub-orchestrator name, the event name, the entity
            operation, ``None`` for timers.
        input: the decoded input (for "http", the request dict).
        seq: the sequence number (``EventId`` in history); ``None`` for events.
        fire_at: when a timer fires.
        instance_id: the sub-orchestration's instance id or the entity id (``@name@key``).
        attempt: which attempt of a ``*_with_retry`` call this is (1 for the first).
        retry_of: for the timer between retry attempts, the activity being retried.
    """

    kind: TaskKind
    name: Optional[str]
    input: Any = None
    seq: Optional[int] = None
    fire_at: Optional[datetime] = None
    instance_id: Optional[str] = None
    attempt: int = 1
    retry_of: Optional[str] = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", TaskKind(self.kind))  # a plain string is accepted

    def __str__(self) -> str:
        num = f" #{self.seq}" if self.seq is not None else ""
        if self.kind == TaskKind.TIMER:
            text = f"timer{num} firing at {p.format_timestamp(self.fire_at)}" if self.fire_at \
                else f"timer{num}"
            return text + (f" (retry of '{self.retry_of}')" if self.retry_of else "")
        if self.kind == TaskKind.EXTERNAL_EVENT:
            return f"external event '{self.name}'"
        if self.kind == TaskKind.HTTP:
            req = self.input if isinstance(self.input, Mapping) else {}
            return f"http {req.get('method')} {req.get('uri')}{num}"
        payload = _short(json.dumps(self.input, default=repr))
        if self.kind in (TaskKind.ENTITY_CALL, TaskKind.ENTITY_SIGNAL):
            verb = "call" if self.kind == TaskKind.ENTITY_CALL else "signal"
            return f"entity {verb} '{self.name}' on {self.instance_id}{num} (input: {payload})"
        label = "sub-orchestration" if self.kind == TaskKind.SUB_ORCHESTRATION else "activity"
        text = f"{label} '{self.name}'{num} (input: {payload})"
        if self.kind == TaskKind.SUB_ORCHESTRATION:
            text += f" instance '{self.instance_id}'"
        if self.attempt > 1:
            text += f", retry attempt {self.attempt}"
        return text


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


# ---------------------------------------------------------------- orchestrator handles
def _resolve(orchestrator: Any, name: Optional[str]) -> Tuple[Callable[[Any], Any], str]:
    """A df.Orchestrator.create handle and a name from any accepted orchestrator form."""
    name = name or _sdk.function_name(orchestrator)
    user = _sdk.user_orchestrator(orchestrator)
    name = name or getattr(user, "__name__", None) or "orchestrator"
    return _sdk.orchestrator_handle(name, orchestrator), name


# ---------------------------------------------------------------- the shim, read
def _slot_task(slot: Slot, execution_id: str) -> PendingTask:
    a = slot.action
    if slot.kind is SlotKind.ACTIVITY:
        if slot.name == p.HTTP_ACTIVITY_NAME:
            return PendingTask(TaskKind.HTTP, slot.name, a.get("httpRequest"), slot.seq,
                               attempt=slot.attempt)
        return PendingTask(TaskKind.ACTIVITY, slot.name, w.loads(a.get("input")), slot.seq,
                           attempt=slot.attempt)
    if slot.kind is SlotKind.TIMER:
        return PendingTask(TaskKind.TIMER, None, None, slot.seq, fire_at=slot.fire_at,
                           retry_of=a.get("retryOf"))
    if slot.kind is SlotKind.SUB_ORCHESTRATION:
        return PendingTask(TaskKind.SUB_ORCHESTRATION, slot.name, w.loads(a.get("input")), slot.seq,
                           instance_id=a.get("instanceId") or f"{execution_id}:{slot.seq}",
                           attempt=slot.attempt)
    kind = TaskKind.ENTITY_CALL if a.get("actionType") == p.CALL_ENTITY \
        else TaskKind.ENTITY_SIGNAL
    return PendingTask(kind, a.get("operation"), w.loads(a.get("input")), slot.seq,
                       instance_id=a.get("instanceId"))


def _timer(task: PendingTask) -> Tuple[int, datetime]:
    """(seq, fire time) of a due timer: timers always have a seq, and due() keeps only
    those with a fire time."""
    assert task.seq is not None and task.fire_at is not None
    return task.seq, task.fire_at


def _cancelled_timers(shim: ReplayShim) -> Set[int]:
    """Timers whose CreateTimer action now says isCanceled: nothing waits for them."""
    out = set()
    for seq, path in shim.timers.items():
        try:
            action: Any = shim.actions[path[0]]
            for i in path[1:]:
                action = action["compoundActions"][i]
        except (IndexError, KeyError, TypeError):
            continue
        if action.get("isCanceled"):
            out.add(seq)
    return out


def _event_waits(shim: ReplayShim) -> List[PendingTask]:
    """External events the orchestrator still waits for (not the losers of a finished when_any)."""
    out = []
    for queue in shim.waiters.values():
        for node in queue:
            if node.done:
                continue
            parent = node.parent
            while parent is not None and not parent.done:
                parent = parent.parent
            if parent is None:
                out.append(PendingTask(TaskKind.EXTERNAL_EVENT, getattr(node, "name", None)))
    return out


def _non_determinism(nd: NonDeterminism, name: str, instance_id: str,
                     events: Sequence[Any]) -> NonDeterminismError:
    index = nd.event_index if nd.event_index >= 0 else None
    return NonDeterminismError(
        ND_PREFIX + nd.detail, instance_id=instance_id, orchestrator=name, event_index=index,
        expected=nd.expected, actual=nd.actual, timeline=render_timeline(events, mark=index))


# ---------------------------------------------------------------- the scenario
class _Execution(Execution):
    """One execution's state, plus what the scenario shows as pending."""

    def __init__(self, scenario: "OrchestrationScenario", input_text: Optional[str]) -> None:
        scenario._executions += 1
        execution_id = w.entity_request_id(scenario.instance_id, "execution",
                                           scenario._executions).replace("-", "")
        super().__init__(scenario.instance_id, execution_id, scenario.name, input_text,
                         scenario._executions)
        self.tasks: Dict[int, PendingTask] = {}
        self.entity_requests: Dict[int, str] = {}


class _Batch:
    """What ``with sc.batch() as b`` collects; ``b.scheduled`` is filled on exit."""

    def __init__(self) -> None:
        self.messages: List[Dict[str, Any]] = []
        self.seqs: List[int] = []
        self.events: Counter[str] = Counter()
        self.scheduled: List[PendingTask] = []


@final
class OrchestrationScenario:
    """One orchestrator, driven one episode at a time with completions you choose.

    Every step (``start``, ``complete``, ``fail``, ``raise_event``, ``advance``,
    ``fire_timers``, ...) runs one episode at once and returns the work the
    orchestrator newly scheduled. Inside ``with sc.batch():`` steps only queue
    their messages, and one episode delivers them all on exit, as the host does
    when several completions arrive together.

    Args:
        orchestrator: a generator function, a ``df.Orchestrator.create`` handle or
            a V2 ``@orchestration_trigger`` function.
        input: the orchestration input (JSON-serializable).
        instance_id: the instance id; default :data:`DEFAULT_INSTANCE_ID`.
        start_time: where virtual time starts (timezone-aware); default
            :data:`durable_testkit.clock.DEFAULT_START_TIME`.
        name: the orchestrator name written in history; default the function's name.
        episode_timeout: wall-clock seconds one episode may take before it is
            stopped as an endless loop.
    """

    def __init__(self, orchestrator: Any, input: Any = None, instance_id: Optional[str] = None,
                 start_time: Optional[datetime] = None, *, name: Optional[str] = None,
                 episode_timeout: float = 10.0) -> None:
        self._handle, self.name = _resolve(orchestrator, name)
        self.instance_id = instance_id or DEFAULT_INSTANCE_ID
        self._clock = VirtualClock(start_time)
        self._episode_timeout = episode_timeout
        self._executions = 0
        self._previous: List[List[Dict[str, Any]]] = []
        self._ex = _Execution(self, w.dumps(input, f"The input of orchestrator '{self.name}'"))
        self._started = False
        self._done = False
        self._output: Any = None
        self._error: Optional[str] = None
        self._divergence: Optional[Divergence] = None
        self._custom_status: Any = None
        self._continued: List[Any] = []
        self._batch: Optional[_Batch] = None

    # -- what the test reads ----------------------------------------------------------
    @property
    def pending(self) -> List[PendingTask]:
        """What the orchestrator waits for now, in sequence order, then awaited events."""
        ex = self._ex
        if self._done:
            return []
        skip = set(self._batch.seqs) if self._batch else set()
        cancelled = _cancelled_timers(ex.shim)
        out = [t for seq, t in sorted(ex.tasks.items()) if seq not in skip and seq not in cancelled]
        raised: Counter[str] = Counter(self._batch.events) if self._batch else Counter()
        for wait in _event_waits(ex.shim):
            key = (wait.name or "").lower()
            if raised[key]:
                raised[key] -= 1
                continue
            out.append(wait)
        return out

    @property
    def is_done(self) -> bool:
        """Whether the orchestration completed or failed (continue-as-new is not done)."""
        return self._done

    @property
    def output(self) -> Any:
        """The orchestrator's return value once completed."""
        return self._output

    @property
    def error(self) -> Optional[str]:
        """The failure text (as the host records it) if the orchestration failed."""
        return self._error

    @property
    def divergence(self) -> Optional[Divergence]:
        """Where the replay stopped matching the history, if a step raised
        ``NonDeterminismError`` (as ``OrchestrationResult.divergence``)."""
        return self._divergence

    @property
    def custom_status(self) -> Any:
        """The last value the orchestrator passed to ``set_custom_status``."""
        return self._custom_status

    @property
    def continued_as_new(self) -> bool:
        """Whether the orchestrator called ``continue_as_new`` (see ``continued_as_new_inputs``)."""
        return bool(self._continued)

    @property
    def continued_as_new_inputs(self) -> List[Any]:
        """The input of each ``continue_as_new``, oldest first."""
        return list(self._continued)

    @property
    def now(self) -> datetime:
        """The scenario's virtual time."""
        return self._clock.now

    @property
    def history(self) -> InstanceHistory:
        """The current execution's history, as the in-memory host would record it."""
        return self._instance_history(self._ex.history)

    def export_history(self) -> InstanceHistory:
        """Every execution's events (continue-as-new included), ready for ``save_history``."""
        events = [e for past in self._previous for e in past]
        return self._instance_history(events + self._ex.history)

    def _instance_history(self, events: List[Dict[str, Any]]) -> InstanceHistory:
        return InstanceHistory(orchestrator=self.name, instance_id=self.instance_id,
                               events=tuple(dict(e, IsPlayed=True) for e in events))

    # -- steps -------------------------------------------------------------------------
    def start(self) -> List[PendingTask]:
        """Run the first episode; returns what the orchestrator scheduled."""
        if self._started:
            raise ScenarioError(f"Orchestration '{self.name}' (instance '{self.instance_id}') "
                                "has already started; start() runs only once.", self.pending)
        if self._batch is not None:
            raise ScenarioError("start() cannot be part of a batch; call it before "
                                "'with sc.batch()'.")
        self._started = True
        return self._run([], [])

    def complete(self, target: Union[str, PendingTask], result: Any = None) -> List[PendingTask]:
        """Complete a pending activity (by name) or any completable PendingTask with ``result``.

        Args:
            target: an activity name (matched case-insensitively, as the host does) or
                a PendingTask of kind activity, http, sub_orchestration or entity_call.
            result: what the task returns to the orchestrator (JSON-serializable).
        """
        task = self._find(target, "complete", ("activity",))
        return self._complete_task(task, result)

    def fail(self, target: Union[str, PendingTask], error: Union[str, BaseException],
             details: Optional[str] = None) -> List[PendingTask]:
        """Fail a pending activity (by name) or any completable PendingTask.

        The orchestrator sees ``Exception(f"{reason} \\n {details}")`` as with the
        real host. For an activity the reason is ``"Activity function '<name>' failed:
        <error>"`` with two spaces after "failed:", and the details are the serialized
        .NET exception the host writes, unless ``details`` is given: an exception
        becomes the worker's ``"<Type>: <message>"`` (its traceback in the details), a
        string is taken as that message (docs/protocol.md, "Activity failures"). A
        sub-orchestration's is ``"Orchestrator function '<name>' failed: <error>"``.
        """
        task = self._find(target, "fail", ("activity",))
        return self._fail_task(task, error, details)

    def complete_sub_orchestration(self, target: Union[str, PendingTask],
                                   output: Any = None) -> List[PendingTask]:
        """Complete a pending sub-orchestration (by name, instance id or PendingTask)."""
        task = self._find(target, "complete_sub_orchestration", ("sub_orchestration",))
        return self._complete_task(task, output)

    def fail_sub_orchestration(self, target: Union[str, PendingTask], error: str,
                               details: Optional[str] = None) -> List[PendingTask]:
        """Fail a pending sub-orchestration (by name, instance id or PendingTask)."""
        task = self._find(target, "fail_sub_orchestration", ("sub_orchestration",))
        return self._fail_task(task, error, details)

    def complete_entity_call(self, target: Any, result: Any = None, *,
                             error: Optional[str] = None) -> List[PendingTask]:
        """Answer a pending ``call_entity`` with ``result``, or make it raise ``error``.

        Args:
            target: a PendingTask, a ``df.EntityId``, an entity id ``"@name@key"``
                or an entity name.
        """
        parts = _sdk.entity_id_parts(target)
        if parts is not None:
            target = p.entity_scheduler_id(*parts)
        task = self._find(target, "complete_entity_call", ("entity_call",))
        if error is not None:
            return self._fail_task(task, error, None)
        return self._complete_task(task, result)

    def raise_event(self, name: str, data: Any = None) -> List[PendingTask]:
        """Deliver an external event, as ``rt.raise_event`` does.

        An event nobody waits for yet is allowed: the host buffers it and the SDK
        hands it to the next ``wait_for_external_event`` with that name.
        """
        self._check_running("raise_event")
        text = w.dumps(data, f"The data of event '{name}'")
        if self._batch is not None:
            self._batch.events[name.lower()] += 1
        return self._deliver([w.event_raised(self.now, name, text)], [])

    def advance(self, delta: timedelta) -> List[PendingTask]:
        """Move virtual time forward, firing due timers in order (one episode per instant)."""
        self._check_running("advance")
        if delta < timedelta(0):
            raise ScenarioError(f"advance({delta!r}): virtual time never moves backwards; "
                                "pass a positive timedelta.", self.pending)
        return self._advance_to(self.now + delta)

    def fire_timers(self) -> List[PendingTask]:
        """Fire every pending timer, moving time to the latest of their fire times."""
        self._check_running("fire_timers")
        timers = [t for t in self.pending if t.kind == TaskKind.TIMER]
        if not timers:
            raise ScenarioError(f"fire_timers(): orchestration '{self.name}' has no pending "
                                "timer.", self.pending)
        latest = max(t.fire_at for t in timers if t.fire_at is not None)
        return self._advance_to(max(latest, self.now))

    @contextmanager
    def batch(self) -> Iterator[_Batch]:
        """Deliver every completion, event and timer of the block in one episode.

        ``b.scheduled`` holds the newly scheduled work after the block.
        """
        self._check_running("batch")
        if self._batch is not None:
            raise ScenarioError("batches do not nest: a batch is already open.", self.pending)
        batch = self._batch = _Batch()
        try:
            yield batch
        finally:
            self._batch = None
        if batch.messages:
            batch.scheduled = self._run(batch.messages, batch.seqs)

    # -- step helpers ------------------------------------------------------------------
    def _check_running(self, verb: str) -> None:
        if not self._started:
            raise ScenarioError(f"{verb}(): orchestration '{self.name}' has not started; "
                                "call sc.start() first.")
        if self._done:
            how = (f"failed with: {self._error}" if self._error is not None
                   else f"completed with output {_short(json.dumps(self._output, default=repr))}")
            raise ScenarioError(f"{verb}(): orchestration '{self.name}' (instance "
                                f"'{self.instance_id}') has already {how}. There is nothing "
                                "left to drive.")

    def _find(self, target: Any, verb: str, name_kinds: Tuple[str, ...]) -> PendingTask:
        self._check_running(verb)
        pending = self.pending
        if isinstance(target, PendingTask):
            if target.kind == TaskKind.TIMER:
                hint = " Timers fire with sc.advance(...) or sc.fire_timers()."
            elif target.kind == TaskKind.EXTERNAL_EVENT:
                hint = " Events arrive with sc.raise_event(name, data)."
            elif target.kind == TaskKind.ENTITY_SIGNAL:
                hint = " Signals are fire-and-forget: nothing waits for an answer."
            else:
                hint = ""
            if hint:
                raise ScenarioError(f"{verb}(): cannot complete or fail {target}.{hint}", pending)
            if target not in pending:
                where = (" It was already completed in this batch."
                         if self._in_batch(target) else
                         " It may have completed already, or belong to an earlier execution.")
                raise ScenarioError(f"{verb}(): {target} is not pending.{where}", pending)
            if target.kind not in name_kinds and verb not in ("complete", "fail"):
                raise ScenarioError(f"{verb}(): {target} is not a "
                                    f"{name_kinds[0].replace('_', '-')}; use sc.complete(task, "
                                    "...) or sc.fail(task, ...).", pending)
            return target
        if not isinstance(target, str):
            raise TypeError(f"{verb}() takes a name or a PendingTask, got {target!r}")
        key = target.lower()
        matches = [t for t in pending if t.kind in name_kinds and _matches(t, key)]
        label = {"activity": "activity", "sub_orchestration": "sub-orchestration",
                 "entity_call": "entity call"}[name_kinds[0]]
        if not matches:
            hint = ""
            others = [t for t in pending if t.kind in _COMPLETABLE and _matches(t, key)]
            if others:
                hint = (f" {others[0]} matches; pass that PendingTask (sc.{verb}(task, ...))"
                        " or use the method for its kind.")
            elif self._batch is not None and any(
                    _matches(t, key) for seq, t in self._ex.tasks.items()
                    if seq in self._batch.seqs):
                hint = " It was already completed in this batch."
            raise ScenarioError(f"{verb}('{target}'): no pending {label} matches "
                                f"'{target}'.{hint}", pending)
        if len(matches) > 1:
            listed = "\n".join(f"    {t}" for t in matches)
            raise ScenarioError(
                f"{verb}('{target}') is ambiguous: {len(matches)} pending {label} tasks match:\n"
                f"{listed}\nPass the PendingTask itself, e.g. sc.{verb}(sc.pending[i], ...).",
                pending)
        return matches[0]

    def _in_batch(self, task: PendingTask) -> bool:
        return (self._batch is not None and task.seq in self._batch.seqs
                and self._ex.tasks.get(task.seq) == task)

    def _complete_task(self, task: PendingTask, result: Any) -> List[PendingTask]:
        assert task.seq is not None
        now = self.now
        text = w.dumps(result, f"The result given for {task}")
        if task.kind == TaskKind.SUB_ORCHESTRATION:
            event = w.sub_completed(now, task.seq, text)
        elif task.kind == TaskKind.ENTITY_CALL:
            event = w.entity_response(now, self._ex.entity_requests[task.seq], text, False)
        else:
            event = w.task_completed(now, task.seq, text)
        return self._deliver([event], [task.seq])

    def _fail_task(self, task: PendingTask, error: Union[str, BaseException],
                   details: Optional[str]) -> List[PendingTask]:
        assert task.seq is not None
        now = self.now
        message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        if task.kind == TaskKind.SUB_ORCHESTRATION:
            event = w.sub_failed(now, task.seq, f"Orchestrator function '{task.name}' failed: "
                                 f"{message}", details)
        elif task.kind == TaskKind.ENTITY_CALL:
            event = w.entity_response(now, self._ex.entity_requests[task.seq],
                                      w.dumps(message, "the entity error"), True)
        elif task.kind == TaskKind.HTTP:
            event = w.task_failed(now, task.seq, message, details)
        else:
            reason, built = activity_failure(task.name or "", error)
            event = w.task_failed(now, task.seq, reason, built if details is None else details)
        return self._deliver([event], [task.seq])

    def _deliver(self, messages: List[Dict[str, Any]], seqs: List[int]) -> List[PendingTask]:
        if self._batch is not None:
            self._batch.messages.extend(messages)
            self._batch.seqs.extend(seqs)
            return []
        return self._run(messages, seqs)

    def _advance_to(self, target: datetime) -> List[PendingTask]:
        def due() -> List[PendingTask]:
            return [t for t in self.pending if t.kind == TaskKind.TIMER and t.fire_at is not None
                    and t.fire_at <= target]

        if self._batch is not None:
            # In a batch every timer due by ``target`` fires in the batch's one episode.
            self._clock.advance_to(target)
            timers = [_timer(t) for t in due()]
            return self._deliver([w.timer_fired(self.now, seq, at) for seq, at in timers],
                                 [seq for seq, _ in timers])
        out: List[PendingTask] = []
        ready = [_timer(t) for t in due()]
        while ready and not self._done:
            # One episode per instant, as the host fires together the timers due together;
            # timers the orchestrator creates meanwhile fire too if due by ``target``.
            instant = min(at for _, at in ready)
            self._clock.advance_to(instant)
            now_due = [(seq, at) for seq, at in ready if at <= self.now]
            out.extend(self._run([w.timer_fired(self.now, seq, at) for seq, at in now_due],
                                 [seq for seq, _ in now_due]))
            ready = [_timer(t) for t in due()]
        self._clock.advance_to(target)
        return out

    # -- episodes ----------------------------------------------------------------------
    def _run(self, messages: List[Dict[str, Any]], seqs: List[int]) -> List[PendingTask]:
        for seq in seqs:
            self._ex.tasks.pop(seq, None)
        return self._episode(messages)

    def _episode(self, messages: List[Dict[str, Any]]) -> List[PendingTask]:
        ex = self._ex
        now = self.now
        new = [w.orchestrator_started(now)]
        if not ex.started:
            ex.started = True
            new.append(w.execution_started(now, self.name, ex.input_text, self.instance_id,
                                           ex.execution_id))
        new.extend(messages)
        waits_before = Counter(t.name for t in _event_waits(ex.shim))
        base = len(ex.history)
        ex.history.extend(new)
        outcome = run_episode(ex, base, self._handle, instance_id=self.instance_id,
                              orchestrator=self.name, parent_instance_id=None,
                              timeout=self._episode_timeout,
                              raise_with="OrchestrationScenario(episode_timeout=...)")
        closing: List[Dict[str, Any]] = []
        end = outcome.end
        if end is EpisodeEnd.CRASHED:
            self._finish_failed(f"Orchestrator function '{self.name}' failed: {outcome.error}",
                                closing, base)
            return []
        if end is EpisodeEnd.DIVERGED:
            nd = outcome.divergence
            assert nd is not None
            error = _non_determinism(nd, self.name, self.instance_id, list(ex.history))
            self._divergence = Divergence(nd.event_index, nd.expected, nd.actual, nd.detail)
            self._finish_failed(ND_PREFIX + nd.detail, closing, base)  # as the host fails it
            raise error from None
        if outcome.custom_status is not None:
            self._custom_status = outcome.custom_status
        scheduled = self._schedule(list(outcome.slots), closing)
        if end is EpisodeEnd.FAILED:
            self._finish_failed(f"Orchestrator function '{self.name}' failed: {outcome.error}",
                                closing, base)
            return scheduled
        if end is EpisodeEnd.CONTINUED_AS_NEW:
            new_input = outcome.continue_as_new_input
            closing.append(dict(w.execution_completed(now, w.CONTINUED_AS_NEW, new_input),
                                EventId=ex.shim.next_seq))  # DTFx numbers it (scheduler.py)
            self._close(closing, base)
            self._previous.append(ex.history)
            self._continued.append(w.loads(new_input))
            self._ex = _Execution(self, new_input)
            return scheduled + self._episode([])
        if end is EpisodeEnd.COMPLETED:
            # (With an uncancelled timer DTFx keeps the instance running until it fires.)
            result_text = json.dumps(outcome.output)
            closing.append(dict(w.execution_completed(now, w.COMPLETED, result_text),
                                EventId=ex.shim.next_seq))
            self._done = True
            self._output = outcome.output
        self._close(closing, base)
        waits = Counter(waits_before)
        for wait in _event_waits(ex.shim):
            if waits[wait.name]:
                waits[wait.name] -= 1
            else:
                scheduled.append(wait)
        return scheduled

    def _schedule(self, slots: List[Slot], closing: List[Dict[str, Any]]) -> List[PendingTask]:
        ex = self._ex
        now = self.now
        out: List[PendingTask] = []
        for slot in slots:
            task = _slot_task(slot, ex.execution_id)
            a = slot.action
            if task.kind == TaskKind.ACTIVITY:
                closing.append(w.task_scheduled(now, slot.seq, task.name or "", a.get("input")))
            elif task.kind == TaskKind.HTTP:
                closing.append(w.task_scheduled(now, slot.seq, p.HTTP_ACTIVITY_NAME,
                                                json.dumps(a.get("httpRequest"))))
            elif task.kind == TaskKind.TIMER:
                assert slot.fire_at is not None
                closing.append(w.timer_created(now, slot.seq, slot.fire_at))
            elif task.kind == TaskKind.SUB_ORCHESTRATION:
                closing.append(w.sub_created(now, slot.seq, task.name or "",
                                             task.instance_id or "", a.get("input"),
                                             a.get("version")))
            else:
                request_id = w.entity_request_id(self.instance_id, ex.execution_id, slot.seq)
                if task.kind == TaskKind.ENTITY_CALL:
                    ex.entity_requests[slot.seq] = request_id
                    ex.shim.register_entity_request(slot, request_id)
                closing.append(w.entity_message_sent(now, slot.seq, a, self.instance_id,
                                                     ex.execution_id, request_id))
            if task.kind != TaskKind.ENTITY_SIGNAL and not (slot.node is not None and slot.node.done):
                ex.tasks[slot.seq] = task  # (a timer cancelled at creation is never awaited)
            out.append(task)
        return out

    def _finish_failed(self, error: str, closing: List[Dict[str, Any]], base: int) -> None:
        closing.append(dict(w.execution_completed(self.now, w.FAILED, error, error=error),
                            EventId=self._ex.shim.next_seq))
        self._close(closing, base)
        self._done = True
        self._error = error

    def _close(self, closing: List[Dict[str, Any]], base: int) -> None:
        close_episode(self._ex, base, closing, self.now)

    def __repr__(self) -> str:
        state = "done" if self._done else ("running" if self._started else "not started")
        return (f"<OrchestrationScenario {self.name} [{self.instance_id}] {state}, "
                f"{len(self.pending)} pending>")


def _matches(task: PendingTask, key: str) -> bool:
    if task.kind == TaskKind.ENTITY_CALL:
        entity = (task.instance_id or "").lower()
        return key == entity or (entity.count("@") >= 2 and key == entity.split("@")[1])
    if task.kind == TaskKind.SUB_ORCHESTRATION:
        return key == (task.name or "").lower() or key == (task.instance_id or "").lower()
    return key == (task.name or "").lower()


# ---------------------------------------------------------------- hand-written histories
@final
class HistoryBuilder:
    """Write an orchestration history in a few lines, shaped as the in-memory host records it.

    Each call describes one thing the orchestrator awaited, in order: the task
    is scheduled in the current episode, and its completion opens the next
    one. Sequence numbers, episodes (OrchestratorStarted/Completed) and
    timestamps follow the host's rules; time moves only with ``timer`` and
    ``event(after=...)``.

    ``build()`` without ``completed``/``failed`` ends with the last completion's
    episode still open: the history as the orchestrator receives it before
    deciding what to do next (what :func:`next_actions` asks about).

    Example::

        HistoryBuilder("my_orch", input=1).activity("a", result=2).timer(hours=1).build()
    """

    def __init__(self, orchestrator: str, input: Any = None, *,
                 instance_id: str = DEFAULT_INSTANCE_ID, execution_id: Optional[str] = None,
                 start_time: Optional[datetime] = None) -> None:
        self._name = orchestrator
        self._instance_id = instance_id
        self._execution_id = execution_id or w.entity_request_id(
            instance_id, "execution", 1).replace("-", "")
        self._clock = VirtualClock(start_time)
        self._seq = 0
        self._events: List[Dict[str, Any]] = []
        self._closing: List[Dict[str, Any]] = []
        self._finished = False
        now = self._clock.now
        self._events.append(w.orchestrator_started(now))
        self._events.append(w.execution_started(now, orchestrator,
                                                w.dumps(input, "the orchestration input"),
                                                instance_id, self._execution_id))

    def _next_seq(self) -> int:
        if self._finished:
            raise ScenarioError(f"HistoryBuilder('{self._name}'): the history already ends "
                                "with the orchestration's completion; nothing can follow it.")
        seq = self._seq
        self._seq += 1
        return seq

    def _cut(self, messages: List[Dict[str, Any]], at: Optional[datetime] = None) -> None:
        """Close the current episode and open the next one with ``messages``."""
        self._events.extend(self._closing)
        self._events.append(w.orchestrator_completed(self._clock.now))
        self._closing = []
        if at is not None:
            self._clock.advance_to(at)
        now = self._clock.now
        self._events.append(w.orchestrator_started(now))
        self._events.extend(dict(m, Timestamp=p.format_timestamp(now)) for m in messages)

    def activity(self, name: str, result: Any = None, *, input: Any = None,
                 error: Optional[str] = None, details: Optional[str] = None,
                 pending: bool = False) -> "HistoryBuilder":
        """The orchestrator called activity ``name``; it returned ``result`` or failed with ``error``.

        With ``pending=True`` it is only scheduled, in the current episode (a task
        still running, or one of several scheduled together).
        """
        seq = self._next_seq()
        now = self._clock.now
        self._closing.append(w.task_scheduled(now, seq, name, w.dumps(input, "input")))
        if pending:
            return self
        if error is not None:
            reason, built = activity_failure(name, error)
            done = w.task_failed(now, seq, reason, built if details is None else details)
        else:
            done = w.task_completed(now, seq, w.dumps(result, "result"))
        self._cut([done])
        return self

    def sub_orchestration(self, name: str, result: Any = None, *, input: Any = None,
                          instance_id: Optional[str] = None,
                          error: Optional[str] = None) -> "HistoryBuilder":
        """The orchestrator called sub-orchestrator ``name``; it returned ``result`` or failed."""
        seq = self._next_seq()
        now = self._clock.now
        child = instance_id or f"{self._execution_id}:{seq}"
        self._closing.append(w.sub_created(now, seq, name, child, w.dumps(input, "input"), None))
        if error is not None:
            done = w.sub_failed(now, seq, f"Orchestrator function '{name}' failed: {error}",
                                None)
        else:
            done = w.sub_completed(now, seq, w.dumps(result, "result"))
        self._cut([done])
        return self

    def timer(self, fire_at: Optional[datetime] = None, *, days: float = 0, hours: float = 0,
              minutes: float = 0, seconds: float = 0, pending: bool = False) -> "HistoryBuilder":
        """The orchestrator waited on a timer (at ``fire_at`` or after a delay); it fired.

        With ``pending=True`` the timer is only created, in the current episode
        (e.g. the deadline of a ``task_any`` that an event then wins).
        """
        seq = self._next_seq()
        now = self._clock.now
        if fire_at is None:
            fire_at = now + timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        self._closing.append(w.timer_created(now, seq, fire_at))
        if pending:
            return self
        self._cut([w.timer_fired(fire_at, seq, fire_at)], at=fire_at)
        return self

    def event(self, name: str, data: Any = None, *,
              after: Optional[timedelta] = None) -> "HistoryBuilder":
        """External event ``name`` arrived with ``data`` (``after`` a delay, if given)."""
        if self._finished:
            self._next_seq()  # raises
        at = self._clock.now + after if after is not None else None
        self._cut([w.event_raised(self._clock.now, name, w.dumps(data, "event data"))], at=at)
        return self

    def completed(self, output: Any = None) -> "HistoryBuilder":
        """The orchestrator returned ``output`` in the current episode."""
        seq = self._next_seq()  # ExecutionCompleted takes the next sequence number, as in DTFx
        self._closing.append(dict(w.execution_completed(self._clock.now, w.COMPLETED,
                                                        json.dumps(output)), EventId=seq))
        self._finish()
        return self

    def failed(self, error: str) -> "HistoryBuilder":
        """The orchestrator raised in the current episode; ``error`` is the host's failure text."""
        seq = self._next_seq()
        self._closing.append(dict(w.execution_completed(self._clock.now, w.FAILED, error,
                                                        error=error), EventId=seq))
        self._finish()
        return self

    def _finish(self) -> None:
        self._events.extend(self._closing)
        self._events.append(w.orchestrator_completed(self._clock.now))
        self._closing = []
        self._finished = True

    def build(self) -> InstanceHistory:
        """The history so far, every event marked played (as the host exports it).

        An episode that scheduled ``pending`` work is closed; one that only
        received completions is left open for the orchestrator's next decision.
        """
        events = list(self._events)
        if self._closing:
            events += self._closing + [w.orchestrator_completed(self._clock.now)]
        return InstanceHistory(orchestrator=self._name, instance_id=self._instance_id,
                               events=tuple(dict(e, IsPlayed=True) for e in events))


# ---------------------------------------------------------------- one-shot replay
HistoryLike = Union[InstanceHistory, Sequence[Union[HistoryEvent, Mapping[str, Any]]], str,
                    "os.PathLike[str]"]


def next_actions(orchestrator: Any, history: HistoryLike) -> List[PendingTask]:
    """What the orchestrator does next given ``history``, without running anything.

    Replays the history's last execution through the real SDK and the host's
    replay checks, and returns the work scheduled beyond the history, followed
    by the external events it waits for (events are never recorded as
    scheduled, so every awaited one is listed). An empty list means the
    orchestrator has nothing new to do: it finished, or waits only on work the
    history already scheduled.

    Args:
        orchestrator: any form ``OrchestrationScenario`` accepts.
        history: an InstanceHistory, a list of wire events or typed events, or the
            path of a history file.

    Raises:
        NonDeterminismError: the history no longer matches the code.
        ScenarioError: the orchestrator raised or crashed on this history.
    """
    handle, name = _resolve(orchestrator, None)
    if isinstance(history, (str, os.PathLike)):
        history = load_history(history)
    elif not isinstance(history, InstanceHistory):
        history = InstanceHistory.from_events(list(history))
    events = history.executions[-1] if history.events else ()
    wire = [e.to_wire() for e in events]
    started = next((e for e in wire if e["EventType"] == p.EXECUTION_STARTED), {})
    instance_id = (started.get("OrchestrationInstance") or {}).get("InstanceId") \
        or history.instance_id
    name = started.get("Name") or history.orchestrator or name
    outcome, execution = replay_events(handle, wire, instance_id=instance_id, orchestrator=name)
    if outcome.end is EpisodeEnd.CRASHED:
        raise ScenarioError(f"next_actions(): orchestrator '{name}' crashed on this history: "
                            f"{outcome.error}")
    if outcome.divergence is not None:
        raise _non_determinism(outcome.divergence, name, instance_id, wire) from None
    if outcome.error:
        raise ScenarioError(f"next_actions(): orchestrator '{name}' failed on this history: "
                            f"{outcome.error}")
    return [_slot_task(s, execution.execution_id) for s in outcome.slots] + \
        _event_waits(execution.shim)
