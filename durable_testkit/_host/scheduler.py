"""The host's state machine: ready queue, timer heap, episodes, and what their outcomes do.

One :class:`Scheduler` per runtime. It owns the records (instances, entity
records, timers), the virtual clock and the policy: it is the only caller of
``policy.decide`` and records every decision it asks in :attr:`Scheduler.trace`.
A step takes one ready work item (an episode, an activity, an entity batch)
and runs it: episodes through :func:`~durable_testkit._host.episode.run_episode`,
activities through the :class:`~durable_testkit._host.activities.ActivityExecutor`,
entity batches through :mod:`~durable_testkit._host.entities`. Their outcomes
become history events and messages posted to instance inboxes.
"""
from __future__ import annotations

import heapq
import json
import random
import threading
import uuid
from collections import deque
from datetime import datetime, timedelta
import time
from contextlib import contextmanager
from typing import Any, Deque, Dict, Iterator, List, Optional, Tuple

from .. import _lazy
from .. import _payloads
from .. import _protocol as p
from .. import _wire as w
from .. import policy as _policy
from .._replay import Slot, SlotKind, UnknownCall, entity_name_of
from .._guard import Guard
from .._worker_failure import activity_failure, exception_details, worker_message
from .._guard import on_worker as on_guard_worker
from .._versions import (VERSION_MISMATCH_MESSAGE, VERSION_MISMATCH_TYPE, VersioningSettings,
                         version_problem)
from ..clock import VirtualClock
from ..errors import (DeterminismProbeError, DriveTimeout, HostLimitExceeded,
                      InvalidOperationError, LongRunningOrchestrator, OrchestrationStuck,
                      RunawayOrchestrator, SpinningOrchestrator, UnknownInstanceError)
from ..policy import Decision, DecisionKind, TraceEntry, WorkKind, WorkSubject
from ..status import ActivityCall, _new_activity_call
from ..status import OrchestrationRuntimeStatus as Status
from . import entities as _entities
from .activities import ActivityExecution, ActivityExecutor
from .faults import FaultHooks
from .probe import DeterminismProbe
from .episode import EpisodeEnd, EpisodeOutcome, ND_PREFIX, close_episode, crash_hint, run_episode
from .spin import SpinWatch
from .records import (DeliveryRecord, EntityRecord, Execution, Instance, Message, ParentRef,
                      TimerRecord, WorkItem)
from .diagnostics import input_hint
from .registry import ActivityRegistration, Registry, missing_function_text

# pytest hides this module's frames in failure reports (--full-trace shows them):
# what the user needs is the line of their own code.
__tracebackhide__ = True

__all__ = ["Scheduler", "HostLimits"]

# The kinds compared per work item and per slot, as module globals: on CPython 3.11
# reading a member off its Enum class costs ~0.12 µs, ten times a global's load, and a
# fan-out compares them tens of thousands of times.
_EPISODE, _ENTITY, _ACTIVITY, _HTTP = (WorkKind.EPISODE, WorkKind.ENTITY, WorkKind.ACTIVITY,
                                       WorkKind.HTTP)
_ACTIVITY_SLOT, _TIMER_SLOT, _SUB_SLOT, _EVENT_SLOT = (
    SlotKind.ACTIVITY, SlotKind.TIMER, SlotKind.SUB_ORCHESTRATION, SlotKind.EVENT)


#: Sub-orchestrations nested in each other (the root is depth 1).
DEFAULT_MAX_DEPTH = 100
#: Instances one runtime holds (finished ones count until purged).
DEFAULT_MAX_INSTANCES = 100_000
#: Events in one execution's history: the extension's 100,000 actions (maxOrchestrationActions)
#: each take a scheduled and a completed event, plus the episodes' own.
DEFAULT_MAX_HISTORY_EVENTS = 300_000


class HostLimits:
    """The guards against runaway code, as the runtime's constructor sets them."""

    __slots__ = ("max_episodes", "max_actions", "episode_timeout", "function_timeout",
                 "max_repeats", "drive_timeout", "max_depth", "max_instances",
                 "max_history_events")

    def __init__(self, max_episodes: int, max_actions: int, episode_timeout: float,
                 function_timeout: float, max_repeats: int = 100,
                 drive_timeout: Optional[float] = 300.0) -> None:
        self.max_episodes = max_episodes
        self.max_actions = max_actions
        self.episode_timeout = episode_timeout
        self.function_timeout = function_timeout
        # Identical episodes in a row at one virtual instant before it is called a spin.
        self.max_repeats = max_repeats
        # Real seconds one driving call (wait, advance, run_until_idle) may take; None: no bound.
        self.drive_timeout = drive_timeout
        # Sizes (issue 16): nested sub-orchestrations, instances per runtime, events per
        # execution. The runtime's constructor sets them; docs/runtime.md, "Limits".
        self.max_depth = DEFAULT_MAX_DEPTH
        self.max_instances = DEFAULT_MAX_INSTANCES
        self.max_history_events = DEFAULT_MAX_HISTORY_EVENTS


class Scheduler:
    """The in-memory host's core (see the module docstring)."""

    def __init__(self, clock: VirtualClock, policy: _policy.SchedulingPolicy,
                 registry: Registry, limits: HostLimits, seed: int) -> None:
        self.clock = clock
        self.policy = policy
        # The host default always answers 0: skip building decisions nobody reads.
        self.default_policy = type(policy) is _policy.HostDefaultPolicy
        # The fault decisions (duplicate, crash, delay) are asked only of a policy that opts
        # in, so existing policies see the decisions they always saw, in the same order.
        wants = None if self.default_policy else getattr(policy, "wants", None)
        self.asks_duplicate = bool(wants and wants(DecisionKind.DUPLICATE_ACTIVITY))
        self.asks_crash = bool(wants and wants(DecisionKind.CRASH_EPISODE))
        self.asks_delay = bool(wants and wants(DecisionKind.DELAY_ACTIVITY))
        # A policy bound to the caller's thread (hypothesis draws from thread-local state)
        # keeps drives there; each user call still runs guarded on a worker.
        self.policy_on_caller = bool(getattr(policy, "thread_bound", False))
        # InMemoryRuntime(determinism_probe=True) sets it; None costs one check an episode.
        self.probe: Optional[DeterminismProbe] = None
        self.registry = registry
        self.limits = limits
        self.executor = ActivityExecutor(limits.function_timeout)
        # Runs user code off the caller's thread under the wall-clock limits (_guard.py).
        self.guard = Guard()
        # What payloads may rebuild while this host runs user code (_payloads.py).
        self.payloads = _payloads.for_registry(registry)
        self.executor.guard = self.guard
        self.faults = FaultHooks(self.executor)  # injected faults (rt.inject)
        self.lock = threading.RLock()
        self.instances: Dict[str, Instance] = {}
        self.entity_records: Dict[str, EntityRecord] = {}
        self.entity_batch_size = _entities.DEFAULT_ENTITY_BATCH_SIZE
        self.ready: Deque[WorkItem] = deque()
        self.timers: List[TimerRecord] = []
        # Completions of activities that take virtual time, due after their duration.
        self.deliveries: List[DeliveryRecord] = []
        self.trace: List[TraceEntry] = []
        self.activity_calls: List[ActivityCall] = []
        self.runs: Dict[str, int] = {}  # executions per function name (lower-cased)
        self.sdk_seconds = 0.0
        self.activity_seconds = 0.0
        self.episodes = 0
        self._timer_counter = 0
        # What each instance schedules at the current instant (a poll that never moves time).
        self._spins = SpinWatch()
        # The outermost driving call's real-time deadline (see driving()).
        self.drive_deadline: Optional[float] = None
        self._drive: Tuple[str, int, int, datetime] = ("", 0, 0, clock.now)
        self._rng = random.Random(seed)
        self._stamp_at: Optional[datetime] = None
        self._stamp_text = ""
        # host.json versioning (defaultVersion and the match/failure strategies); None: off.
        self.versioning: Optional[VersioningSettings] = None
        self.rejected: Dict[str, str] = {}  # instance id -> why its work items are abandoned
        # What each execution's replay asks about every call (_replay.ReplayShim._ignored).
        self.unknown_call: UnknownCall = _unknown_call(registry)

    # -- small services --------------------------------------------------------------
    @property
    def now(self) -> datetime:
        return self.clock.now

    @property
    def function_timeout(self) -> Optional[float]:
        return self.limits.function_timeout

    @property
    def virtual_time(self) -> bool:
        """Whether user functions (activities, entity operations) run on the virtual clock."""
        return self.executor.virtual_time

    def stamp(self) -> str:
        """The clock's wire timestamp, formatted once per virtual instant."""
        now = self.clock.now
        if self._stamp_at != now:
            self._stamp_at, self._stamp_text = now, p.format_timestamp(now)
        return self._stamp_text

    def new_id(self) -> str:
        return uuid.UUID(int=self._rng.getrandbits(128), version=4).hex

    def instance(self, instance_id: str) -> Instance:
        inst = self.instances.get(instance_id)
        if inst is None:
            raise UnknownInstanceError(instance_id, list(self.instances))
        return inst

    def decide(self, decision: Decision) -> int:
        """Ask the policy, and record the decision in the trace."""
        choice = self.policy.decide(decision)
        self.trace.append(TraceEntry(str(decision.kind), choice, len(decision.options),
                                     decision.options[choice] if 0 <= choice < len(
                                         decision.options) else ""))
        return choice

    # -- instances -------------------------------------------------------------------
    def create_instance(self, orchestrator: str, input_text: Optional[str],
                        instance_id: Optional[str], parent: Optional[ParentRef],
                        version: Optional[str] = None) -> str:
        orch = self.registry.orchestrator(orchestrator)
        if parent is None and len(self.instances) >= self.limits.max_instances \
                and instance_id not in self.instances:
            raise HostLimitExceeded(
                "the instances of this runtime", self.limits.max_instances,
                len(self.instances) + 1, f"Starting orchestrator '{orch.name}'",
                "InMemoryRuntime(max_instances=...)",
                "Finished instances count until purged (rt.purge(id)).")
        if instance_id is None:
            instance_id = self.new_id()
        elif not isinstance(instance_id, str) or not instance_id:
            raise InvalidOperationError(f"instance_id must be a non-empty string, got {instance_id!r}")
        elif instance_id.startswith("@"):
            raise InvalidOperationError(
                f"Instance ID '{instance_id}' starts with '@', which is reserved for entities.")
        existing = self.instances.get(instance_id)
        if existing is not None and not existing.terminal:
            refused = InvalidOperationError(
                f"An orchestration with instance id '{instance_id}' already exists and is "
                f"{existing.status.value}. Instance ids must be unique among running instances; "
                "wait for it, terminate it, or use another id.")
            refused.existing_status = existing.status.value
            raise refused
        if version is None and self.versioning is not None:
            version = self.versioning.default_version  # ext: new instances get defaultVersion
        execution = Execution(instance_id, self.new_id(), orch.name, input_text,
                              unknown_call=self.unknown_call,
                              parent_instance_id=parent.instance_id if parent else None)
        inst = Instance(instance_id, orch.name, orch.handle, execution, parent, version,
                        self.clock.now)
        self.instances[instance_id] = inst
        self.enqueue_episode(inst)
        return instance_id

    def deliver_event(self, inst: Instance, event_name: str, input_text: Optional[str]) -> None:
        if inst.terminal:
            return  # the host drops events for finished instances
        event = w.event_raised(self.clock.now, event_name, input_text)
        self.post(inst, event, None)
        if self.faults.event:  # duplicate_event: the same message arrives again
            for _ in range(self.faults.event_copies(inst, event_name, input_text)):
                self.post(inst, dict(event), None)

    def terminate(self, inst: Instance, reason: str) -> None:
        if inst.terminal:  # ext: DurableClient.TerminateAsync (IsOrchestrationRunning)
            raise InvalidOperationError(lifecycle_refusal("terminate", inst))
        # DTFx: the terminate message is one more event of an episode (ExecutionStarted
        # first if the instance had not started); TaskOrchestrationContext's
        # HandleExecutionTerminatedEvent completes it (CompleteOrchestration(reason, null,
        # Terminated)), so an ExecutionCompleted numbered like any completion follows.
        events: List[Dict[str, Any]] = []
        ex = inst.execution
        if not ex.started:
            ex.started = True
            events.append(self._execution_started(inst, self.stamp()))
        events.append(w.execution_terminated(self.clock.now, reason))
        events.append(_numbered(inst, w.execution_completed(self.clock.now, w.TERMINATED,
                                                            reason)))
        self._append_episode(inst, events)
        self._finish(inst, Status.Terminated, output=reason, result_text=json.dumps(reason))

    def suspend(self, inst: Instance, reason: str) -> None:
        if inst.terminal or inst.suspended:  # ext: DurableClient.SuspendAsync
            raise InvalidOperationError(lifecycle_refusal("suspend", inst))
        inst.suspended = True
        inst.status = Status.Suspended
        self._append_episode(inst, [w.execution_suspended(self.clock.now, reason)])

    def resume(self, inst: Instance, reason: str) -> None:
        if not inst.suspended or inst.terminal:  # ext: DurableClient.ResumeAsync
            raise InvalidOperationError(lifecycle_refusal("resume", inst))
        inst.suspended = False
        inst.status = Status.Running if inst.execution.started else Status.Pending
        self._append_episode(inst, [w.execution_resumed(self.clock.now, reason)])
        if inst.inbox or not inst.execution.started:
            self.enqueue_episode(inst)

    # -- the ready queue ---------------------------------------------------------------
    def enqueue_episode(self, inst: Instance) -> None:
        if not inst.queued and not inst.suspended and not inst.terminal:
            inst.queued = True
            self.ready.append(WorkItem(WorkKind.EPISODE, inst.instance_id))

    def enqueue_entity(self, scheduler_id: str) -> None:
        self.ready.append(WorkItem(WorkKind.ENTITY, scheduler_id))

    def post(self, inst: Instance, event: Dict[str, Any], execution_id: Optional[str]) -> None:
        """Deliver a message to an instance's inbox, to be processed in its next episode."""
        inst.inbox.append(Message(event, execution_id))
        inst.updated = self.clock.now
        self.enqueue_episode(inst)

    def respond(self, instance_id: str, execution_id: str, event: Dict[str, Any]) -> None:
        inst = self.instances.get(instance_id)
        if inst is not None and not inst.terminal:
            self.post(inst, event, execution_id)

    def _handed_over(self) -> bool:
        """Whether a drive must move to a guard worker (user code may block forever)."""
        limits = self.limits
        return bool((limits.episode_timeout or 0) > 0 or (limits.function_timeout or 0) > 0) \
            and not on_guard_worker() and not self.policy_on_caller

    @_payloads.scoped
    def step(self) -> None:
        """Run one ready work item (the policy picks which)."""
        if self._handed_over():
            return self.guard.drive(self.step)
        ready = self.ready
        index = 0
        if len(ready) > 1 and not self.default_policy:
            index = self.decide(Decision(
                DecisionKind.NEXT_WORK, tuple(item.label() for item in ready),
                candidates=tuple(self._subject(item) for item in ready)))
        if index == 0:
            work = ready.popleft()
        else:
            work = ready[index]
            del ready[index]
        kind = work.kind
        if kind is _EPISODE:
            inst = self.instances.get(work.instance_id)
            if inst is not None:
                inst.queued = False
                self._episode(inst)
        elif kind is _ENTITY:
            _entities.run_entity_batch(self, work.instance_id)
        elif kind is _ACTIVITY:
            self._run_activity(work)
            if self.default_policy:
                # FIFO with nothing to decide: the activities queued right behind it would
                # be the next steps anyway (running one only appends behind them), so run
                # them here and save a step's dispatch each, a fan-out's thousands.
                while ready and ready[0].kind is _ACTIVITY:
                    self._run_activity(ready.popleft())
        elif kind is _HTTP:
            self._run_http(work)
        else:  # pragma: no cover - exhaustive over WorkKind
            raise AssertionError(kind)

    def _subject(self, item: WorkItem) -> WorkSubject:
        if item.kind is WorkKind.EPISODE:
            inst = self.instances.get(item.instance_id)
            return item.subject(inst.orchestrator if inst else None,
                                inst.execution.episodes + 1 if inst else 1)
        if item.kind is WorkKind.ENTITY:
            rec = self.entity_records.get(item.instance_id)
            return item.subject(rec.name if rec else None, (rec.operations if rec else 0) + 1)
        name = item.slot.name if item.slot is not None else None
        return item.subject(name, self.runs.get((name or "").lower(), 0) + 1)

    # -- timers ----------------------------------------------------------------------------
    def next_timer(self) -> Optional[datetime]:
        """The next instant something is due: a timer, or an activity's completion."""
        timers, deliveries = self.timers, self.deliveries
        if not deliveries:
            return timers[0].fire_at if timers else None
        if not timers:
            return deliveries[0].due
        return min(timers[0].fire_at, deliveries[0].due)

    def fire_due(self, instant: datetime) -> None:
        """Move the clock to ``instant`` and deliver every timer and completion due by then."""
        self.clock.advance_to(instant)
        timers, deliveries = self.timers, self.deliveries
        while timers and timers[0].fire_at <= instant:
            if deliveries and (deliveries[0].due, deliveries[0].order) < (
                    timers[0].fire_at, timers[0].order):
                self._deliver(heapq.heappop(deliveries))
                continue
            timer = heapq.heappop(timers)
            inst = self.instances.get(timer.instance_id)
            if inst is None or inst.terminal or inst.execution_id != timer.execution_id:
                continue  # the host drops timers of finished executions
            self.post(inst, w.timer_fired(instant, timer.seq, timer.fire_text),
                      timer.execution_id)
        while deliveries and deliveries[0].due <= instant:
            self._deliver(heapq.heappop(deliveries))

    def _deliver(self, record: DeliveryRecord) -> None:
        if record.work is not None:  # a work item back on its queue: it runs whatever happened
            self.ready.append(record.work)
            return
        inst = self.instances.get(record.instance_id)
        if inst is not None and not inst.terminal and record.event is not None:
            self.post(inst, record.event, record.execution_id)

    @_payloads.scoped
    def advance_to(self, target: datetime) -> None:
        """Run ready work, firing timers and delayed completions in time order up to target."""
        self.run_until_idle()
        due = self.next_timer()
        while due is not None and due <= target:
            self.fire_due(due)
            self.run_until_idle()
            due = self.next_timer()
        self.clock.advance_to(target)

    def run_until_idle(self) -> None:
        if self._handed_over():
            return self.guard.drive(self.run_until_idle)
        try:
            while self.ready:
                self.step()
        except _STOPS as stop:
            self._probe_before(stop)
            raise
        if self.probe is not None and self.probe.pending:
            self.probe.flush()

    def _probe_before(self, stop: BaseException) -> None:
        """Let the probe speak first: code that is not deterministic may be why it stopped."""
        if self.probe is not None and self.probe.pending:
            try:
                self.probe.flush()
            except DeterminismProbeError as found:
                raise found from stop

    @_payloads.scoped
    def wait(self, instance_id: str) -> Instance:
        """Run, skipping virtual time to each next timer, until the instance is terminal."""
        if self._handed_over():
            return self.guard.drive(self.wait, instance_id)
        try:
            return self._wait(instance_id)
        except _STOPS as stop:
            self._probe_before(stop)
            raise

    def _wait(self, instance_id: str) -> Instance:
        inst = self.instance(instance_id)
        while True:
            inst = self.instances.get(instance_id, inst)
            if inst.terminal:
                if self.probe is not None and self.probe.pending:
                    self.probe.flush()
                return inst
            if self.ready:
                self.step()
                continue
            due = self.next_timer()
            if due is not None:
                self.fire_due(due)
                continue
            if self.probe is not None and self.probe.pending:
                self.probe.flush()  # code that is not deterministic may be why it is stuck
            raise OrchestrationStuck(instance_id, inst.orchestrator, self.waiting_for(inst))

    def waiting_for(self, inst: Instance) -> List[str]:
        if inst.suspended:
            return [f"resume: the instance is suspended (rt.resume('{inst.instance_id}'))"]
        refused = self.rejected.get(inst.instance_id)
        if refused is not None:
            return [f"a worker that may run it: {refused}, and versionFailureStrategy Reject "
                    "abandons its work items, leaving it as it is until a worker with a "
                    "matching version picks it up"]
        waits = inst.execution.shim.waiting_for()
        if not waits and inst.status == Status.Pending:
            waits = ["its first episode"]
        return waits or ["nothing the host can see (the orchestrator yielded without "
                         "scheduling work)"]

    # -- episodes --------------------------------------------------------------------------
    def _episode(self, inst: Instance) -> None:
        if inst.terminal or inst.suspended:
            return
        if self.versioning is not None and self._version_refused(inst):
            return
        messages: List[Dict[str, Any]] = []
        if inst.inbox:
            batch = inst.inbox
            count = len(batch)
            if count > 1 and not self.default_policy:
                choice = self.decide(Decision(
                    DecisionKind.BATCH,
                    tuple(f"deliver {count - i} of {count}" for i in range(count)),
                    inst.instance_id,
                    WorkSubject(WorkKind.EPISODE, inst.orchestrator, inst.instance_id,
                                execution=inst.execution.episodes + 1)))
                count -= choice
            taken, inst.inbox = batch[:count], batch[count:]
            current = inst.execution_id
            for message in taken:
                if message.execution_id is not None and message.execution_id != current:
                    continue  # a completion for an execution that continued as new
                messages.append(message.event)
            if inst.inbox:
                self.enqueue_episode(inst)
        if inst.execution.started and not messages:
            return
        self._run_episode(inst, messages)

    def _version_refused(self, inst: Instance) -> bool:
        """dtfx: the dispatcher checks each work item's version before running any code."""
        problem = version_problem(self.versioning, inst.version)
        if problem is None:
            self.rejected.pop(inst.instance_id, None)
            return False
        assert self.versioning is not None
        if self.versioning.failure_strategy == "Reject":
            # Abandoned: the messages stay queued; nothing runs until the settings allow it.
            self.rejected[inst.instance_id] = problem
            return True
        # Fail: complete the instance as Failed without invoking the orchestrator.
        current = inst.execution_id
        messages = [m.event for m in inst.inbox
                    if m.execution_id is None or m.execution_id == current]
        inst.inbox = []
        ex = inst.execution
        stamp = self.stamp()
        new: List[Dict[str, Any]] = [w.orchestrator_started(stamp)]
        if not ex.started:
            ex.started = True
            new.append(self._execution_started(inst, stamp))
        new.extend(messages)
        base = len(ex.history)
        ex.history.extend(new)
        closing: List[Dict[str, Any]] = []
        self._fail(inst, VERSION_MISMATCH_MESSAGE, closing)
        closing[-1]["FailureDetails"]["ErrorType"] = VERSION_MISMATCH_TYPE
        self._close(inst, base, closing)
        return True

    def _run_episode(self, inst: Instance, messages: List[Dict[str, Any]]) -> None:
        ex = inst.execution
        # crash_episode: the episode runs, then its commit is lost (see _host/faults.py).
        lost = self.faults.snapshot(inst) if self.faults.episode and self.faults.crashes(
            inst) else None
        if lost is None and self.asks_crash and self._decide_crash(inst):
            lost = self.faults.snapshot(inst)
        stamp = self.stamp()
        new: List[Dict[str, Any]] = [w.orchestrator_started(stamp)]
        if not ex.started:
            ex.started = True
            inst.status = Status.Running
            new.append(self._execution_started(inst, stamp))
        new.extend(messages)
        ex.episodes += 1
        self.episodes += 1
        if self.drive_deadline is not None and not self.episodes & 15:
            self._check_drive()
        if ex.episodes > self.limits.max_episodes:
            raise self._episode_limit(inst)
        base = len(ex.history)
        ex.history.extend(new)
        if len(ex.history) > self.limits.max_history_events:
            self._refuse(inst, HostLimitExceeded(
                "the history of one execution", self.limits.max_history_events,
                len(ex.history), _where(inst), "InMemoryRuntime(max_history_events=...)",
                "Every episode replays the whole history, so in Azure such an orchestration "
                "slows to a crawl long before storage gives up; call context.continue_as_new(...) "
                "now and then to start a fresh history."), base)
        outcome = run_episode(ex, base, inst.handle, instance_id=inst.instance_id,
                              orchestrator=inst.orchestrator,
                              parent_instance_id=inst.parent.instance_id if inst.parent else None,
                              timeout=self.limits.episode_timeout,
                              raise_with="InMemoryRuntime(episode_timeout=...)",
                              guard=self.guard, max_actions=self.limits.max_actions)
        self.sdk_seconds += outcome.sdk_seconds
        if lost is not None:
            # The worker died before the commit: DTFx delivers the same messages again.
            self.faults.restore(inst, lost, messages)
            self.enqueue_episode(inst)
            return
        if self.probe is not None:
            self.probe.episode(inst, base, outcome)  # before _apply closes the episode
        self._apply(inst, outcome, base, stamp)
        if self.probe is not None and len(self.probe.pending) >= _PROBE_BATCH:
            self.probe.flush()  # a long drive is checked as it goes, not only at its end
        if outcome.slots or outcome.end is EpisodeEnd.CONTINUED_AS_NEW:
            self._watch_repeats(inst, outcome, messages)

    def _watch_repeats(self, inst: Instance, outcome: EpisodeOutcome,
                       messages: List[Dict[str, Any]]) -> None:
        """Stop a poll that never lets time move, long before max_episodes (which grows slow)."""
        spin = self._spins.observe(inst.instance_id, self.clock.now, outcome.slots,
                                   outcome.end is EpisodeEnd.CONTINUED_AS_NEW, messages,
                                   self.limits.max_repeats)
        if spin is not None:
            raise SpinningOrchestrator(inst.instance_id, inst.orchestrator, spin.episodes,
                                       p.format_timestamp(spin.instant),
                                       [_describe(s) for s in spin.slots],
                                       inputs_change=spin.inputs_change)

    @contextmanager
    def driving(self, call: str) -> Iterator[None]:
        """Bound the outermost driving call (``rt.wait(...)``...) in real time."""
        limit = self.limits.drive_timeout
        if self.drive_deadline is not None or not limit:
            yield
            return
        self.drive_deadline = time.monotonic() + limit
        self._drive = (call, self.episodes, len(self.activity_calls), self.clock.now)
        try:
            yield
        finally:
            self.drive_deadline = None

    def _check_drive(self) -> None:
        if self.drive_deadline is None or time.monotonic() < self.drive_deadline:
            return
        call, episodes, activities, since = self._drive
        self.drive_deadline = None
        busiest = sorted(self.instances.values(), key=lambda i: -i.execution.episodes)[:3]
        raise DriveTimeout(
            call, self.limits.drive_timeout or 0,
            self.episodes - episodes + len(self.activity_calls) - activities,
            self.episodes - episodes, p.format_timestamp(since), p.format_timestamp(self.clock.now),
            [f"'{i.orchestrator}' [{i.instance_id}] {i.status.value}: "
             f"{i.execution.episodes} episodes, {len(i.execution.history)} history events, "
             f"waiting for {', '.join(self.waiting_for(i))}" for i in busiest])

    def _decide_crash(self, inst: Instance) -> bool:
        return self.decide(Decision(
            DecisionKind.CRASH_EPISODE,
            ("commit the episode", "crash the worker before the commit: the episode runs "
             "again on the same messages"), inst.instance_id,
            WorkSubject(WorkKind.EPISODE, inst.orchestrator, inst.instance_id,
                        execution=inst.execution.episodes + 1))) == 1

    def _apply(self, inst: Instance, outcome: EpisodeOutcome, base: int, stamp: str) -> None:
        """Turn an episode's outcome into history, work and state, as the host does."""
        closing: List[Dict[str, Any]] = []
        end = outcome.end
        name = inst.orchestrator
        if end is EpisodeEnd.CRASHED:
            error = outcome.error or ""
            self._fail(inst, f"Orchestrator function '{name}' failed: {error}"
                       + crash_hint(error), closing, outcome.stack)
            self._close(inst, base, closing)
            return
        if end is EpisodeEnd.DIVERGED:
            nd = outcome.divergence
            assert nd is not None
            inst.failure_details = nd
            self._fail(inst, ND_PREFIX + nd.detail, closing)
            self._close(inst, base, closing)
            return
        # dtfx: each episode's status is what the orchestrator set in it (the SDK leaves out a
        # falsy one), so a status not set again is cleared; only the first episode of an
        # execution that continued as new keeps the one before (carryOverStatus).
        if outcome.custom_status is not None or not inst.carry_status:
            inst.custom_status = outcome.custom_status
        inst.carry_status = False
        if len(outcome.actions) > self.limits.max_actions:
            self._fail(inst, f"Orchestrator function '{name}' failed: the orchestration "
                       f"produced {len(outcome.actions)} actions, more than the maximum of "
                       f"{self.limits.max_actions}.", closing)
            self._close(inst, base, closing)
            return
        slots = list(outcome.slots)
        problem = self._check_functions(slots)
        if problem is not None:
            self._fail(inst, f"Orchestrator function '{name}' failed: {problem}", closing)
            self._close(inst, base, closing)
            return
        refused = self._check_children(inst, slots)
        if refused is not None:
            self._refuse(inst, refused, base, closing)
        scheduled = self._schedule(inst, slots, closing)
        if end is EpisodeEnd.FAILED:
            self._fail(inst, f"Orchestrator function '{name}' failed: {outcome.error}"
                       + input_hint(outcome.error or "", outcome.stack or "", name),
                       closing, outcome.stack)
        elif end is EpisodeEnd.CONTINUED_AS_NEW:
            self._continue_as_new(inst, outcome.continue_as_new_input, closing, base)
            return
        elif end is EpisodeEnd.COMPLETED:
            result_text = json.dumps(outcome.output)
            closing.append(_numbered(inst, w.execution_completed(stamp, w.COMPLETED,
                                                                 result_text)))
            self._finish(inst, Status.Completed, output=outcome.output, result_text=result_text)
        self._close(inst, base, closing)
        self.ready.extend(scheduled)

    # -- size limits (issue 16): a recursion or runaway loop fails fast, with a message ---------
    def _episode_limit(self, inst: Instance) -> RunawayOrchestrator:
        """max_episodes was hit: say whether virtual time moved (a long loop) or not (a spin)."""
        limit = self.limits.max_episodes
        first = inst.execution.history[0].get("Timestamp") if inst.execution.history else None
        span = timedelta(0)
        if isinstance(first, str):
            try:
                span = self.clock.now - p.parse_timestamp(first)
            except ValueError:
                pass
        if span > timedelta(0):
            return LongRunningOrchestrator(inst.instance_id, inst.orchestrator, limit, str(span))
        return RunawayOrchestrator(inst.instance_id, inst.orchestrator, limit,
                                   "episodes in one execution", "InMemoryRuntime(max_episodes=...)")

    def _check_children(self, inst: Instance, slots: List[Slot]) -> Optional[HostLimitExceeded]:
        """Sub-orchestration depth and the runtime's instance count, before anything starts."""
        children = sum(1 for s in slots if s.kind is _SUB_SLOT)
        if not children:
            return None
        limits = self.limits
        depth, ref = 2, inst.parent  # the children's depth: the root is 1
        while ref is not None and depth <= limits.max_depth:
            depth += 1
            parent = self.instances.get(ref.instance_id)
            ref = parent.parent if parent is not None else None
        if depth > limits.max_depth:
            return HostLimitExceeded(
                "the depth of nested sub-orchestrations", limits.max_depth, depth, _where(inst),
                "InMemoryRuntime(max_depth=...)",
                "A sub-orchestration that starts itself (or a cycle of them) without a base "
                "case recurses forever; in Azure it would fill the task hub with instances.")
        live = len(self.instances) + children
        if live > limits.max_instances:
            return HostLimitExceeded(
                "the instances of this runtime", limits.max_instances, live, _where(inst),
                "InMemoryRuntime(max_instances=...)",
                "Finished instances count until purged (rt.purge(id)); a fan-out of "
                "sub-orchestrations this wide, or one that recurses, is the usual cause.")
        return None

    def _refuse(self, inst: Instance, error: HostLimitExceeded, base: int,
                closing: Optional[List[Dict[str, Any]]] = None) -> None:
        """Fail the instance with the limit's message, then raise it to the driving call."""
        closing = [] if closing is None else closing
        self._fail(inst, f"Orchestrator function '{inst.orchestrator}' failed: {error}", closing)
        self._close(inst, base, closing)
        raise error

    def _execution_started(self, inst: Instance, stamp: str) -> Dict[str, Any]:
        parent_info = None
        if inst.parent is not None:
            ref = inst.parent
            parent = self.instances.get(ref.instance_id)
            parent_info = {
                "Name": parent.orchestrator if parent else None, "TaskScheduleId": ref.seq,
                "OrchestrationInstance": {"InstanceId": ref.instance_id,
                                          "ExecutionId": ref.execution_id}}
        return w.execution_started(stamp, inst.orchestrator, inst.execution.input_text,
                                   inst.instance_id, inst.execution_id, inst.version,
                                   parent_info)

    def _check_functions(self, slots: List[Slot]) -> Optional[str]:
        """Why the episode's new work cannot be scheduled, if it cannot.

        Calls to unknown functions never get here (the replay ignores them, as the
        extension does, asking the same ``unknown_call``); what does is a signal to an
        unknown entity, which fails the orchestration (ext: ``SignalEntity`` waits on
        the name check and rethrows, outside the shim's try), and a retry's later
        attempt of a function that was unregistered since its first.
        """
        for slot in slots:
            kind = slot.kind
            if kind is _TIMER_SLOT or slot.name == p.HTTP_ACTIVITY_NAME:
                continue
            name = entity_name_of(slot.action) if kind is _EVENT_SLOT else slot.name
            problem = self.unknown_call(kind, name)
            if problem is not None:
                return problem
        return None

    def _schedule(self, inst: Instance, slots: List[Slot],
                  closing: List[Dict[str, Any]]) -> List[WorkItem]:
        stamp = self.stamp()
        work: List[WorkItem] = []
        activities = self.registry.activities
        instance_id, execution_id = inst.instance_id, inst.execution_id
        for slot in slots:
            action = slot.action
            kind = slot.kind
            if kind is _ACTIVITY_SLOT:
                if slot.name == p.HTTP_ACTIVITY_NAME:
                    closing.append(w.task_scheduled(stamp, slot.seq, p.HTTP_ACTIVITY_NAME,
                                                    json.dumps(action.get("httpRequest"))))
                    work.append(WorkItem(_HTTP, instance_id, slot, execution_id, slot.attempt))
                    continue
                name = activities[slot.name.lower()].name  # type: ignore[union-attr]
                closing.append(w.task_scheduled(stamp, slot.seq, name, action.get("input")))
                work.append(WorkItem(_ACTIVITY, instance_id, slot, execution_id, slot.attempt))
            elif kind is _TIMER_SLOT:
                fire_at = slot.fire_at
                assert fire_at is not None
                fire_text = p.format_timestamp(fire_at)
                closing.append(w.timer_created(stamp, slot.seq, fire_text))
                self._timer_counter += 1
                heapq.heappush(self.timers, TimerRecord(fire_at, self._timer_counter,
                                                        instance_id, execution_id,
                                                        slot.seq, fire_text))
            elif kind is _SUB_SLOT:
                child = self.registry.orchestrators[slot.name.lower()]  # type: ignore[union-attr]
                child_id = action.get("instanceId") or f"{execution_id}:{slot.seq}"
                closing.append(w.sub_created(stamp, slot.seq, child.name, child_id,
                                             action.get("input"), action.get("version")))
                self._start_child(inst, slot, child.name, child_id, action)
            elif kind is _EVENT_SLOT:  # entity messages
                closing.append(_entities.send_from_orchestration(self, inst, slot, stamp))
            else:  # pragma: no cover - exhaustive over the replay's slot kinds
                raise AssertionError(kind)
        return work

    def _start_child(self, parent: Instance, slot: Slot, child: str, child_id: str,
                     action: Dict[str, Any]) -> None:
        # (An id equal to the parent's, or its parent's, never gets here: the replay ignores
        # that call, as the extension does; _replay.ReplayShim._refused_child_id.)
        reason = None
        existing = self.instances.get(child_id)
        if existing is not None and not existing.terminal:
            reason = (f"An Orchestration instance with the ID '{child_id}' already exists "
                      f"and is {existing.status.value}.")
        if reason is not None:
            self.post(parent, w.sub_failed(self.clock.now, slot.seq, reason, None),
                      parent.execution_id)
            return
        self.create_instance(child, action.get("input"), child_id,
                             parent=ParentRef(parent.instance_id, parent.execution_id, slot.seq),
                             version=action.get("version"))

    def _continue_as_new(self, inst: Instance, new_input: Optional[str],
                         closing: List[Dict[str, Any]], base: int) -> None:
        closing.append(_numbered(inst, w.execution_completed(self.stamp(), w.CONTINUED_AS_NEW,
                                                             new_input)))
        self._close(inst, base, closing)
        inst.previous_executions.append(inst.execution.history)
        inst.status = Status.ContinuedAsNew
        inst.carry_status = True
        old = inst.execution
        inst.execution = Execution(inst.instance_id, self.new_id(), inst.orchestrator, new_input,
                                   old.number + 1, self.unknown_call,
                                   inst.parent.instance_id if inst.parent else None)
        # The batch's events that came after the continue-as-new are carried over (dtfx: into
        # the new execution's first episode, ahead of what is still queued); events still
        # queued go to the new execution too; completions of the old one are dropped when
        # their episode comes (their execution id no longer matches).
        carried = old.shim.carryover
        if carried:
            inst.inbox[:0] = [Message({**ev, "IsPlayed": False}, inst.execution_id)
                              for ev in carried]
        inst.queued = False
        self.enqueue_episode(inst)

    def _close(self, inst: Instance, base: int, closing: List[Dict[str, Any]]) -> None:
        close_episode(inst.execution, base, closing, self.stamp())
        inst.updated = self.clock.now

    def _append_episode(self, inst: Instance, events: List[Dict[str, Any]]) -> None:
        """Record host-only events (terminate, suspend, resume) as an episode of their own."""
        ex = inst.execution
        base = len(ex.history)
        ex.history.append(w.orchestrator_started(self.clock.now))
        ex.history.extend(events)
        self._close(inst, base, [])

    def _fail(self, inst: Instance, error: str, closing: List[Dict[str, Any]],
              stack: str = "") -> None:
        # ext: OutOfProcOrchestrationShim puts "Message: <error>, StackTrace: <stack>" in details.
        inst.failure_text = f"Message: {error}, StackTrace: {stack}"
        closing.append(_numbered(inst, w.execution_completed(self.clock.now, w.FAILED, error,
                                                             error)))
        self._finish(inst, Status.Failed, output=error, result_text=error, error=error)

    def _finish(self, inst: Instance, status: Status, output: Any, result_text: Optional[str],
                error: Optional[str] = None) -> None:
        inst.status = status
        inst.output = output
        inst.error = error
        inst.updated = self.clock.now
        inst.inbox.clear()
        ref = inst.parent
        if ref is None:
            return
        parent = self.instances.get(ref.instance_id)
        if parent is None or parent.terminal:
            return
        stamp = p.format_timestamp(self.clock.now)
        if status == Status.Completed:
            event = w.sub_completed(stamp, ref.seq, result_text)
        else:
            reason = error if error is not None else str(output)
            event = w.sub_failed(stamp, ref.seq, reason, inst.failure_text)
        self.post(parent, event, ref.execution_id)

    # -- activities ------------------------------------------------------------------------
    def _run_activity(self, work: WorkItem) -> None:
        inst = self.instances.get(work.instance_id)
        slot = work.slot
        assert slot is not None
        key = slot.name.lower()  # type: ignore[union-attr]
        activity = self.registry.activities[key]
        run = self.runs.get(key, 0) + 1
        self.runs[key] = run
        if self.executor.interceptors or self.faults.all or not self.default_policy:
            self._run_activity_hooked(work, inst, slot, activity, run)
            return
        # Nothing intercepts and nothing is decided: run it, record it, deliver it.
        input_text = slot.action.get("input")
        value, result_text, exception, duration, seconds, outputs = self.executor.execute(
            activity, input_text, self.clock.now, work.instance_id)
        self.activity_seconds += seconds
        self.activity_calls.append(_new_activity_call(
            activity.name, _recorded_input(input_text, value, exception), work.instance_id,
            work.attempt, _lazy.Encoded(result_text), exception, slot.seq, True, None,
            outputs))
        if inst is not None and not inst.terminal:
            self._complete_activity(inst, work, slot.seq, activity.name, result_text, exception,
                                    duration)

    def _run_activity_hooked(self, work: WorkItem, inst: Optional[Instance], slot: Slot,
                             activity: ActivityRegistration, run: int) -> None:
        """An activity under interceptors (faults) or a policy that decides about it."""
        execution = ActivityExecution(
            activity.name, slot.action.get("input"), work.instance_id, work.execution_id,
            inst.orchestrator if inst is not None else "", slot.seq, work.attempt, run,
            self.clock.now, bool(self.faults.duplicates) and work in self.faults.duplicates)
        outcome = self.executor.run(execution, activity)
        self.activity_seconds += outcome.seconds
        if self.asks_duplicate and not outcome.duplicate and work not in self.faults.duplicates \
                and self._decide_duplicate(work, activity.name, run):
            outcome = outcome.with_(duplicate=True, fault=outcome.fault or "duplicate_activity")
        recorded = outcome.record
        duplicate = False
        if self.faults.all or self.asks_duplicate:
            # A second delivery of a work item: DTFx drops its completion (the task is no
            # longer open); a first delivery a fault duplicates runs again later.
            duplicate = self.faults.is_duplicate(work)
            if duplicate:
                recorded = False
                outcome = outcome.with_(fault=outcome.fault or "duplicate_activity")
            elif outcome.duplicate:
                self.ready.append(self.faults.redeliver(work))
        if recorded and not self.default_policy:
            recorded = self.decide(Decision(
                DecisionKind.RECORD_COMPLETION,
                (f"record the completion of {activity.name} #{slot.seq}",
                 f"lose it: {activity.name} runs again"), work.instance_id,
                WorkSubject(WorkKind.ACTIVITY, activity.name, work.instance_id, slot.seq,
                            work.attempt, run))) == 0
        self.activity_calls.append(_new_activity_call(
            activity.name, _recorded_input(execution.input_text, outcome.value,
                                           outcome.exception),
            work.instance_id, work.attempt, _lazy.stored(outcome, "result"), outcome.exception,
            slot.seq, recorded, outcome.fault, outcome.outputs))
        if duplicate:
            return
        if not recorded:
            # The worker died after the activity, before its checkpoint: the queue message
            # comes back once its visibility timeout has passed (counted from the crash).
            self._timer_counter += 1
            heapq.heappush(self.deliveries, DeliveryRecord(
                self.clock.now + outcome.duration + WORK_ITEM_VISIBILITY_TIMEOUT,
                self._timer_counter, work.instance_id, work.execution_id, None,
                WorkItem(WorkKind.ACTIVITY, work.instance_id, slot, work.execution_id,
                         work.attempt + 1)))
            return
        if inst is None or inst.terminal:
            return
        duration = outcome.duration
        if self.asks_delay:
            duration += self._decide_delay(work, activity.name, run)
        self._complete_activity(inst, work, slot.seq, activity.name, outcome.result_text,
                                outcome.exception, duration)

    def _complete_activity(self, inst: Instance, work: WorkItem, seq: int, name: str,
                           result_text: Optional[str], exception: Optional[BaseException],
                           duration: timedelta) -> None:
        """Post an activity's TaskCompleted/TaskFailed, now or when its time is up."""
        due = self.clock.now + duration if duration else None
        stamp = self.stamp() if due is None else p.format_timestamp(due)
        if exception is None:
            event = w.task_completed(stamp, seq, result_text)
        else:
            event = w.task_failed(stamp, seq, *activity_failure(name, exception))
        if due is None:
            self.post(inst, event, work.execution_id)
            return
        # It ran now (its side effects happened); its answer arrives when its time is up,
        # so a shorter timer raced against it wins, as on a real worker.
        self._timer_counter += 1
        heapq.heappush(self.deliveries, DeliveryRecord(due, self._timer_counter,
                                                       work.instance_id, work.execution_id,
                                                       event))

    def _activity_subject(self, work: WorkItem, name: str, run: int) -> WorkSubject:
        seq = work.slot.seq if work.slot is not None else None
        return WorkSubject(WorkKind.ACTIVITY, name, work.instance_id, seq, work.attempt, run)

    def _decide_duplicate(self, work: WorkItem, name: str, run: int) -> bool:
        seq = work.slot.seq if work.slot is not None else None
        return self.decide(Decision(
            DecisionKind.DUPLICATE_ACTIVITY,
            (f"deliver {name} #{seq} once", f"deliver it twice: {name} runs again and its "
             "second completion is dropped"), work.instance_id,
            self._activity_subject(work, name, run))) == 1

    def _decide_delay(self, work: WorkItem, name: str, run: int) -> timedelta:
        steps = _policy.DELAY_STEPS
        choice = self.decide(Decision(
            DecisionKind.DELAY_ACTIVITY,
            tuple(f"deliver the completion of {name} {_delay_text(d)}" for d in steps),
            work.instance_id, self._activity_subject(work, name, run)))
        return steps[choice]

    def _run_http(self, work: WorkItem) -> None:
        inst = self.instances.get(work.instance_id)
        slot = work.slot
        assert slot is not None and inst is not None
        text, error = self.executor.run_http(slot, inst.instance_id, inst.orchestrator)
        stamp = p.format_timestamp(self.clock.now)
        if error is None:
            event = w.task_completed(stamp, slot.seq, text)
        else:
            message = worker_message(error)
            event = w.task_failed(stamp, slot.seq, message, exception_details(message))
        if not inst.terminal:
            self.post(inst, event, work.execution_id)


#: Episodes the determinism probe holds before it checks them during a drive.
_PROBE_BATCH = 64
#: The host's own stops of a drive, before which the probe reports what it found.
_STOPS = (RunawayOrchestrator, DriveTimeout, HostLimitExceeded)

#: How long a work-item queue message stays invisible after a worker took it: a crashed
#: activity runs again once it has passed (DTFx AzureStorageOrchestrationServiceSettings.
#: WorkItemQueueVisibilityTimeout, default 5 minutes; docs/protocol.md).
WORK_ITEM_VISIBILITY_TIMEOUT = timedelta(minutes=5)


def _recorded_input(text: Optional[str], value: Any, exception: Optional[BaseException]) -> Any:
    """What ``ActivityCall.input`` holds: the input's text, decoded when read, so edits the
    activity made to the object it received do not show; the value itself when the call
    failed (its input may be what could not be decoded)."""
    return _lazy.EncodedInput(text) if exception is None else value


def _unknown_call(registry: Registry) -> UnknownCall:
    """The extension's ``ThrowIfFunctionDoesNotExist``, asked of the live registry.

    A closure, not a bound method: copying a replay shim (faults' snapshots) must
    not copy the registry with it.
    """
    def unknown(kind: SlotKind, name: Optional[str]) -> Optional[str]:
        key = (name or "").lower()
        if kind is _ACTIVITY_SLOT:
            if key in registry.activities:
                return None
            return missing_function_text(name, "activity", registry.activity_names(),
                                         registry.orchestrator_names())
        if kind is _SUB_SLOT:
            if key in registry.orchestrators:
                return None
            return missing_function_text(name, "orchestrator", registry.orchestrator_names(),
                                         registry.activity_names())
        if key in registry.entities:
            return None
        return registry.missing_entity_text(name)
    return unknown


def _numbered(inst: Instance, event: Dict[str, Any]) -> Dict[str, Any]:
    """ExecutionCompleted takes the next sequence number, as DTFx numbers it.

    DTFx: TaskOrchestrationContext.CompleteOrchestration takes ``idCounter++`` as the
    completion action's id, and TaskOrchestrationDispatcher makes it the event's EventId.
    """
    event["EventId"] = inst.execution.shim.next_seq
    return event


def _describe(slot: Slot) -> str:
    """One scheduled task as a spin report names it."""
    if slot.kind is SlotKind.TIMER:
        return f"a timer for {slot.fire_at}"
    text = slot.action.get("input")
    shown = "" if text is None else (text if len(str(text)) <= 60 else str(text)[:57] + "...")
    return f"{slot.kind.value} '{slot.name}'({shown})"


def lifecycle_refusal(operation: str, inst: Instance) -> str:
    """The InvalidOperationException text DurableClient throws when the state forbids ``operation``.

    ext: DurableClient.{Terminate,Suspend,Resume}Async. The status is DTFx's
    OrchestrationStatus name, which the SDK's status values spell the same way.
    """
    return (f"Cannot {operation} the orchestration instance {inst.instance_id} because instance "
            f"is in the {inst.status.value} state.")


def _delay_text(delay: timedelta) -> str:
    """How a delay-activity option reads: "at once", "1 min late"."""
    if not delay:
        return "at once"
    seconds = int(delay.total_seconds())
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if unit == 'day' and count > 1 else ''} late"
    return f"{seconds} s late"



def _where(inst: Instance) -> str:
    """The instance a limit message is about."""
    return f"Orchestration '{inst.orchestrator}' (instance '{inst.instance_id}')"
