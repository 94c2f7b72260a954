"""The activity executor: run one activity or ``call_http`` and say what happened.

Activities run in process, through the worker's own converter, under a
wall-clock guard. The executor only runs; whether the completion is recorded,
and where it goes, is the scheduler's decision. Faults plug in here: every
interceptor in :attr:`ActivityExecutor.interceptors` wraps each execution and
may run it, run it twice, replace its outcome or delay it.
"""
from __future__ import annotations

import asyncio
import inspect
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, List, Optional, Protocol, Tuple

from .. import _lazy, _sdk
from .._lazy import DecodedOnRead
from .._replay import Slot
from .._sync import run_sync
from .._guard import Guard
from ..errors import HttpHandlerMissing, RunawayFunction
from . import activity_clock as _clock
from .registry import ActivityRegistration, Duration

# pytest hides this module's frames in failure reports (--full-trace shows them):
# what the user needs is the line of their own code.
__tracebackhide__ = True

__all__ = ["ActivityExecution", "ActivityOutcome", "ActivityExecutor", "ActivityInterceptor"]


@dataclass(frozen=True)
class ActivityExecution:
    """One execution the host is about to run: what, for whom, which time.

    Attributes:
        name: the activity's registered name (``BuiltIn::HttpActivity`` for call_http).
        input_text: the input JSON text from the action.
        instance_id / execution_id: the orchestration that scheduled it.
        orchestrator: that orchestration's name.
        seq: the TaskScheduled sequence number.
        attempt: the retry attempt (1 = first), re-runs after lost completions count too.
        execution: which run of this activity name in the runtime this is (1 = first).
        started: the virtual instant it starts at (its clock, see ``activity_clock``).
    """

    name: str
    input_text: Optional[str]
    instance_id: str
    execution_id: Optional[str]
    orchestrator: str
    seq: int
    attempt: int
    execution: int
    started: Optional[datetime] = None  # the virtual instant it starts at
    redelivery: bool = False  # a second delivery of the work item (faults.duplicate_activity)


@dataclass(frozen=True)
class ActivityOutcome:
    """What one execution did.

    Attributes:
        value: the decoded input the function received.
        result: the decoded return value (None on failure), decoded from
            ``result_text`` when first read (``_lazy``): the host itself only needs the text.
        result_text: the JSON text the worker sends back.
        exception: what the function raised, if it failed.
        duration: virtual time the execution took.
        seconds: wall time spent in the function.
        fault: the name of the fault that affected it, if any.
        record: False when a fault lost the completion (the host runs it again).
        outputs: values the function set on its output bindings.
        duplicate: True when a fault delivers the work item twice: the host runs it
            again later and drops that second completion.
    """

    value: Any = None
    result: Any = DecodedOnRead(None)
    result_text: Optional[str] = None
    exception: Optional[BaseException] = None
    duration: timedelta = timedelta(0)
    seconds: float = 0.0
    fault: Optional[str] = None
    record: bool = True
    outputs: Dict[str, Any] = field(default_factory=dict)
    duplicate: bool = False

    def with_(self, **changes: Any) -> "ActivityOutcome":
        return replace(self, **{"result": _lazy.stored(self, "result"), **changes})


class ActivityInterceptor(Protocol):
    """A hook around each execution; call ``proceed()`` to run the function."""

    def intercept(self, execution: ActivityExecution,
                  proceed: Callable[[], ActivityOutcome]) -> ActivityOutcome: ...


class ActivityExecutor:
    """Runs activities for one runtime."""

    def __init__(self, timeout: Optional[float]) -> None:
        self.timeout = timeout
        self.interceptors: List[ActivityInterceptor] = []
        self.http_handler: Optional[Callable[[Dict[str, Any]], Dict[str, Any]]] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        # Runs each call off the host's thread under ``timeout`` (the scheduler's guard).
        self.guard = Guard()
        # datetime.now()/time.time()/sleep inside activities follow the virtual clock
        # (InMemoryRuntime(virtual_time_in_activities=False) turns it off).
        self.virtual_time = True

    def run(self, execution: ActivityExecution, activity: ActivityRegistration
            ) -> ActivityOutcome:
        """Run ``activity`` once through the interceptors."""
        def proceed() -> ActivityOutcome:
            return self._run(execution, activity)

        call = proceed
        for interceptor in reversed(self.interceptors):
            call = _bind(interceptor, execution, call)
        return call()

    def _run(self, execution: ActivityExecution, activity: ActivityRegistration
             ) -> ActivityOutcome:
        value, result_text, exception, duration, seconds, outputs = self.execute(
            activity, execution.input_text, execution.started, execution.instance_id)
        if exception is not None:
            return ActivityOutcome(value=value, exception=exception, duration=duration,
                                   seconds=seconds, outputs=outputs)
        return ActivityOutcome(value=value, result=_lazy.Encoded(result_text),
                               result_text=result_text, duration=duration, seconds=seconds,
                               outputs=outputs)

    def execute(self, activity: ActivityRegistration, input_text: Optional[str],
                started_at: Optional[datetime], instance_id: str) -> Executed:
        """Run the function once, through no interceptor: what the worker would report.

        The scheduler calls this directly when nothing intercepts (the common case),
        so the per-activity path builds no execution or outcome record.
        """
        started = time.perf_counter()
        value: Any = None
        clock: Optional[_clock.ActivityClock] = None
        # Output bindings (function.json "direction": "out", V2 output decorators): the worker
        # passes an Out object per name; what the function sets is kept for the test.
        outs = {n: _sdk.OutputBinding() for n in activity.outputs} if activity.outputs else None
        try:
            value = _sdk.decode_activity_input(input_text)
            if self.virtual_time and started_at is not None and _reads_time(activity):
                clock = _clock.ActivityClock(started_at)
            returned = self.guard.run(lambda: self._invoke(activity, value, clock, outs),
                                      self.timeout, lambda: self._runaway(activity, instance_id))
            result_text = _sdk.encode_activity_result(returned)
        except RunawayFunction:
            raise
        except Exception as exc:  # the worker reports any exception as a failed invocation
            return (value, None, exc, _duration(activity.duration, value, clock),
                    time.perf_counter() - started, _set_values(outs))
        return (value, result_text, None, _duration(activity.duration, value, clock),
                time.perf_counter() - started, _set_values(outs))

    def _invoke(self, activity: ActivityRegistration, value: Any,
                clock: Optional[_clock.ActivityClock],
                outs: Optional[Dict[str, Any]] = None) -> Any:
        """The user's call itself: what the guard runs (on its worker thread)."""
        if clock is None:
            return self._call(activity, value, None, outs)
        with _clock.virtual_time(clock, _namespaces(activity)):
            return self._call(activity, value, clock, outs)

    def _runaway(self, activity: ActivityRegistration, instance_id: str) -> RunawayFunction:
        loop, self._loop = self._loop, None  # an abandoned call may still be running it
        if loop is not None and not loop.is_running() and not loop.is_closed():
            loop.close()
        return RunawayFunction("activity", activity.name, instance_id, self.timeout or 0)

    def _call(self, activity: ActivityRegistration, value: Any,
              clock: Optional[_clock.ActivityClock] = None,
              outs: Optional[Dict[str, Any]] = None) -> Any:
        fn = activity.fn
        if outs:
            out = fn(**{activity.param or "input": value}, **outs)
        else:
            out = fn(**{activity.param: value}) if activity.param else fn(value)
        if type(out) not in _NEVER_AWAITABLE and inspect.isawaitable(out):
            if self._loop is None or self._loop.is_closed():
                self._loop = asyncio.new_event_loop()
            if clock is not None:  # it may run on a helper thread: take the clock along
                out = _clock.bind(clock, out)
            out = run_sync(out, self._loop, "durable-testkit-activity")
        return out

    def run_http(self, slot: Slot, instance_id: str, orchestrator: str
                 ) -> tuple[Optional[str], Optional[BaseException]]:
        """Answer a call_http action with the plugged-in handler: (response JSON, error)."""
        request = slot.action.get("httpRequest") or {}
        if self.http_handler is None:
            raise HttpHandlerMissing(instance_id, orchestrator, str(request.get("method")),
                                     str(request.get("uri")))
        try:
            response = self.http_handler(dict(request))
        except Exception as exc:
            return None, exc
        return _sdk.dumps_payload(response, "The call_http handler's response"), None

    def close(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.close()


#: Results that cannot be awaitables (the common ones): no ``isawaitable`` check for them.
_NEVER_AWAITABLE = frozenset({int, str, float, bool, type(None), list, dict, tuple})
_ZERO = timedelta(0)


def _set_values(outs: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    return {name: out.get() for name, out in outs.items()} if outs else {}


#: What one execution reported: (value, result_text, exception, duration, seconds,
#: outputs), as :meth:`ActivityExecutor.execute` returns it.
Executed = Tuple[Any, Optional[str], Optional[BaseException], timedelta, float, Dict[str, Any]]


def _reads_time(activity: ActivityRegistration) -> bool:
    """Whether the call may read the clock or sleep: else the patch is skipped (it costs µs).

    False for a mock answering canned values, and for a function whose code names nothing
    but builtins and its own locals (``return value * 2``): it can reach no clock.
    """
    mock = activity.mock
    fn: Any = activity.fn if mock is None else mock.callable
    if fn is None:
        return False
    code = getattr(fn, "__code__", None)
    if code is None:
        return True
    known = _CLOCK_FREE.get(code)
    if known is None:
        known = _CLOCK_FREE[code] = _names_nothing(code, getattr(fn, "__globals__", {}))
    return not known


#: code object -> True when it names no global (nor attribute) that could reach a clock.
_CLOCK_FREE: Dict[Any, bool] = {}


def _names_nothing(code: Any, namespace: Dict[str, Any]) -> bool:
    if any(name in namespace for name in code.co_names):
        return False  # a module, helper or class of the user's: it may read the time
    builtins_only = all(not hasattr(const, "co_names") or _names_nothing(const, namespace)
                        for const in code.co_consts)
    return builtins_only and not code.co_freevars


def _namespaces(activity: ActivityRegistration) -> tuple[Dict[str, Any], ...]:
    fn: Any = activity.fn
    if activity.mock is not None:
        fn = activity.mock.callable
    ns = getattr(fn, "__globals__", None)
    return (ns,) if isinstance(ns, dict) else ()


def _duration(configured: Duration, value: Any, clock: Optional[_clock.ActivityClock]
              ) -> timedelta:
    """How long the execution takes in virtual time: the test's duration plus its sleeps."""
    total = _ZERO if clock is None else clock.elapsed
    if configured is None:
        return total
    fixed = configured(value) if callable(configured) else configured
    if not isinstance(fixed, timedelta) or fixed < timedelta(0):
        raise TypeError(f"an activity's duration must be a non-negative timedelta (or a "
                        f"function of the input returning one), got {fixed!r}")
    return total + fixed


def _bind(interceptor: ActivityInterceptor, execution: ActivityExecution,
          proceed: Callable[[], ActivityOutcome]) -> Callable[[], ActivityOutcome]:
    return lambda: interceptor.intercept(execution, proceed)
