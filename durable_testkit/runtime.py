"""The in-memory host: the Durable extension's part, played in process.

It keeps each instance's history as the wire events the extension would send,
calls the real SDK handle once per episode, replays the returned actions the
way the extension does (``_replay``), appends what the host would append,
runs activities in process and keeps time on a virtual clock. Every choice
between pieces of ready work goes through the policy (``policy``).
"""
from __future__ import annotations

import asyncio
import heapq
import inspect
import json
import random
import threading
import time
import traceback
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from difflib import get_close_matches
from typing import (Any, Callable, Deque, Dict, Iterable, Iterator, List, Mapping, Optional,
                    Tuple, cast, final)

import azure.durable_functions as df
from azure.durable_functions import OrchestrationRuntimeStatus as Status
from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from . import _protocol as p
from . import _wire as w
from . import policy as _policy
from ._replay import NonDeterminism, ReplayShim, Slot
from ._sync import run_sync
from ._watchdog import EpisodeTimeout, Watchdog
from .clock import VirtualClock
from .errors import (HttpHandlerMissing, InvalidOperationError, OrchestrationStuck,
                     RunawayFunction, RunawayOrchestrator, SerializationError, UnknownFunctionError,
                     UnknownInstanceError)
from .status import TERMINAL_STATUSES, ActivityCall, Divergence, OrchestrationResult

__all__ = ["InMemoryRuntime", "RuntimeStats"]

_ND_PREFIX = "Non-Deterministic workflow detected: "

@dataclass(frozen=True)
class RuntimeStats:
    """Where the time went: the benchmark divides total time by ``sdk_seconds``."""

    episodes: int
    sdk_seconds: float
    activity_seconds: float
    activities: int


# ---------------------------------------------------------------- registrations
class _Activity:
    __slots__ = ("name", "fn", "param", "mock")

    def __init__(self, name: str, fn: Callable[..., Any], param: Optional[str],
                 mock: Optional["_Mock"] = None) -> None:
        self.name = name
        self.fn = fn
        self.param = param
        self.mock = mock


class _Mock:
    """``mock_activity``'s behaviour: a value, a callable, an exception or a sequence."""

    _NOTHING = object()

    def __init__(self, name: str, return_value: Any, side_effect: Any) -> None:
        self.name = name
        self.calls = 0
        self.return_value = return_value
        self.callable: Optional[Callable[[Any], Any]] = None
        self.raise_: Optional[BaseException] = None
        self.sequence: Optional[Iterator[Any]] = None
        if side_effect is None:
            pass
        elif isinstance(side_effect, BaseException) or (
                isinstance(side_effect, type) and issubclass(side_effect, BaseException)):
            self.raise_ = side_effect() if isinstance(side_effect, type) else side_effect
        elif callable(side_effect):
            self.callable = side_effect
        else:
            try:
                self.sequence = iter(side_effect)
            except TypeError:
                raise TypeError(
                    f"mock_activity('{name}', side_effect=...) takes a callable, an exception "
                    f"or an iterable of values/exceptions, not {type(side_effect).__name__}"
                ) from None

    def __call__(self, value: Any) -> Any:
        self.calls += 1
        if self.raise_ is not None:
            raise self.raise_
        if self.callable is not None:
            return self.callable(value)
        if self.sequence is not None:
            item = next(self.sequence, self._NOTHING)
            if item is self._NOTHING:
                raise InvalidOperationError(
                    f"mock_activity('{self.name}'): side_effect ran out after "
                    f"{self.calls - 1} call(s); give it more values or use a callable")
            if isinstance(item, BaseException) or (
                    isinstance(item, type) and issubclass(item, BaseException)):
                raise item
            return item
        return self.return_value


class _Orchestrator:
    __slots__ = ("name", "handle")

    def __init__(self, name: str, handle: Callable[[Any], str]) -> None:
        self.name = name
        self.handle = handle


# ---------------------------------------------------------------- instance state
class _Instance:
    """Everything the host knows about one orchestration instance."""

    def __init__(self, rt: "InMemoryRuntime", instance_id: str, orch: _Orchestrator,
                 input_text: Optional[str], parent: Optional[Tuple[str, str, int]],
                 version: Optional[str]) -> None:
        self.instance_id = instance_id
        self.orch = orch
        self.input_text = input_text
        self.parent = parent  # (parent instance id, parent execution id, task seq)
        self.version = version
        self.created = rt.clock.now
        self.updated = rt.clock.now
        self.status = Status.Pending
        self.output: Any = None
        self.custom_status: Any = None
        self.error: Optional[str] = None
        self.failure_details: Optional[NonDeterminism] = None
        self.failure_text: Optional[str] = None
        self.inbox: List[Tuple[Dict[str, Any], Optional[str]]] = []  # (event, execution id)
        self.queued = False
        self.suspended = False
        self.previous_executions: List[List[Dict[str, Any]]] = []
        self._new_execution(rt, input_text)

    def _new_execution(self, rt: "InMemoryRuntime", input_text: Optional[str]) -> None:
        self.execution_id = rt._new_id()
        self.input_text = input_text
        self.history: List[Dict[str, Any]] = []
        self.played_json = ""  # the serialized events of finished episodes, IsPlayed=true
        self.new_dumps: List[str] = []  # this episode's new events, serialized once
        self.shim = ReplayShim(self.instance_id, self.execution_id, self.orch.name)
        self.last_actions: List[Dict[str, Any]] = []
        self.episodes = 0
        self.started = False

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class _Work:
    """A ready piece of work; the policy picks among these."""

    __slots__ = ("kind", "instance_id", "slot", "execution_id", "_label", "attempt")

    def __init__(self, kind: str, instance_id: str, label: Optional[str] = None,
                 slot: Optional[Slot] = None, execution_id: Optional[str] = None,
                 attempt: int = 1) -> None:
        self.kind = kind  # "episode" | "activity" | "entity"
        self.instance_id = instance_id
        self.slot = slot
        self.execution_id = execution_id
        self._label = label
        self.attempt = attempt

    @property
    def label(self) -> str:
        """How a policy sees this work (built only when a policy asks)."""
        if self._label is None:
            if self.slot is not None:
                self._label = f"activity {self.slot.name} #{self.slot.seq} of [{self.instance_id}]"
            else:
                self._label = f"{self.kind} of [{self.instance_id}]"
        return self._label


# ---------------------------------------------------------------- the runtime
@final
class InMemoryRuntime:
    """An in-process Durable Functions host on virtual time.

    Args:
        start_time: where the virtual clock starts (timezone-aware); default
            :data:`durable_testkit.clock.DEFAULT_START_TIME`.
        policy: the decision point for every host choice; default is what the
            real host does.
        seed: seeds instance and execution ids, so runs are reproducible.
        max_episodes: episodes one execution may run before the host calls it
            a runaway loop.
        max_actions: actions one execution may produce (the extension's limit
            is 100,000).
        episode_timeout: wall-clock seconds one call into the orchestrator may
            take before it is stopped as an endless loop.
        function_timeout: wall-clock seconds one activity call or entity batch may
            take before it is stopped (they run in process).
    """

    def __init__(self, start_time: Optional[datetime] = None, *,
                 policy: Optional[_policy.SchedulingPolicy] = None, seed: int = 0,
                 max_episodes: int = 5000, max_actions: int = 100_000,
                 episode_timeout: float = 10.0, function_timeout: float = 60.0) -> None:
        self.clock = VirtualClock(start_time)
        self.policy = policy if policy is not None else _policy.HostDefaultPolicy()
        # The host default always answers 0: skip building decisions nobody reads.
        self._default_policy = type(self.policy) is _policy.HostDefaultPolicy
        self.max_episodes = max_episodes
        self.max_actions = max_actions
        self.episode_timeout = episode_timeout
        self.function_timeout = function_timeout
        self._rng = random.Random(seed)
        self._orchestrators: Dict[str, _Orchestrator] = {}
        self._activities: Dict[str, _Activity] = {}
        self._entities: Dict[str, Any] = {}
        self._instances: Dict[str, _Instance] = {}
        self._ready: Deque[_Work] = deque()
        self._timers: List[Tuple[datetime, int, str, str, int, str]] = []
        self._timer_counter = 0
        self._activity_calls: List[ActivityCall] = []
        self._mocks: Dict[str, _Mock] = {}
        self._http_handler: Optional[Callable[[Dict[str, Any]], Dict[str, Any]]] = None
        self._sdk_seconds = 0.0
        self._activity_seconds = 0.0
        self._episodes = 0
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._stamp_at: Optional[datetime] = None
        self._stamp_text = ""
        self._client: Any = None
        self._lock = threading.RLock()
        self.app: Any = None
        # Owned by durable_testkit._entities: entity id -> its state record.
        self._entity_instances: Dict[str, Any] = {}
        # Owned by durable_testkit._server: the loopback management API, started on demand.
        self._server: Any = None

    # -- construction ----------------------------------------------------------
    @classmethod
    def from_app(cls, app: Any, **kwargs: Any) -> "InMemoryRuntime":
        """Build a runtime with every function of a function app registered.

        Args:
            app: a DFApp/Blueprint/FunctionApp object, ``"module:attr"``, or the
                folder of a V1 (function.json) or V2 (function_app.py) app.
            **kwargs: passed to :class:`InMemoryRuntime`.
        """
        from .app import discover_app

        functions = discover_app(app)
        rt = cls(**kwargs)
        rt.app = functions
        for info in functions.functions.values():
            if info.kind == "orchestrator":
                rt._orchestrators[info.name.lower()] = _Orchestrator(info.name, info.function)
            elif info.kind == "activity":
                rt._activities[info.name.lower()] = _Activity(info.name, info.function,
                                                              info.trigger_param)
            elif info.kind == "entity":
                rt._entities[info.name.lower()] = info
        return rt

    def register_orchestrator(self, name: str, fn: Callable[..., Any]) -> None:
        """Register a generator function, a ``df.Orchestrator.create`` handle or a V2 function."""
        self._orchestrators[name.lower()] = _Orchestrator(name, _orchestrator_handle(name, fn))

    def register_activity(self, name: str, fn: Callable[..., Any]) -> None:
        """Register a plain or async function as an activity."""
        target = _unwrap_function(fn)
        self._activities[name.lower()] = _Activity(name, target, None)

    def register_entity(self, name: str, fn: Callable[..., Any]) -> None:
        """Register an entity function or ``df.Entity.create`` handle."""
        self._entities[name.lower()] = fn

    def mock_activity(self, name: str, return_value: Any = None, side_effect: Any = None) -> None:
        """Replace (or define) an activity with canned behaviour.

        Args:
            name: the activity name the orchestrator calls.
            return_value: returned on every call when no side_effect is given.
            side_effect: a callable taking the input, an exception (class or
                instance) to raise, or an iterable of values and exceptions,
                one per call.
        """
        mock = _Mock(name, return_value, side_effect)
        self._mocks[name.lower()] = mock
        self._activities[name.lower()] = _Activity(name, mock, None, mock=mock)

    def set_http_handler(self, handler: Callable[[Dict[str, Any]], Dict[str, Any]]) -> None:
        """Answer ``context.call_http`` with ``handler(request) -> response dict``."""
        self._http_handler = handler

    @property
    def unused_mocks(self) -> List[str]:
        """Mocked activities no orchestration has called (an expectation that never fired)."""
        return [m.name for m in self._mocks.values() if m.calls == 0]

    # -- client-side operations -----------------------------------------------
    def start(self, name: str, input: Any = None, instance_id: Optional[str] = None) -> str:
        """Start an orchestration; it runs when the runtime runs (wait, advance, ...)."""
        with self._lock:
            orch = self._orchestrator(name)
            input_text = _dumps(input, f"The input of orchestrator '{orch.name}'")
            return self._create_instance(orch, input_text, instance_id, parent=None)

    def _create_instance(self, orch: _Orchestrator, input_text: Optional[str],
                         instance_id: Optional[str], parent: Optional[Tuple[str, str, int]],
                         version: Optional[str] = None) -> str:
        if instance_id is None:
            instance_id = self._new_id()
        elif not isinstance(instance_id, str) or not instance_id:
            raise InvalidOperationError(f"instance_id must be a non-empty string, got {instance_id!r}")
        elif instance_id.startswith("@"):
            raise InvalidOperationError(
                f"Instance ID '{instance_id}' starts with '@', which is reserved for entities.")
        existing = self._instances.get(instance_id)
        if existing is not None and not existing.terminal:
            raise InvalidOperationError(
                f"An orchestration with instance id '{instance_id}' already exists and is "
                f"{existing.status.value}. Instance ids must be unique among running instances; "
                "wait for it, terminate it, or use another id.")
        inst = _Instance(self, instance_id, orch, input_text, parent, version)
        self._instances[instance_id] = inst
        self._enqueue_episode(inst)
        return instance_id

    def raise_event(self, instance_id: str, event_name: str, data: Any = None) -> None:
        """Send an external event, as the HTTP API's raiseEvent with a JSON body does.

        Events for a completed instance are dropped, as the host drops them.
        (The Python client double-encodes the data; ``rt.client.raise_event``
        reproduces that, this method does not.)
        """
        with self._lock:
            inst = self._instance(instance_id)
            text = _dumps(data, f"The data of event '{event_name}'")
            self._deliver_event(inst, event_name, text)

    def _deliver_event(self, inst: _Instance, event_name: str, input_text: Optional[str]) -> None:
        if inst.terminal:
            return
        self._post(inst, w.event_raised(self.clock.now, event_name, input_text), None)

    def terminate(self, instance_id: str, reason: str = "") -> None:
        """Terminate a running instance; its output becomes the reason, as in Azure."""
        with self._lock:
            inst = self._instance(instance_id)
            if inst.terminal:
                return
            self._append_episode(inst, [w.execution_terminated(self.clock.now, reason)])
            self._finish(inst, Status.Terminated, output=reason, result_text=json.dumps(reason))

    def suspend(self, instance_id: str, reason: str = "") -> None:
        """Suspend: arriving messages wait until :meth:`resume`."""
        with self._lock:
            inst = self._instance(instance_id)
            if inst.terminal or inst.suspended:
                return
            inst.suspended = True
            inst.status = Status.Suspended
            self._append_episode(inst, [w.execution_suspended(self.clock.now, reason)])

    def resume(self, instance_id: str, reason: str = "") -> None:
        """Resume a suspended instance; the messages it queued are delivered."""
        with self._lock:
            inst = self._instance(instance_id)
            if not inst.suspended:
                return
            inst.suspended = False
            inst.status = Status.Running if inst.started else Status.Pending
            self._append_episode(inst, [w.execution_resumed(self.clock.now, reason)])
            if inst.inbox or not inst.started:
                self._enqueue_episode(inst)

    def purge(self, instance_id: str) -> int:
        """Delete a finished instance's state and history; returns how many were deleted."""
        with self._lock:
            inst = self._instances.get(instance_id)
            if inst is None:
                return 0
            if not inst.terminal:
                raise InvalidOperationError(
                    f"Instance '{instance_id}' is {inst.status.value}; only completed, failed "
                    "or terminated instances can be purged. Terminate it first.")
            del self._instances[instance_id]
            return 1

    # -- queries ----------------------------------------------------------------
    @property
    def now(self) -> datetime:
        """The virtual clock's current instant."""
        return self.clock.now

    @property
    def activity_calls(self) -> List[ActivityCall]:
        """Every activity execution so far, in the order the host ran them."""
        return list(self._activity_calls)

    @property
    def stats(self) -> RuntimeStats:
        """Counters for benchmarks."""
        return RuntimeStats(self._episodes, self._sdk_seconds, self._activity_seconds,
                            len(self._activity_calls))

    @property
    def instance_ids(self) -> List[str]:
        """Every instance this runtime knows, in creation order."""
        return list(self._instances)

    def status(self, instance_id: str) -> OrchestrationResult:
        """The instance's current state."""
        with self._lock:
            return self._result(self._instance(instance_id))

    def history(self, instance_id: str) -> Any:
        """The current execution's history as an :class:`~durable_testkit.history.InstanceHistory`."""
        with self._lock:
            return self._history(self._instance(instance_id))

    def export_history(self, instance_id: str, *, all_executions: bool = True) -> Any:
        """Every execution's events (continue-as-new included), ready for ``save_history``."""
        from .history import InstanceHistory

        with self._lock:
            inst = self._instance(instance_id)
            events: List[Dict[str, Any]] = []
            if all_executions:
                for past in inst.previous_executions:
                    events.extend(past)
            events.extend(inst.history)
            return InstanceHistory(orchestrator=inst.orch.name, instance_id=inst.instance_id,
                                   events=tuple(_played(events)), sdk_version=_sdk_version())

    # -- entities (the work lives in durable_testkit._entities) -----------------
    def signal_entity(self, entity_id: Any, operation_name: str, input: Any = None) -> None:
        """Signal an entity operation (fire and forget), as ``client.signal_entity`` does.

        Args:
            entity_id: a ``df.EntityId`` or an ``"@name@key"`` string.
        """
        from ._entities import signal_entity

        with self._lock:
            signal_entity(self, entity_id, operation_name, input)

    def entity_state(self, entity_id: Any) -> Any:
        """The entity's current state (decoded), or None if it does not exist."""
        from ._entities import entity_state

        with self._lock:
            return entity_state(self, entity_id)

    # -- HTTP (durable_testkit._server and durable_testkit._http_functions) ------
    def client_binding(self) -> str:
        """The ``durableClient`` binding JSON for the real ``df.DurableOrchestrationClient``.

        Its URLs point at a loopback server playing the extension's management API,
        started on first use and stopped by :meth:`close`.
        """
        from ._server import client_binding

        return client_binding(self)

    def http(self, method: str, path: str, body: Any = None,
             headers: Optional[Mapping[str, str]] = None) -> Any:
        """Invoke the app's HTTP-triggered function routed at ``path``, as the worker would."""
        from ._http_functions import invoke_http

        return invoke_http(self, method, path, body, headers)

    @property
    def client(self) -> Any:
        """An async drop-in for ``df.DurableOrchestrationClient`` bound to this runtime."""
        if self._client is None:
            from .client import InMemoryClient

            self._client = InMemoryClient(self)
        return self._client

    # -- driving ------------------------------------------------------------------
    def run_until_idle(self) -> None:
        """Run every piece of ready work, without moving virtual time."""
        with self._lock:
            while self._ready:
                self._step()

    def advance(self, delta: timedelta) -> None:
        """Move virtual time forward by ``delta``, firing timers in order as they come due."""
        with self._lock:
            target = self.clock.now + delta
            self.run_until_idle()
            while self._timers and self._timers[0][0] <= target:
                self._fire_due(self._timers[0][0])
                self.run_until_idle()
            self.clock.advance_to(target)

    def wait(self, instance_id: str) -> OrchestrationResult:
        """Run, skipping virtual time to each next timer, until the instance is finished.

        Raises:
            OrchestrationStuck: nothing can ever move the instance forward.
        """
        with self._lock:
            inst = self._instance(instance_id)
            while True:
                inst = self._instances.get(instance_id, inst)
                if inst.terminal:
                    return self._result(inst)
                if self._ready:
                    self._step()
                    continue
                if self._timers:
                    self._fire_due(self._timers[0][0])
                    continue
                raise OrchestrationStuck(instance_id, inst.orch.name, self._waiting_for(inst))

    def run(self, name: str, input: Any = None, instance_id: Optional[str] = None
            ) -> OrchestrationResult:
        """Start an orchestration and wait for it to finish."""
        return self.wait(self.start(name, input, instance_id))

    # -- the scheduler --------------------------------------------------------------
    def _step(self) -> None:
        ready = self._ready
        index = 0
        if len(ready) > 1 and not self._default_policy:
            index = self.policy.decide(_policy.Decision(
                _policy.NEXT_WORK, tuple(w.label for w in ready)))
        if index == 0:
            work = ready.popleft()
        else:
            work = ready[index]
            del ready[index]
        if work.kind == "episode":
            inst = self._instances.get(work.instance_id)
            if inst is not None:
                inst.queued = False
                self._episode(inst)
        elif work.kind == "entity":
            from ._entities import run_entity_batch

            run_entity_batch(self, work)
        else:
            self._run_activity(work)

    def _enqueue_episode(self, inst: _Instance) -> None:
        if not inst.queued and not inst.suspended and not inst.terminal:
            inst.queued = True
            self._ready.append(_Work("episode", inst.instance_id))

    def _post(self, inst: _Instance, event: Dict[str, Any], execution_id: Optional[str]) -> None:
        """Deliver a message to an instance's inbox, to be processed in its next episode."""
        inst.inbox.append((event, execution_id))
        inst.updated = self.clock.now
        self._enqueue_episode(inst)

    def _fire_due(self, instant: datetime) -> None:
        self.clock.advance_to(instant)
        while self._timers and self._timers[0][0] <= instant:
            fire_at, _, iid, exec_id, seq, fire_text = heapq.heappop(self._timers)
            inst = self._instances.get(iid)
            if inst is None or inst.terminal or inst.execution_id != exec_id:
                continue  # the host drops timers of finished executions
            self._post(inst, w.timer_fired(instant, seq, fire_text), exec_id)

    def _waiting_for(self, inst: _Instance) -> List[str]:
        if inst.suspended:
            return [f"resume: the instance is suspended (rt.resume('{inst.instance_id}'))"]
        waits = inst.shim.waiting_for()
        if not waits and inst.status == Status.Pending:
            waits = ["its first episode"]
        return waits or ["nothing the host can see (the orchestrator yielded without scheduling work)"]

    # -- episodes -------------------------------------------------------------------
    def _episode(self, inst: _Instance) -> None:
        if inst.terminal or inst.suspended:
            return
        messages: List[Dict[str, Any]] = []
        if inst.inbox:
            batch = inst.inbox
            count = len(batch)
            if count > 1 and not self._default_policy:
                choice = self.policy.decide(_policy.Decision(
                    _policy.BATCH, tuple(f"deliver {count - i} of {count}" for i in range(count)),
                    inst.instance_id))
                count -= choice
            taken, inst.inbox = batch[:count], batch[count:]
            for event, exec_id in taken:
                if exec_id is not None and exec_id != inst.execution_id:
                    continue  # a completion for an execution that continued as new
                messages.append(event)
            if inst.inbox:
                self._enqueue_episode(inst)
        if inst.started and not messages:
            return
        self._run_episode(inst, messages)

    def _run_episode(self, inst: _Instance, messages: List[Dict[str, Any]]) -> None:
        stamp = self._stamp()
        new: List[Dict[str, Any]] = [w.orchestrator_started(stamp)]
        if not inst.started:
            inst.started = True
            inst.status = Status.Running
            new.append(self._execution_started(inst, stamp))
        new.extend(messages)
        inst.episodes += 1
        self._episodes += 1
        if inst.episodes > self.max_episodes:
            raise RunawayOrchestrator(inst.instance_id, inst.orch.name, self.max_episodes,
                                      "episodes in one execution",
                                      "InMemoryRuntime(max_episodes=...)")
        base = len(inst.history)
        inst.history.extend(new)
        inst.new_dumps = [p.dumps_wire(e) for e in new]
        new_json = ",".join(inst.new_dumps)
        history_json = (inst.played_json + "," + new_json) if inst.played_json else new_json
        context = p.build_context_json(history_json, inst.input_text, inst.instance_id,
                                       inst.parent[0] if inst.parent else None)
        try:
            with Watchdog.guard(self.episode_timeout):
                resp = p.invoke_orchestrator(inst.orch.handle, context)
        except EpisodeTimeout:
            raise RunawayOrchestrator(inst.instance_id, inst.orch.name, self.episode_timeout,
                                      "seconds in one episode without yielding",
                                      "InMemoryRuntime(episode_timeout=...)") from None
        self._sdk_seconds += resp.sdk_seconds

        closing: List[Dict[str, Any]] = []
        if resp.crashed is not None:
            self._fail(inst, f"Orchestrator function '{inst.orch.name}' failed: {resp.error}"
                       + _crash_hint(resp.error or ""), closing, resp.stack)
            self._close_episode(inst, base, closing)
            return

        # The extension replays the actions on its own context before anything else.
        try:
            slots = self._replay(inst, resp.actions, base)
        except NonDeterminism as nd:
            inst.failure_details = nd
            self._fail(inst, _ND_PREFIX + nd.detail, closing)
            self._close_episode(inst, base, closing)
            return
        if resp.custom_status is not None:
            inst.custom_status = resp.custom_status
        if len(resp.actions) > self.max_actions:
            self._fail(inst, f"Orchestrator function '{inst.orch.name}' failed: the orchestration "
                       f"produced {len(resp.actions)} actions, more than the maximum of "
                       f"{self.max_actions}.", closing)
            self._close_episode(inst, base, closing)
            return
        problem = self._check_functions(slots)
        if problem is not None:
            self._fail(inst, f"Orchestrator function '{inst.orch.name}' failed: {problem}", closing)
            self._close_episode(inst, base, closing)
            return
        scheduled = self._schedule(inst, slots, closing)
        inst.shim.mark_scheduled(slots)
        inst.last_actions = resp.actions
        if resp.error:
            self._fail(inst, f"Orchestrator function '{inst.orch.name}' failed: {resp.error}",
                       closing, resp.stack)
        elif resp.is_done:
            if inst.shim.continue_as_new is not None:
                self._continue_as_new(inst, inst.shim.continue_as_new, closing, base)
                return
            # DTFx keeps the instance running until every timer it did not cancel fires;
            # the episode that delivers the last one completes it.
            if not inst.shim.uncancelled_open_timers():
                result_text = json.dumps(resp.output)
                closing.append(w.execution_completed(stamp, w.COMPLETED, result_text))
                self._finish(inst, Status.Completed, output=resp.output, result_text=result_text)
        self._close_episode(inst, base, closing)
        for work in scheduled:
            self._ready.append(work)

    def _execution_started(self, inst: _Instance, stamp: str) -> Dict[str, Any]:
        parent_info = None
        if inst.parent is not None:
            parent_id, parent_exec, seq = inst.parent
            parent = self._instances.get(parent_id)
            parent_info = {
                "Name": parent.orch.name if parent else None, "TaskScheduleId": seq,
                "OrchestrationInstance": {"InstanceId": parent_id, "ExecutionId": parent_exec}}
        return w.execution_started(stamp, inst.orch.name, inst.input_text, inst.instance_id,
                                   inst.execution_id, inst.version, parent_info)

    def _replay(self, inst: _Instance, actions: List[Dict[str, Any]], base: int) -> List[Slot]:
        """Feed the extension-side replay: incrementally, or from scratch if the actions changed."""
        old = inst.last_actions
        n = len(old)
        if len(actions) >= n and actions[:n] == old:
            return inst.shim.feed(actions, ((base + i, e) for i, e in
                                            enumerate(inst.history[base:])))
        # The SDK produced different earlier actions: replay everything, checking history.
        shim = ReplayShim(inst.instance_id, inst.execution_id, inst.orch.name)
        slots = shim.feed(actions, enumerate(inst.history))
        inst.shim = shim
        return slots

    def _check_functions(self, slots: List[Slot]) -> Optional[str]:
        for slot in slots:
            if slot.kind == "activity" and slot.name != p.HTTP_ACTIVITY_NAME:
                if slot.name is None or slot.name.lower() not in self._activities:
                    return _missing_function(slot.name, "activity", self._activity_names(),
                                             self._orchestrator_names())
            elif slot.kind == "suborchestration":
                if slot.name is None or slot.name.lower() not in self._orchestrators:
                    return _missing_function(slot.name, "orchestrator",
                                             self._orchestrator_names(), self._activity_names())
            elif slot.kind == "event":
                # ext: CallEntityAsync and SignalEntity check the entity name before the
                # shim's try, so an unknown one fails the orchestration, call or signal.
                try:
                    name, _ = p.split_scheduler_id(slot.action.get("instanceId") or "")
                except ValueError:
                    name = str(slot.action.get("instanceId"))
                if name.lower() not in self._entities:
                    return _missing_function(name, "entity", self._entity_names(), [])
        return None

    def _entity_names(self) -> List[str]:
        names = []
        for key, value in self._entities.items():
            names.append(getattr(value, "name", None) or key)
        return names

    def _schedule(self, inst: _Instance, slots: List[Slot],
                  closing: List[Dict[str, Any]]) -> List[_Work]:
        stamp = p.format_timestamp(self.clock.now)
        work: List[_Work] = []
        for slot in slots:
            action = slot.action
            if slot.kind == "activity":
                name = slot.name if slot.name == p.HTTP_ACTIVITY_NAME else \
                    self._activities[slot.name.lower()].name  # type: ignore[union-attr]
                input_text = action.get("input")
                if slot.name == p.HTTP_ACTIVITY_NAME:
                    input_text = json.dumps(action.get("httpRequest"))
                closing.append(w.task_scheduled(stamp, slot.seq, name, input_text))
                work.append(_Work("activity", inst.instance_id, slot=slot,
                                  execution_id=inst.execution_id, attempt=slot.attempt))
            elif slot.kind == "timer":
                fire_at = slot.fire_at
                assert fire_at is not None
                fire_text = p.format_timestamp(fire_at)
                closing.append(w.timer_created(stamp, slot.seq, fire_text))
                self._timer_counter += 1
                heapq.heappush(self._timers, (fire_at, self._timer_counter, inst.instance_id,
                                              inst.execution_id, slot.seq, fire_text))
            elif slot.kind == "suborchestration":
                child = self._orchestrators[slot.name.lower()]  # type: ignore[union-attr]
                child_id = action.get("instanceId") or f"{inst.execution_id}:{slot.seq}"
                closing.append(w.sub_created(stamp, slot.seq, child.name, child_id,
                                             action.get("input"), action.get("version")))
                self._start_child(inst, slot, child, child_id, action)
            else:  # entity messages
                closing.append(self._send_entity_message(inst, slot, stamp))
        return work

    def _start_child(self, parent: _Instance, slot: Slot, child: _Orchestrator, child_id: str,
                     action: Dict[str, Any]) -> None:
        reason = None
        if child_id == parent.instance_id:
            reason = (f"A sub-orchestration cannot have the same instance ID as its parent: "
                      f"'{child_id}'.")
        else:
            existing = self._instances.get(child_id)
            if existing is not None and not existing.terminal:
                reason = (f"An Orchestration instance with the ID '{child_id}' already exists "
                          f"and is {existing.status.value}.")
        if reason is not None:
            self._post(parent, w.sub_failed(self.clock.now, slot.seq, reason, None),
                       parent.execution_id)
            return
        self._create_instance(child, action.get("input"), child_id,
                              parent=(parent.instance_id, parent.execution_id, slot.seq),
                              version=action.get("version"))

    def _send_entity_message(self, inst: _Instance, slot: Slot, stamp: str) -> Dict[str, Any]:
        from ._entities import send_from_orchestration

        return send_from_orchestration(self, inst, slot, stamp)

    def _continue_as_new(self, inst: _Instance, action: Dict[str, Any],
                         closing: List[Dict[str, Any]], base: int) -> None:
        stamp = p.format_timestamp(self.clock.now)
        new_input = action.get("input")
        closing.append(w.execution_completed(stamp, w.CONTINUED_AS_NEW, new_input))
        self._close_episode(inst, base, closing)
        inst.previous_executions.append(inst.history)
        inst.status = Status.ContinuedAsNew
        inst._new_execution(self, new_input)
        # Events still queued for this instance go to the new execution; completions of the
        # old one are dropped when their episode comes (their execution id no longer matches).
        inst.queued = False
        self._enqueue_episode(inst)

    def _close_episode(self, inst: _Instance, base: int, closing: List[Dict[str, Any]]) -> None:
        closing.append(w.orchestrator_completed(self.clock.now))
        inst.history.extend(closing)
        start = base
        parts: List[str] = []
        if inst.new_dumps:
            # IsPlayed is the third key of every wire event, so its first occurrence in
            # the text is the key itself: flip it instead of serializing again.
            parts = [t.replace('"IsPlayed":false', '"IsPlayed":true', 1) for t in inst.new_dumps]
            start = base + len(parts)
            inst.new_dumps = []
        parts.extend(p.dumps_wire(dict(e, IsPlayed=True)) for e in inst.history[start:])
        chunk = ",".join(parts)
        inst.played_json = (inst.played_json + "," + chunk) if inst.played_json else chunk
        inst.updated = self.clock.now

    def _append_episode(self, inst: _Instance, events: List[Dict[str, Any]]) -> None:
        """Record host-only events (terminate, suspend, resume) as an episode of their own."""
        base = len(inst.history)
        inst.history.append(w.orchestrator_started(self.clock.now))
        inst.history.extend(events)
        self._close_episode(inst, base, [])

    def _fail(self, inst: _Instance, error: str, closing: List[Dict[str, Any]],
              stack: str = "") -> None:
        # ext: OutOfProcOrchestrationShim puts "Message: <error>, StackTrace: <stack>" in details.
        inst.failure_text = f"Message: {error}, StackTrace: {stack}"
        closing.append(w.execution_completed(self.clock.now, w.FAILED, error, error))
        self._finish(inst, Status.Failed, output=error, result_text=error, error=error)

    def _finish(self, inst: _Instance, status: Status, output: Any, result_text: Optional[str],
                error: Optional[str] = None) -> None:
        inst.status = status
        inst.output = output
        inst.error = error
        inst.updated = self.clock.now
        inst.inbox.clear()
        if inst.parent is None:
            return
        parent_id, parent_exec, seq = inst.parent
        parent = self._instances.get(parent_id)
        if parent is None or parent.terminal:
            return
        stamp = p.format_timestamp(self.clock.now)
        if status == Status.Completed:
            event = w.sub_completed(stamp, seq, result_text)
        else:
            reason = error if error is not None else str(output)
            event = w.sub_failed(stamp, seq, reason, inst.failure_text)
        self._post(parent, event, parent_exec)

    # -- activities -------------------------------------------------------------------
    def _run_activity(self, work: _Work) -> None:
        inst = self._instances.get(work.instance_id)
        slot = work.slot
        assert slot is not None
        if slot.name == p.HTTP_ACTIVITY_NAME:
            self._run_http(work, inst)
            return
        activity = self._activities[slot.name.lower()]  # type: ignore[union-attr]
        input_text = slot.action.get("input")
        started = time.perf_counter()
        value: Any = None
        result: Any = None
        exception: Optional[BaseException] = None
        result_text: Optional[str] = None
        try:
            value = ActivityTriggerConverter.decode(meta.Datum(input_text, "json"),
                                                    trigger_metadata=None)
            try:
                with Watchdog.guard(self.function_timeout):
                    returned = self._call(activity, value)
            except EpisodeTimeout:
                raise RunawayFunction("activity", activity.name, work.instance_id,
                                      self.function_timeout) from None
            result_text = ActivityTriggerConverter.encode(returned, expected_type=None).value
            result = json.loads(result_text) if result_text is not None else None
        except RunawayFunction:
            raise
        except Exception as exc:  # the worker reports any exception as a failed invocation
            exception = exc
        finally:
            self._activity_seconds += time.perf_counter() - started
        recorded = True
        if not self._default_policy:
            recorded = self.policy.decide(_policy.Decision(
                _policy.RECORD_COMPLETION,
                (f"record the completion of {activity.name} #{slot.seq}",
                 f"lose it: {activity.name} runs again"), work.instance_id)) == 0
        self._activity_calls.append(ActivityCall(activity.name, value, work.instance_id,
                                                 work.attempt, result, exception, slot.seq,
                                                 recorded))
        if not recorded:
            self._ready.append(_Work("activity", work.instance_id, slot=slot,
                                     execution_id=work.execution_id, attempt=work.attempt + 1))
            return
        if inst is None or inst.terminal:
            return
        stamp = self._stamp()
        if exception is None:
            event = w.task_completed(stamp, slot.seq, result_text)
        else:
            event = w.task_failed(stamp, slot.seq,
                                  f"Activity function '{activity.name}' failed: "
                                  f"{type(exception).__name__}: {exception}",
                                  _details(exception))
        self._post(inst, event, work.execution_id)

    def _call(self, activity: _Activity, value: Any) -> Any:
        fn = activity.fn
        out = fn(**{activity.param: value}) if activity.param else fn(value)
        if inspect.isawaitable(out):
            out = self._await(out)
        return out

    def _await(self, awaitable: Any) -> Any:
        if self._loop is None or self._loop.is_closed():
            self._loop = asyncio.new_event_loop()
        return run_sync(awaitable, self._loop, "durable-testkit-activity")

    def _run_http(self, work: _Work, inst: Optional[_Instance]) -> None:
        slot = work.slot
        assert slot is not None and inst is not None
        request = slot.action.get("httpRequest") or {}
        if self._http_handler is None:
            raise HttpHandlerMissing(inst.instance_id, inst.orch.name,
                                     str(request.get("method")), str(request.get("uri")))
        stamp = p.format_timestamp(self.clock.now)
        try:
            response = self._http_handler(dict(request))
            text = _dumps(response, "The call_http handler's response")
            event = w.task_completed(stamp, slot.seq, text)
        except SerializationError:
            raise
        except Exception as exc:
            event = w.task_failed(stamp, slot.seq, f"{type(exc).__name__}: {exc}",
                                  _details(exc))
        if not inst.terminal:
            self._post(inst, event, work.execution_id)

    # -- helpers ------------------------------------------------------------------------
    def _stamp(self) -> str:
        """The clock's wire timestamp, formatted once per virtual instant."""
        now = self.clock.now
        if self._stamp_at != now:
            self._stamp_at, self._stamp_text = now, p.format_timestamp(now)
        return self._stamp_text

    def _new_id(self) -> str:
        return uuid.UUID(int=self._rng.getrandbits(128), version=4).hex

    def _orchestrator(self, name: str) -> _Orchestrator:
        orch = self._orchestrators.get(name.lower()) if isinstance(name, str) else None
        if orch is None:
            raise UnknownFunctionError(str(name), "orchestrator function",
                                       self._orchestrator_names())
        return orch

    def _orchestrator_names(self) -> List[str]:
        return [o.name for o in self._orchestrators.values()]

    def _activity_names(self) -> List[str]:
        return [a.name for a in self._activities.values()]

    def _instance(self, instance_id: str) -> _Instance:
        inst = self._instances.get(instance_id)
        if inst is None:
            raise UnknownInstanceError(instance_id, list(self._instances))
        return inst

    def _history(self, inst: _Instance) -> Any:
        return _typed_history(inst.orch.name, inst.instance_id, inst.history)

    def _result(self, inst: _Instance) -> OrchestrationResult:
        events = tuple(inst.history)  # a snapshot; typed and validated only if read
        name, iid = inst.orch.name, inst.instance_id
        return OrchestrationResult(
            instance_id=iid, name=name, runtime_status=inst.status,
            input=_loads(inst.input_text), output=inst.output, custom_status=inst.custom_status,
            error=inst.error, created_time=inst.created, last_updated_time=inst.updated,
            execution_id=inst.execution_id,
            history_source=lambda: _typed_history(name, iid, events),
            divergence=_divergence(inst.failure_details))

    def close(self) -> None:
        """Release the event loop used for async activities."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.close()
        if self._client is not None:
            self._client = None
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> "InMemoryRuntime":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"<InMemoryRuntime now={self.clock.now.isoformat()} "
                f"instances={len(self._instances)} ready={len(self._ready)} "
                f"timers={len(self._timers)}>")


# ---------------------------------------------------------------- module helpers
def _orchestrator_handle(name: str, fn: Any) -> Callable[[Any], str]:
    target = _unwrap_function(fn)
    if hasattr(target, "orchestrator_function"):
        return cast(Callable[[Any], str], target)  # already a df.Orchestrator.create handle
    if inspect.isgeneratorfunction(target) or callable(target):
        if inspect.iscoroutinefunction(target):
            raise TypeError(
                f"orchestrator '{name}' is an async function; Durable Functions orchestrators "
                "in Python are generator functions (def ... with yield), never async def")
        return cast(Callable[[Any], str], df.Orchestrator.create(target))
    raise TypeError(f"cannot register {fn!r} as orchestrator '{name}': expected a generator "
                    "function, a df.Orchestrator.create handle or a V2 decorated function")


def _unwrap_function(fn: Any) -> Any:
    """A V2 decorator returns a FunctionBuilder; the worker calls its user function."""
    inner = getattr(fn, "_function", None)
    if inner is not None and hasattr(inner, "get_user_function"):
        return inner.get_user_function()
    return fn


def _missing_function(name: Optional[str], kind: str, known: List[str], other: List[str]) -> str:
    article = "an" if kind[0] in "aeiou" else "a"
    listed = ", ".join(f"'{n}'" for n in sorted(known))
    msg = (f"The function '{name}' doesn't exist, is disabled, or is not {article} {kind} "
           f"function. Additional info: The following are the known {kind} functions: {listed}.")
    close = get_close_matches(name or "", known, n=1)
    if close:
        msg += f" Did you mean '{close[0]}'?"
    elif name and name.lower() in {o.lower() for o in other}:
        msg += f" '{name}' is registered, but not as {article} {kind} function."
    return msg


_dumps = w.dumps
_loads = w.loads


def _details(exc: BaseException) -> str:
    """TaskFailed details as the extension writes them: a serialized .NET exception, one line.

    Users parse its "Message" (see Azure/azure-functions-durable-extension#2990), so
    the shape matters more than the .NET fields around it.
    """
    stack = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).strip()
    return json.dumps({"$type": "System.Exception, System.Private.CoreLib",
                       "ClassName": "System.Exception",
                       "Message": f"Exception: {type(exc).__name__}: {exc}",
                       "StackTrace": stack})


def _crash_hint(error: str) -> str:
    """Explain the SDK-internal errors user code causes, which name no user code."""
    if "has no attribute '_is_scheduled'" in error:
        kind = error.split("'")[1] if error.count("'") >= 2 else "value"
        return (f" (durable-testkit: the orchestrator yielded a {kind}, which is not a durable "
                "task. Yield what a context method returns, e.g. context.call_activity(...); "
                "for several tasks yield context.task_all([...]) or context.task_any([...]); "
                "for a helper generator use 'yield from helper(context)'.)")
    return ""


def _divergence(nd: Optional[NonDeterminism]) -> Optional[Divergence]:
    if nd is None:
        return None
    return Divergence(nd.event_index, nd.expected, nd.actual, nd.detail)


def _typed_history(name: str, instance_id: str, events: Iterable[Dict[str, Any]]) -> Any:
    from .history import InstanceHistory

    return InstanceHistory(orchestrator=name, instance_id=instance_id,
                           events=tuple(_played(events)), sdk_version=_sdk_version())


def _played(events: Iterable[Dict[str, Any]]) -> Iterator[Dict[str, Any]]:
    for e in events:
        yield dict(e, IsPlayed=True)


_SDK_VERSION: Optional[str] = None


def _sdk_version() -> Optional[str]:
    global _SDK_VERSION
    if _SDK_VERSION is None:
        try:
            from importlib.metadata import version

            _SDK_VERSION = version("azure-functions-durable")
        except Exception:  # pragma: no cover - metadata missing in odd installs
            _SDK_VERSION = ""
    return _SDK_VERSION or None
