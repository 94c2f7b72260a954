"""``InMemoryRuntime``: the public face of the in-memory host.

It registers functions, takes the client's operations, drives the host and
answers queries; the work is done by the host core in ``durable_testkit._host``
(records, registry, episode, scheduler, activity executor, entities). See
docs/architecture.md for the picture and docs/runtime.md for the behaviour.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import (TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Mapping,
                    Optional, TypeVar, final)

from . import _sdk
from . import policy as _policy
from ._host import entities as _entities
from ._host import queries as _queries
from ._host.faults import Fault
from ._host.probe import DeterminismProbe
from ._host.records import Instance
from ._host.registry import Duration, Registry
from ._host.scheduler import (DEFAULT_MAX_DEPTH, DEFAULT_MAX_HISTORY_EVENTS,
                              DEFAULT_MAX_INSTANCES, HostLimits, Scheduler)
from .clock import VirtualClock
from .errors import InvalidOperationError, UnknownMockTarget
from .history import InstanceHistory
from .policy import TraceEntry
from .status import ActivityCall, OrchestrationResult

if TYPE_CHECKING:  # pragma: no cover
    from ._versions import VersioningSettings
    from .app import AppFunctions
    from .client import InMemoryClient

# pytest hides this module's frames in failure reports (--full-trace shows them):
# what the user needs is the line of their own code.
__tracebackhide__ = True

__all__ = ["InMemoryRuntime", "RuntimeStats"]

_FaultT = TypeVar("_FaultT", bound=Fault)


@dataclass(frozen=True)
class RuntimeStats:
    """Where the time went: the benchmark divides total time by ``sdk_seconds``."""

    episodes: int
    sdk_seconds: float
    activity_seconds: float
    activities: int


class _Limit:
    """A constructor setting kept in the core's ``HostLimits``, read and set on the runtime."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, rt: Any, owner: Any = None) -> Any:
        return self if rt is None else getattr(rt._limits, self.name)

    def __set__(self, rt: Any, value: Any) -> None:
        setattr(rt._limits, self.name, value)


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
        virtual_time_in_activities: while an activity or entity operation runs,
            ``datetime.now()``, ``time.time()`` and friends read the virtual clock
            and ``time.sleep``/``asyncio.sleep`` advance the activity's virtual
            time instead of sleeping (docs/runtime.md, "Activities take time").
            False keeps the real clock (and real sleeps) in activities.
        max_repeats: identical episodes (or cycles of episodes) in a row at one
            virtual instant (a poll that never lets time move) before
            ``SpinningOrchestrator`` is raised; three times as many when only the
            inputs change and the answers stay the same.
        drive_timeout: real seconds one driving call (``wait``, ``run``,
            ``advance``, ``run_until_idle``) may take before ``DriveTimeout`` says
            what the runtime was doing; None for no bound.
        determinism_probe: replay every episode again under perturbation (wall
            clock moved, ``random`` reseeded, other ``uuid4``/``os.urandom``
            values, a changed environment; each instance's history once under
            another ``PYTHONHASHSEED``) and raise ``DeterminismProbeError`` from
            ``wait``/``run`` when the actions differ (docs/exploration.md).
        max_depth: sub-orchestrations nested in each other (the root is 1; default
            100) before ``HostLimitExceeded`` stops a recursion.
        max_instances: instances the runtime holds, finished ones until purged
            (default 100,000).
        max_history_events: events in one execution's history (default 300,000:
            the extension's 100,000 actions, each scheduled and completed).
        payload_classes: classes payloads may rebuild with ``from_json`` besides
            those defined in the app's own modules (docs/protocol.md, "Security").
    """

    def __init__(self, start_time: Optional[datetime] = None, *,
                 policy: Optional[_policy.SchedulingPolicy] = None, seed: int = 0,
                 max_episodes: int = 5000, max_actions: int = 100_000,
                 episode_timeout: float = 10.0, function_timeout: float = 60.0,
                 virtual_time_in_activities: bool = True,
                 max_repeats: int = 100, drive_timeout: Optional[float] = 300.0,
                 determinism_probe: bool = False, max_depth: int = DEFAULT_MAX_DEPTH,
                 max_instances: int = DEFAULT_MAX_INSTANCES,
                 max_history_events: int = DEFAULT_MAX_HISTORY_EVENTS,
                 payload_classes: Iterable[type] = ()) -> None:
        self.clock = VirtualClock(start_time)
        self.policy = policy if policy is not None else _policy.HostDefaultPolicy()
        self._registry = Registry()
        self._limits = HostLimits(max_episodes, max_actions, episode_timeout, function_timeout,
                                  max_repeats, drive_timeout)
        self._core = Scheduler(self.clock, self.policy, self._registry, self._limits, seed)
        self._core.executor.virtual_time = virtual_time_in_activities
        self._limits.max_depth = max_depth
        self._limits.max_instances = max_instances
        self._limits.max_history_events = max_history_events
        self._core.payloads.allow(*payload_classes)
        if determinism_probe:
            self._core.probe = DeterminismProbe(self._core.guard, episode_timeout)
        self._client: Optional[InMemoryClient] = None
        # The loopback management API (durable_testkit._server), started on demand.
        self.server: Any = None

    # -- limits (read by the core on every use) ---------------------------------------
    max_episodes = _Limit()
    max_actions = _Limit()
    episode_timeout = _Limit()

    @property
    def function_timeout(self) -> float:
        return self._limits.function_timeout

    @function_timeout.setter
    def function_timeout(self, value: float) -> None:
        self._limits.function_timeout = value
        self._core.executor.timeout = value

    @property
    def entity_batch_size(self) -> int:
        """Operations one entity batch holds at most (default 50)."""
        return self._core.entity_batch_size

    @entity_batch_size.setter
    def entity_batch_size(self, value: int) -> None:
        self._core.entity_batch_size = value

    @property
    def lock(self) -> Any:
        """Held by every runtime operation; hold it to make several atomic from another thread."""
        return self._core.lock

    @property
    def app(self) -> Optional["AppFunctions"]:
        """The discovered function app, when built with :meth:`from_app`."""
        return self._registry.app  # type: ignore[no-any-return]

    @app.setter
    def app(self, value: Optional["AppFunctions"]) -> None:
        self._registry.app = value

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
        rt._registry.load_app(functions)
        from ._versions import load_versioning

        rt._core.versioning = load_versioning(functions.root)  # host.json versioning settings
        return rt

    @property
    def versioning(self) -> Optional["VersioningSettings"]:
        """host.json's orchestration versioning settings (``from_app`` reads them); None: off.

        With a ``default_version``, new instances without a version get it, and each
        episode is refused (Reject: left pending; Fail: failed) when the instance's
        version does not match, as the extension does. See docs/replay.md.
        """
        return self._core.versioning

    @versioning.setter
    def versioning(self, value: Optional["VersioningSettings"]) -> None:
        self._core.versioning = value

    def register_orchestrator(self, name: str, fn: Callable[..., Any]) -> None:
        """Register a generator function, a ``df.Orchestrator.create`` handle or a V2 function."""
        self._registry.add_orchestrator(name, fn)

    def register_activity(self, name: str, fn: Callable[..., Any], *,
                          duration: Duration = None) -> None:
        """Register a plain or async function as an activity.

        Args:
            duration: virtual time each execution takes (a ``timedelta``, or a
                function of the input giving one); its completion arrives that
                long after it starts. Sleeps inside the function add to it.
        """
        self._registry.add_activity(name, fn, duration=duration)

    def register_entity(self, name: str, fn: Callable[..., Any]) -> None:
        """Register an entity function or ``df.Entity.create`` handle."""
        self._registry.add_entity(name, fn)

    def mock_activity(self, name: str, return_value: Any = None, side_effect: Any = None, *,
                      duration: Duration = None, allow_new: bool = False) -> None:
        """Replace (or define) an activity with canned behaviour.

        Args:
            name: the activity name the orchestrator calls.
            return_value: returned on every call when no side_effect is given.
            side_effect: a callable taking the input, an exception (class or
                instance) to raise, or an iterable of values and exceptions,
                one per call.
            duration: virtual time each call takes (see :meth:`register_activity`).
            allow_new: mock a name the app loaded by :meth:`from_app` does not have
                (by default that is refused as a likely typo).

        Raises:
            UnknownMockTarget: the runtime came from an app that has no activity
                ``name`` (with a "Did you mean") and ``allow_new`` is False.
        """
        reg = self._registry
        if reg.app is not None and not allow_new and name.lower() not in reg.activities:
            raise UnknownMockTarget(name, reg.activity_names())
        reg.add_mock(name, return_value, side_effect, duration)

    def set_http_handler(self, handler: Callable[[Dict[str, Any]], Dict[str, Any]]) -> None:
        """Answer ``context.call_http`` with ``handler(request) -> response dict``."""
        self._core.executor.http_handler = handler

    @property
    def unused_mocks(self) -> List[str]:
        """Mocked activities no orchestration has called (an expectation that never fired)."""
        return self._registry.unused_mocks

    # -- faults (durable_testkit.faults; the hooks live in durable_testkit._host.faults) --
    def inject(self, fault: _FaultT, *, check_name: bool = True) -> _FaultT:
        """Inject a fault built by :mod:`durable_testkit.faults`; returns it (``fault.fired``).

        Args:
            check_name: False injects a fault for a function registered later.

        Raises:
            UnknownFunctionError: the fault names an activity or orchestrator this
                runtime does not know.
        """
        with self.lock:
            self._core.faults.add(fault, self._registry if check_name else None)
            return fault

    @property
    def faults(self) -> List[Fault]:
        """Every fault injected into this runtime, in injection order."""
        return list(self._core.faults.all)

    @property
    def unfired_faults(self) -> List[Fault]:
        """Injected faults that never fired (an expectation that never happened)."""
        return [f for f in self._core.faults.all if f.fired == 0]

    # -- client-side operations -----------------------------------------------
    def start(self, name: str, input: Any = None, instance_id: Optional[str] = None,
              version: Optional[str] = None) -> str:
        """Start an orchestration; it runs when the runtime runs (wait, advance, ...).

        ``version`` is the instance's version (ExecutionStarted ``Version``, which the
        orchestrator reads as ``context.version``); None takes host.json's
        ``defaultVersion``, if any.
        """
        with self.lock:
            orch = self._registry.orchestrator(name)
            input_text = _sdk.dumps_payload(input, f"The input of orchestrator '{orch.name}'")
            return self._core.create_instance(orch.name, input_text, instance_id, parent=None,
                                              version=version)

    def raise_event(self, instance_id: str, event_name: str, data: Any = None) -> None:
        """Send an external event, as the HTTP API's raiseEvent with a JSON body does.

        Events for a completed instance are dropped, as the host drops them.
        (The Python client double-encodes the data; ``rt.client.raise_event``
        reproduces that, this method does not.)
        """
        with self.lock:
            inst = self._core.instance(instance_id)
            text = _sdk.dumps_payload(data, f"The data of event '{event_name}'")
            self._core.deliver_event(inst, event_name, text)

    def terminate(self, instance_id: str, reason: str = "") -> None:
        """Terminate a running instance; its output becomes the reason, as in Azure.

        Raises:
            InvalidOperationError: the instance already finished (the extension's
                ``DurableClient.TerminateAsync`` text).
        """
        with self.lock:
            self._core.terminate(self._core.instance(instance_id), reason)

    def suspend(self, instance_id: str, reason: str = "") -> None:
        """Suspend: arriving messages wait until :meth:`resume`.

        Raises:
            InvalidOperationError: the instance is suspended already or finished.
        """
        with self.lock:
            self._core.suspend(self._core.instance(instance_id), reason)

    def resume(self, instance_id: str, reason: str = "") -> None:
        """Resume a suspended instance; the messages it queued are delivered.

        Raises:
            InvalidOperationError: the instance is not suspended.
        """
        with self.lock:
            self._core.resume(self._core.instance(instance_id), reason)

    def purge(self, instance_id: str) -> int:
        """Delete an instance's state and history; returns how many were deleted (0 or 1).

        As with the default (Azure Storage) provider, purging one instance by id
        does not look at its status: a running instance is deleted too, and the
        work it had pending is dropped (docs/protocol.md, "Lifecycle operations").
        """
        with self.lock:
            inst = self._core.instances.pop(instance_id, None)
            return 0 if inst is None else 1

    # -- queries ----------------------------------------------------------------
    @property
    def now(self) -> datetime:
        """The virtual clock's current instant."""
        return self.clock.now

    @property
    def activity_calls(self) -> List[ActivityCall]:
        """Every activity execution so far, in the order the host ran them."""
        return list(self._core.activity_calls)

    @property
    def trace(self) -> List[TraceEntry]:
        """Every decision the host asked its policy, in order (empty under the default policy,
        which always takes option 0); ``PlannedPolicy(rt.trace)`` replays the run."""
        return list(self._core.trace)

    @property
    def stats(self) -> RuntimeStats:
        """Counters for benchmarks."""
        core = self._core
        return RuntimeStats(core.episodes, core.sdk_seconds, core.activity_seconds,
                            len(core.activity_calls))

    @property
    def instance_ids(self) -> List[str]:
        """Every instance this runtime knows, in creation order."""
        return list(self._core.instances)

    def status(self, instance_id: str) -> OrchestrationResult:
        """The instance's current state."""
        with self.lock:
            return _queries.result(self._core.instance(instance_id))

    def history(self, instance_id: str) -> InstanceHistory:
        """The current execution's history as an :class:`~durable_testkit.history.InstanceHistory`."""
        with self.lock:
            inst = self._core.instance(instance_id)
            return _queries.typed_history(inst.orchestrator, inst.instance_id, inst.execution.history)

    def export_history(self, instance_id: str, *, all_executions: bool = True) -> InstanceHistory:
        """Every execution's events (continue-as-new included), ready for ``save_history``."""
        with self.lock:
            inst = self._core.instance(instance_id)
            events: List[Dict[str, Any]] = []
            if all_executions:
                for past in inst.previous_executions:
                    events.extend(past)
            events.extend(inst.execution.history)
            return _queries.typed_history(inst.orchestrator, inst.instance_id, events)

    # -- entities (the work lives in durable_testkit._host.entities) ------------
    def signal_entity(self, entity_id: Any, operation_name: str, input: Any = None) -> None:
        """Signal an entity operation (fire and forget), as ``client.signal_entity`` does.

        Args:
            entity_id: a ``df.EntityId`` or an ``"@name@key"`` string.
        """
        with self.lock:
            _entities.signal_entity(self._core, entity_id, operation_name, input)

    def entity_state(self, entity_id: Any) -> Any:
        """The entity's current state (decoded), or None if it does not exist."""
        with self.lock:
            return _entities.entity_state(self._core, entity_id)

    def entity_statuses(self) -> List[_entities.EntityStatus]:
        """Every entity instance that has received an operation, in first-contact order."""
        with self.lock:
            return _entities.list_entities(self._core)

    # -- HTTP (durable_testkit._server and durable_testkit._http_functions) ------
    def client_binding(self) -> str:
        """The ``durableClient`` binding JSON for the real ``df.DurableOrchestrationClient``.

        Its URLs point at a loopback server playing the extension's management API,
        started on first use and stopped by :meth:`close`.
        """
        from ._server import client_binding

        return client_binding(self)

    def http(self, method: str, path: str, body: Any = None,
             headers: Optional[Mapping[str, str]] = None, *, raise_errors: bool = False) -> Any:
        """Invoke the app's HTTP-triggered function routed at ``path``, as the worker would.

        A starter that waits (``wait_for_completion_or_create_check_status_response``)
        drives this runtime on virtual time while it waits, as the host would run
        the orchestration meanwhile; nothing sleeps. A function that raises gets the
        host's answer, 500 with an empty body, and its exception is logged
        (``durable_testkit.http``); ``raise_errors=True`` raises it in the test instead.
        A path under ``/runtime/webhooks/durabletask/`` is the management API.
        """
        from ._http_functions import invoke_http

        # One bound for the whole call (a starter that waits drives many times), named
        # after it in a DriveTimeout. Not under the lock: a starter's real SDK client calls
        # the loopback server, whose thread takes it.
        with self._core.driving(f"rt.http({method!r}, {path!r})"):
            return invoke_http(self, method, path, body, headers, virtual_waits=True,
                               raise_errors=raise_errors)

    @property
    def client(self) -> "InMemoryClient":
        """An async drop-in for ``df.DurableOrchestrationClient`` bound to this runtime."""
        if self._client is None:
            from .client import InMemoryClient

            self._client = InMemoryClient(self)
        return self._client

    # -- driving ------------------------------------------------------------------
    def run_until_idle(self) -> None:
        """Run every piece of ready work, without moving virtual time."""
        with self.lock, self._core.driving("rt.run_until_idle()"):
            self._core.run_until_idle()

    def advance(self, delta: timedelta) -> None:
        """Move virtual time forward by ``delta``, firing timers in order as they come due.

        Raises:
            InvalidOperationError: ``delta`` is negative (time never moves back).
        """
        if delta < timedelta(0):
            raise InvalidOperationError(
                f"rt.advance({delta!r}): virtual time never moves backwards; pass a positive "
                "timedelta (rt.now is where it stands).")
        with self.lock, self._core.driving(f"rt.advance({delta!r})"):
            self._core.advance_to(self.clock.now + delta)

    def wait(self, instance_id: str) -> OrchestrationResult:
        """Run, skipping virtual time to each next timer, until the instance is finished.

        Raises:
            OrchestrationStuck: nothing can ever move the instance forward.
            DriveTimeout: it took more than ``drive_timeout`` seconds of real time.
        """
        with self.lock, self._core.driving(f"rt.wait('{instance_id}')"):
            return _queries.result(self._core.wait(instance_id))

    def run(self, name: str, input: Any = None, instance_id: Optional[str] = None,
            version: Optional[str] = None) -> OrchestrationResult:
        """Start an orchestration and wait for it to finish."""
        return self.wait(self.start(name, input, instance_id, version))

    def close(self) -> None:
        """Release the event loop used for async activities and the loopback server."""
        self._core.executor.close()
        self._client = None
        if self.server is not None:
            self.server.stop()
            self.server = None

    def __enter__(self) -> "InMemoryRuntime":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        core = self._core
        return (f"<InMemoryRuntime now={self.clock.now.isoformat()} "
                f"instances={len(core.instances)} ready={len(core.ready)} "
                f"timers={len(core.timers)}>")
