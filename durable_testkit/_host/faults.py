"""Fault injection: the faults themselves and the hooks the scheduler calls.

In Azure an activity runs *at least* once: the worker can die after the
activity's side effect and before its completion is checkpointed, a queue
message can be delivered twice, and an orchestrator episode can be lost before
its commit and run again. Each fault here plays one of those on the in-memory
host, for the executions its ``when`` selects, at most ``times`` times.

Activity faults are :class:`~durable_testkit._host.activities.ActivityInterceptor`
objects in the executor's interceptor list, so they wrap the one place an
activity runs. Episode and event faults are asked by the scheduler through
:class:`FaultHooks`; with nothing injected the scheduler skips them on an empty
list check, so a run without faults costs nothing extra.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable, Dict, List, Optional, Set, Tuple, Type, Union

from .. import _sdk
from .. import _wire as w
from ..errors import UnknownFunctionError
from ..status import OrchestrationRuntimeStatus as Status
from .activities import ActivityExecution, ActivityExecutor, ActivityOutcome
from .records import Instance, Message, WorkItem
from .registry import Registry

__all__ = ["FaultContext", "Fault", "ActivityFault", "CrashAfterActivity", "DuplicateActivity",
           "FailActivity", "DelayActivity", "CrashEpisode", "DuplicateEvent", "FaultHooks",
           "When", "EpisodeSnapshot"]

#: Which executions a fault selects: the n-th matching one (1-based), a predicate, or all.
When = Union[int, Callable[["FaultContext"], bool], None]


@dataclass(frozen=True)
class FaultContext:
    """What a ``when`` predicate sees about one execution, episode or event delivery.

    Attributes:
        kind: ``"activity"``, ``"episode"`` or ``"event"``.
        name: the activity, orchestrator or event name.
        input: the decoded input (an activity's input, an event's data; for an
            episode, the orchestration's input).
        input_text: the same as JSON text.
        instance_id / execution_id: the orchestration concerned.
        orchestrator: that orchestration's name.
        seq: the activity's TaskScheduled sequence number (None for episodes, events).
        attempt: the activity's attempt (retries and re-runs count up); 1 otherwise.
        execution: for an activity, which run of that activity name in the runtime
            this is; for an episode, which episode of the instance's current
            execution; for an event, which delivery of that event name to the instance.
    """

    kind: str
    name: str
    input: Any
    input_text: Optional[str]
    instance_id: str
    execution_id: Optional[str]
    orchestrator: str
    seq: Optional[int] = None
    attempt: int = 1
    execution: int = 1


class Fault:
    """A fault a test injects with ``rt.inject(fault)``; counts how often it fired.

    Attributes:
        kind: the fault's name, as ``rt.activity_calls`` reports it
            (``"crash_after_activity"``, ...).
        name: the activity, orchestrator or event it targets (None: any).
        when: which matching executions it selects (see :data:`When`).
        times: how many times it fires at most.
        fired: how many times it has fired.
        seen: how many matching executions it has seen.
    """

    kind = "fault"
    target = "activity"  # what ``name`` names: "activity", "orchestrator" or "event"

    def __init__(self, name: Optional[str], when: When, times: int) -> None:
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"faults.{self.kind}: the {self.target} name must be a non-empty "
                            f"string, not {name!r}")
        if isinstance(when, bool) or not (when is None or callable(when)
                                          or (isinstance(when, int) and when >= 1)):
            raise TypeError(f"faults.{self.kind}({name!r}, when={when!r}): when takes an int n "
                            "(the n-th matching execution, 1-based), a predicate taking a "
                            "FaultContext, or None (every matching execution)")
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise TypeError(f"faults.{self.kind}({name!r}, times={times!r}): times must be an "
                            "int >= 1")
        self.name = name
        self.when = when
        self.times = times
        self.fired = 0
        self.seen = 0

    def targets(self, name: Optional[str]) -> bool:
        return self.name is None or (name is not None and name.lower() == self.name.lower())

    def select(self, ctx: FaultContext) -> bool:
        """Whether this fault fires for ``ctx`` (a matching execution); counts it."""
        self.seen += 1
        if self.fired >= self.times:
            return False
        when = self.when
        if when is None:
            hit = True
        elif isinstance(when, int):
            hit = self.seen >= when
        else:
            hit = bool(when(ctx))
        if hit:
            self.fired += 1
        return hit

    def fresh(self) -> "Fault":
        """A copy that has not fired yet (a marker's fault is shared by its tests)."""
        twin = copy.copy(self)
        twin.fired = twin.seen = 0
        return twin

    def _arguments(self) -> List[str]:
        return [repr(self.name)] if self.name is not None else []

    def describe(self) -> str:
        """The Python expression that builds this fault: how to reproduce it."""
        args = self._arguments()
        if self.when is not None:
            when = self.when
            args.append(f"when={when!r}" if isinstance(when, int)
                        else f"when={getattr(when, '__name__', 'predicate')}")
        if self.times != 1:
            args.append(f"times={self.times}")
        return f"faults.{self.kind}({', '.join(args)})"

    def __repr__(self) -> str:
        return f"<{self.describe()}: fired {self.fired} of {self.times}>"


def _label(outcome: ActivityOutcome, kind: str) -> str:
    return kind if outcome.fault is None else f"{outcome.fault}, {kind}"


class ActivityFault(Fault):
    """A fault around activity executions (:class:`FaultHooks` is the interceptor)."""

    def applies_to(self, execution: ActivityExecution) -> bool:
        return self.targets(execution.name)

    def apply(self, execution: ActivityExecution,
              proceed: Callable[[], ActivityOutcome]) -> ActivityOutcome:
        raise NotImplementedError  # pragma: no cover - every subclass overrides it


class CrashAfterActivity(ActivityFault):
    """The activity runs, then the worker dies before its completion is checkpointed."""

    kind = "crash_after_activity"

    def apply(self, execution: ActivityExecution,
              proceed: Callable[[], ActivityOutcome]) -> ActivityOutcome:
        outcome = proceed()
        return outcome.with_(record=False, fault=_label(outcome, self.kind))


class DuplicateActivity(ActivityFault):
    """The work item is delivered twice: both run, the host keeps the first completion."""

    kind = "duplicate_activity"

    def applies_to(self, execution: ActivityExecution) -> bool:
        # The copy of a duplicated delivery is not itself duplicated again.
        return not execution.redelivery and self.targets(execution.name)

    def apply(self, execution: ActivityExecution,
              proceed: Callable[[], ActivityOutcome]) -> ActivityOutcome:
        outcome = proceed()
        return outcome.with_(duplicate=True, fault=_label(outcome, self.kind))


class FailActivity(ActivityFault):
    """The activity raises instead of running (a transient failure)."""

    kind = "fail_activity"

    def __init__(self, name: str, exception: Union[BaseException, Type[BaseException]],
                 when: When, times: int) -> None:
        if not (isinstance(exception, BaseException) or (
                isinstance(exception, type) and issubclass(exception, BaseException))):
            raise TypeError(f"faults.fail_activity({name!r}, {exception!r}): the second "
                            "argument is the exception to raise (an instance or a class)")
        super().__init__(name, when, times)
        self.exception = exception

    def _arguments(self) -> List[str]:
        exc = self.exception
        shown = exc.__name__ if isinstance(exc, type) else f"{type(exc).__name__}({str(exc)!r})"
        return super()._arguments() + [shown]

    def apply(self, execution: ActivityExecution,
              proceed: Callable[[], ActivityOutcome]) -> ActivityOutcome:
        exc = self.exception
        error = exc(f"injected by faults.fail_activity({self.name!r})") \
            if isinstance(exc, type) else exc
        try:
            value = _sdk.decode_activity_input(execution.input_text)
        except Exception:  # the function never ran; its input is only for the record
            value = execution.input_text
        return ActivityOutcome(value=value, exception=error, fault=self.kind)


class DelayActivity(ActivityFault):
    """The completion arrives ``by`` of virtual time later than the activity finished."""

    kind = "delay_activity"

    def __init__(self, name: str, by: timedelta, when: When, times: int) -> None:
        if not isinstance(by, timedelta) or by <= timedelta(0):
            raise TypeError(f"faults.delay_activity({name!r}, {by!r}): by must be a positive "
                            "timedelta")
        super().__init__(name, when, times)
        self.by = by

    def _arguments(self) -> List[str]:
        return super()._arguments() + [f"timedelta(seconds={self.by.total_seconds():g})"]

    def apply(self, execution: ActivityExecution,
              proceed: Callable[[], ActivityOutcome]) -> ActivityOutcome:
        outcome = proceed()
        return outcome.with_(duration=outcome.duration + self.by,
                             fault=_label(outcome, self.kind))


class CrashEpisode(Fault):
    """An episode runs, then the worker dies before the episode is committed."""

    kind = "crash_episode"
    target = "orchestrator"


class DuplicateEvent(Fault):
    """An external event is delivered twice."""

    kind = "duplicate_event"
    target = "event"


def _bind(fault: ActivityFault, execution: ActivityExecution,
          proceed: Callable[[], ActivityOutcome]) -> Callable[[], ActivityOutcome]:
    return lambda: fault.apply(execution, proceed)


def activity_context(execution: ActivityExecution) -> FaultContext:
    try:
        value = _sdk.decode_activity_input(execution.input_text)
    except Exception:
        value = execution.input_text
    return FaultContext("activity", execution.name, value, execution.input_text,
                        execution.instance_id, execution.execution_id, execution.orchestrator,
                        execution.seq, execution.attempt, execution.execution)


def _loads(text: Optional[str]) -> Any:
    return w.loads(text)


@dataclass
class EpisodeSnapshot:
    """An execution's state before an episode, to put back when the episode is lost."""

    history_length: int
    shim: Any
    last_actions: List[Any]
    started: bool
    status: Status


class FaultHooks:
    """The faults injected into one runtime, and what the scheduler asks them."""

    def __init__(self, executor: ActivityExecutor) -> None:
        self.executor = executor
        self.all: List[Fault] = []
        self.activity: List[ActivityFault] = []
        self.episode: List[CrashEpisode] = []
        self.event: List[DuplicateEvent] = []
        self.duplicates: Set[WorkItem] = set()  # second deliveries waiting in the ready queue
        self._deliveries: Dict[Tuple[str, str], int] = {}

    def add(self, fault: Fault, registry: Optional[Registry]) -> Fault:
        if not isinstance(fault, Fault):
            raise TypeError(f"rt.inject() takes a fault built by durable_testkit.faults "
                            f"(e.g. faults.crash_after_activity('name')), not {fault!r}")
        if fault in self.all:
            return fault
        name = fault.name
        if registry is not None and name is not None:
            if fault.target == "activity" and name.lower() not in registry.activities:
                raise UnknownFunctionError(name, "activity function", registry.activity_names())
            if fault.target == "orchestrator" and name.lower() not in registry.orchestrators:
                raise UnknownFunctionError(name, "orchestrator function",
                                           registry.orchestrator_names())
        self.all.append(fault)
        if isinstance(fault, ActivityFault):
            if not self.activity:
                self.executor.interceptors.append(self)
            self.activity.append(fault)
        elif isinstance(fault, CrashEpisode):
            self.episode.append(fault)
        elif isinstance(fault, DuplicateEvent):
            self.event.append(fault)
        return fault

    # -- activities (the hooks are the executor's interceptor) ----------------------------
    def intercept(self, execution: ActivityExecution,
                  proceed: Callable[[], ActivityOutcome]) -> ActivityOutcome:
        """Every activity fault counts the execution, whatever the others do; then the
        selected ones wrap it, the first injected outermost."""
        ctx: Optional[FaultContext] = None
        call = proceed
        for fault in reversed(self.activity):
            if not fault.applies_to(execution):
                continue
            if ctx is None:
                ctx = activity_context(execution)
            if fault.select(ctx):
                call = _bind(fault, execution, call)
        return call()

    # -- episodes ------------------------------------------------------------------------
    def crashes(self, inst: Instance) -> bool:
        """Whether a crash_episode fault takes the instance's next episode."""
        ctx: Optional[FaultContext] = None
        hit = False
        for fault in self.episode:
            if fault.fired >= fault.times or not fault.targets(inst.orchestrator):
                continue
            if ctx is None:
                ex = inst.execution
                ctx = FaultContext("episode", inst.orchestrator, _loads(ex.input_text),
                                   ex.input_text, inst.instance_id, ex.execution_id,
                                   inst.orchestrator, execution=ex.episodes + 1)
            hit = fault.select(ctx) or hit
        return hit

    @staticmethod
    def snapshot(inst: Instance) -> EpisodeSnapshot:
        ex = inst.execution
        # The replay shim is fed (mutated) by the episode: keep a copy, not a reference.
        return EpisodeSnapshot(len(ex.history), copy.deepcopy(ex.shim),
                               ex.last_actions, ex.started, inst.status)

    @staticmethod
    def restore(inst: Instance, snap: EpisodeSnapshot, messages: List[Any]) -> None:
        """Lose the episode: its history and actions go; its messages wait again, first."""
        ex = inst.execution
        del ex.history[snap.history_length:]
        ex.shim = snap.shim
        ex.last_actions = snap.last_actions
        ex.started = snap.started
        inst.status = snap.status
        inst.inbox[:0] = [Message(event, ex.execution_id) for event in messages]

    # -- events ---------------------------------------------------------------------------
    def event_copies(self, inst: Instance, name: str, input_text: Optional[str]) -> int:
        """How many extra copies of this external event the host delivers."""
        key = (inst.instance_id, name.lower())
        number = self._deliveries.get(key, 0) + 1
        self._deliveries[key] = number
        ctx = FaultContext("event", name, _loads(input_text), input_text, inst.instance_id,
                           inst.execution_id, inst.orchestrator, execution=number)
        return sum(1 for fault in self.event if fault.targets(name) and fault.select(ctx))

    # -- duplicate activity deliveries ------------------------------------------------------
    def redeliver(self, work: WorkItem) -> WorkItem:
        twin = WorkItem(work.kind, work.instance_id, work.slot, work.execution_id, work.attempt)
        self.duplicates.add(twin)
        return twin

    def is_duplicate(self, work: WorkItem) -> bool:
        if work in self.duplicates:
            self.duplicates.discard(work)
            return True
        return False
