"""``check_at_least_once``: run an orchestration under every single fault it can meet.

It runs the orchestration once without faults to find every fault point (each
activity execution, each orchestrator episode, each external event delivery),
then once more per fault point with that one fault injected, and calls the
test's ``check(result, rt)`` after each run. What "at least once" can do to an
orchestration in Azure is thereby tried exhaustively, one fault at a time.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import (TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple,
                    final)

from ._host.faults import (CrashAfterActivity, CrashEpisode, DuplicateActivity, DuplicateEvent,
                           Fault, FaultContext)
from .errors import FaultCheckFailed
from .history import render_timeline
from .status import OrchestrationResult

if TYPE_CHECKING:  # pragma: no cover
    from .runtime import InMemoryRuntime

__all__ = ["check_at_least_once", "FaultCheckReport", "FaultPoint", "FaultPointResult"]

#: The faults "at least once" delivery can cause, as ``check_at_least_once`` tries them.
AT_LEAST_ONCE_KINDS: Tuple[str, ...] = ("crash_after_activity", "duplicate_activity",
                                        "crash_episode", "duplicate_event")

_BUILDERS: Dict[str, Callable[[str, int], Fault]] = {
    "crash_after_activity": lambda name, n: CrashAfterActivity(name, n, 1),
    "duplicate_activity": lambda name, n: DuplicateActivity(name, n, 1),
    "crash_episode": lambda name, n: CrashEpisode(name, n, 1),
    "duplicate_event": lambda name, n: DuplicateEvent(name, n, 1),
}


@final
@dataclass(frozen=True)
class FaultPoint:
    """One place a fault can strike, found in the run without faults.

    Attributes:
        kind: the fault (one of :data:`AT_LEAST_ONCE_KINDS`).
        name: the activity, orchestrator or event name.
        when: which matching execution (1-based), as ``faults.<kind>(name, when=...)``.
        instance_id: the instance it concerned in the run without faults.
        where: a sentence saying what happens there.
    """

    kind: str
    name: str
    when: int
    instance_id: str
    where: str

    def fault(self) -> Fault:
        """A fresh fault for this point."""
        return _BUILDERS[self.kind](self.name, self.when)

    @property
    def reproduce(self) -> str:
        """The one line that injects this fault."""
        return f"rt.inject({self.fault().describe()})"

    def __str__(self) -> str:
        return f"{self.fault().describe()}: {self.where}"


@final
@dataclass(frozen=True)
class FaultPointResult:
    """How the run with one fault point went.

    Attributes:
        point: the fault point.
        passed: the run finished and ``check`` accepted it.
        fired: how often the fault fired (0: the run took another path).
        error: what the run or ``check`` raised, if it did not pass.
        result: the orchestration's result, if the run finished.
    """

    point: FaultPoint
    passed: bool
    fired: int
    error: Optional[BaseException] = None
    result: Optional[OrchestrationResult] = None


@final
@dataclass(frozen=True)
class FaultCheckReport:
    """Every fault point ``check_at_least_once`` tried, and how each went.

    Attributes:
        orchestrator: the orchestration checked.
        baseline: its result without faults.
        results: one entry per fault point, in the order they were found.
    """

    orchestrator: str
    baseline: OrchestrationResult
    results: Tuple[FaultPointResult, ...]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failures(self) -> Tuple[FaultPointResult, ...]:
        return tuple(r for r in self.results if not r.passed)

    def __str__(self) -> str:
        lines = [f"check_at_least_once({self.orchestrator!r}): {len(self.results)} fault points, "
                 f"{len(self.failures)} failed"]
        for r in self.results:
            mark = "ok  " if r.passed else "FAIL"
            lines.append(f"  {mark} {r.point}")
        return "\n".join(lines)


def check_at_least_once(make_runtime: Callable[[], "InMemoryRuntime"], name: str,
                        input: Any = None, *,
                        check: Callable[[OrchestrationResult, "InMemoryRuntime"], Any],
                        kinds: Sequence[str] = AT_LEAST_ONCE_KINDS,
                        drive: Optional[Callable[["InMemoryRuntime"], OrchestrationResult]] = None,
                        raise_on_failure: bool = True) -> FaultCheckReport:
    """Run ``name`` once per fault point with that one fault injected; check every run.

    Args:
        make_runtime: returns a fresh, configured ``InMemoryRuntime`` (called once
            per run, so no state leaks between runs).
        name: the orchestrator to start; ``input`` its input.
        check: ``check(result, rt)`` raises (e.g. ``assert``) when a run is wrong:
            look at the output and at your side effects (``rt.activity_calls``, a
            fake store). It must pass without faults first; if it does not, its
            error propagates unchanged.
        kinds: which faults to try (default: all of :data:`AT_LEAST_ONCE_KINDS`).
        drive: runs the orchestration on a runtime and returns its result, for
            orchestrations that need events (default ``rt.run(name, input)``).
        raise_on_failure: raise :class:`FaultCheckFailed` if a point fails
            (default); False returns the report either way.

    Raises:
        FaultCheckFailed: names the first fault point that broke ``check``, with the
            instance's history and the one line that reproduces it.
    """
    unknown = [k for k in kinds if k not in _BUILDERS]
    if unknown:
        raise ValueError(f"check_at_least_once: unknown fault kinds {unknown}; the kinds are "
                         f"{', '.join(AT_LEAST_ONCE_KINDS)}")
    run = drive if drive is not None else (lambda rt: rt.run(name, input))

    rt = _fresh(make_runtime)
    episodes: List[FaultContext] = []
    events: List[FaultContext] = []
    rt.inject(CrashEpisode(None, _recorder(episodes), 1))
    rt.inject(DuplicateEvent(None, _recorder(events), 1))
    try:
        baseline = run(rt)
        check(baseline, rt)
        calls = rt.activity_calls
    finally:
        rt.close()

    points = _points(set(kinds), calls, episodes, events)
    results: List[FaultPointResult] = []
    first_failure: Optional[Tuple[FaultPointResult, str, Optional[str]]] = None
    for point in points:
        rt = _fresh(make_runtime)
        fault = rt.inject(point.fault())
        result: Optional[OrchestrationResult] = None
        error: Optional[BaseException] = None
        try:
            result = run(rt)
            check(result, rt)
        except Exception as exc:  # a failed check or a run that broke: both fail the point
            error = exc
        outcome = FaultPointResult(point, error is None, fault.fired, error, result)
        results.append(outcome)
        if error is not None and first_failure is None:
            iid = point.instance_id if point.instance_id in rt.instance_ids else (
                result.instance_id if result is not None else None)
            timeline = render_timeline(rt.history(iid).events) if iid is not None else ""
            first_failure = (outcome, timeline, iid)
        rt.close()

    report = FaultCheckReport(name, baseline, tuple(results))
    if first_failure is not None and raise_on_failure:
        failed, timeline, iid = first_failure
        assert failed.error is not None
        raise FaultCheckFailed(name, failed.point.fault().describe(), failed.point.where,
                               failed.error, iid, timeline,
                               [r.point.fault().describe() for r in report.failures],
                               len(results), report)
    return report


def _fresh(make_runtime: Callable[[], "InMemoryRuntime"]) -> "InMemoryRuntime":
    rt = make_runtime()
    if not callable(getattr(rt, "inject", None)):
        raise TypeError("check_at_least_once: make_runtime() must return a fresh, configured "
                        f"InMemoryRuntime, not {rt!r}")
    return rt


def _recorder(into: List[FaultContext]) -> Callable[[FaultContext], bool]:
    """A ``when`` that never fires and keeps every context it is asked about."""
    def record(ctx: FaultContext) -> bool:
        into.append(ctx)
        return False
    return record


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _points(kinds: set[str], calls: Sequence[Any], episodes: Sequence[FaultContext],
            events: Sequence[FaultContext]) -> List[FaultPoint]:
    points: List[FaultPoint] = []
    seen: Dict[str, int] = {}
    for call in calls:
        n = seen[call.name.lower()] = seen.get(call.name.lower(), 0) + 1
        what = (f"the {_ordinal(n)} execution of activity '{call.name}' (task #{call.task_id} "
                f"of instance '{call.instance_id}')")
        if "crash_after_activity" in kinds:
            points.append(FaultPoint("crash_after_activity", call.name, n, call.instance_id,
                                     f"{what} lost its completion after it ran"))
        if "duplicate_activity" in kinds:
            points.append(FaultPoint("duplicate_activity", call.name, n, call.instance_id,
                                     f"{what} was delivered twice"))
    if "crash_episode" in kinds:
        seen = {}
        for ctx in episodes:
            n = seen[ctx.name.lower()] = seen.get(ctx.name.lower(), 0) + 1
            points.append(FaultPoint(
                "crash_episode", ctx.name, n, ctx.instance_id,
                f"the {_ordinal(n)} episode of orchestrator '{ctx.name}' (episode "
                f"{ctx.execution} of instance '{ctx.instance_id}') was lost before its commit"))
    if "duplicate_event" in kinds:
        seen = {}
        for ctx in events:
            n = seen[ctx.name.lower()] = seen.get(ctx.name.lower(), 0) + 1
            points.append(FaultPoint(
                "duplicate_event", ctx.name, n, ctx.instance_id,
                f"the {_ordinal(n)} delivery of event '{ctx.name}' (to instance "
                f"'{ctx.instance_id}') arrived twice"))
    return points
