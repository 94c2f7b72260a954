"""Hypothesis strategies that explore what the host may do: orderings, batches, faults, events.

Bugs in durable workflows hide in orderings: which completion arrives first, how
completions are batched into episodes, an event that races a timer, an activity
that runs twice. The in-memory host routes every such choice through one decision
point (:class:`~durable_testkit.policy.SchedulingPolicy`); :func:`host_schedules`
gives hypothesis that decision point, so it explores the choices and shrinks a
failure towards option 0, which is what the real host does by default.

How the choices are drawn: each decision is drawn *lazily*, while the runtime runs,
from hypothesis's ``st.data()`` object (the supported way to draw during a test:
the strategy is ``st.composite`` drawing ``st.data()`` and returning a policy that
holds it). A run asks as many decisions as it needs, and shrinking sees one
integer per decision. The falsifying example's notes list the decisions that were
not the default, in words ("run charge #2 before reserve #1"); so does the
schedule's ``repr`` once the run is over.

Example::

    @settings(max_examples=100, deadline=None)
    @given(schedule=host_schedules())
    def test_fan_out(schedule):
        rt = InMemoryRuntime(policy=schedule)
        ...
        assert result.output == expected, schedule   # the message names the decisions

Keep the failing schedule as a regression test with ``schedule.save(path)`` and
``@pytest.mark.durable_plan(path)`` (or ``PlannedPolicy.load(path)``).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import (Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union, final)

from hypothesis import note
from hypothesis import strategies as st

from .policy import (DELAY_STEPS, Decision, DecisionKind, PlannedPolicy, SchedulingPolicy,
                     WorkKind, WorkSubject)

__all__ = ["host_schedules", "event_arrivals", "HostSchedule", "EventArrivals"]

#: How often one piece of work may be hit by the same fault in one run: enough to find
#: retry and idempotency bugs, few enough that a run always ends.
MAX_FAULTS_PER_SUBJECT = 2


def _work(subject: WorkSubject) -> str:
    """How a decision's subject reads: ``charge #2`` (task 2 of its orchestration)."""
    if subject.kind is WorkKind.EPISODE:
        return f"the episode of {subject.name} [{subject.instance_id}]"
    if subject.kind is WorkKind.ENTITY:
        return f"the batch of entity {subject.instance_id}"
    return f"{subject.name} #{subject.seq}"


@final
class HostSchedule(SchedulingPolicy):
    """A scheduling policy whose every decision hypothesis draws (see :func:`host_schedules`).

    Attributes:
        decisions: every decision asked, as ``(kind, choice)``, in order.
        changes: the decisions that were not the default, in words.
    """

    # Hypothesis keeps the test's state per thread: the host asks this policy's decisions
    # on the thread that runs the test (user code still runs guarded on a worker).
    thread_bound = True

    def __init__(self, data: Any, *, reorder: bool, split_batches: bool,
                 lose_completions: bool, duplicate_activities: bool, crash_episodes: bool,
                 delay_activities: Optional[timedelta]) -> None:
        self._data = data
        self._allowed = {DecisionKind.NEXT_WORK.value: reorder,
                         DecisionKind.BATCH.value: split_batches,
                         DecisionKind.RECORD_COMPLETION.value: lose_completions,
                         DecisionKind.DUPLICATE_ACTIVITY.value: duplicate_activities,
                         DecisionKind.CRASH_EPISODE.value: crash_episodes,
                         DecisionKind.DELAY_ACTIVITY.value: delay_activities is not None}
        self._delay_options = 1 + sum(1 for d in DELAY_STEPS[1:]
                                      if delay_activities is not None and d <= delay_activities)
        self._faults: Dict[Tuple[str, str, Optional[int]], int] = {}
        self.decisions: List[Tuple[str, int]] = []
        self.changes: List[str] = []

    def wants(self, kind: str) -> bool:
        # The fault decisions are asked only when this schedule explores them, so a schedule
        # with them off asks exactly what a SeededPolicy would.
        return super().wants(kind) or self._allowed.get(str(kind), False)

    def decide(self, decision: Decision) -> int:
        kind = str(decision.kind)
        count = len(decision.options)
        if kind == DecisionKind.DELAY_ACTIVITY.value:
            count = min(count, self._delay_options)
        choice = 0
        if self._allowed.get(kind) and count > 1 and self._may_fault(kind, decision):
            choice = self._data.draw(st.integers(0, count - 1), label=kind)
        self.decisions.append((kind, choice))
        if choice:
            change = self._describe(decision, choice)
            self.changes.append(change)
            note(f"host schedule: {change}")
            if kind not in (DecisionKind.NEXT_WORK.value, DecisionKind.BATCH.value):
                key = self._fault_key(kind, decision)
                self._faults[key] = self._faults.get(key, 0) + 1
        return choice

    def _fault_key(self, kind: str, decision: Decision) -> Tuple[str, str, Optional[int]]:
        subject = decision.subject
        if subject is None:
            return kind, decision.instance_id or "", None
        # Crashes are counted per instance (a crashed episode is asked again as the next one).
        seq = None if kind == DecisionKind.CRASH_EPISODE.value else subject.seq
        return kind, subject.instance_id, seq

    def _may_fault(self, kind: str, decision: Decision) -> bool:
        if kind in (DecisionKind.NEXT_WORK.value, DecisionKind.BATCH.value):
            return True
        return self._faults.get(self._fault_key(kind, decision), 0) < MAX_FAULTS_PER_SUBJECT

    @staticmethod
    def _describe(decision: Decision, choice: int) -> str:
        kind = str(decision.kind)
        subject = decision.subject
        if kind == DecisionKind.NEXT_WORK.value and decision.candidates:
            picked, first = decision.candidates[choice], decision.candidates[0]
            where = f" [{picked.instance_id}]" if picked.instance_id != first.instance_id else ""
            return f"run {_work(picked)}{where} before {_work(first)}"
        if subject is None:
            return decision.options[choice]
        if kind == DecisionKind.BATCH.value:
            return (f"{decision.options[choice]} waiting messages to {_work(subject)}")
        if kind == DecisionKind.RECORD_COMPLETION.value:
            # The worker crashed after the activity ran, before its result was checkpointed.
            return f"crash after {_work(subject)} (its completion is lost: it runs again)"
        if kind == DecisionKind.DUPLICATE_ACTIVITY.value:
            return f"run {_work(subject)} twice (the second completion is dropped)"
        if kind == DecisionKind.CRASH_EPISODE.value:
            return (f"crash episode {subject.execution} of {subject.name} "
                    f"[{subject.instance_id}] before its commit")
        return decision.options[choice]  # delay-activity: "deliver the completion of x 1 min late"

    def plan(self) -> PlannedPolicy:
        """The decisions so far as a policy that replays them exactly."""
        return PlannedPolicy(self.decisions)

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Write the decisions as a plan (``PlannedPolicy.load(path)`` replays it).

        The file also lists the non-default decisions in words, for the reader;
        the replay reads only the decisions.
        """
        data = self.plan().to_json()
        # One decision a line: a plan is read in reviews and diffs.
        head = {k: v for k, v in data.items() if k != "decisions"}
        head["schedule"] = list(self.changes)
        lines = ",\n  ".join(json.dumps(d) for d in data["decisions"])
        text = json.dumps(head, indent=1)[:-2] + ',\n "decisions": [\n  ' + lines + "\n ]\n}"
        tmp = f"{os.fspath(path)}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
        os.replace(tmp, path)

    def __repr__(self) -> str:
        if not self.decisions:
            return "host_schedule(<decisions are drawn as the runtime runs; see the notes>)"
        if not self.changes:
            return f"host_schedule(the host's default order, {len(self.decisions)} decisions)"
        return "host_schedule(" + "; ".join(self.changes) + ")"


def host_schedules(*, reorder: bool = True, split_batches: bool = True,
                   lose_completions: bool = False, duplicate_activities: bool = False,
                   crash_episodes: bool = False,
                   delay_activities: Optional[timedelta] = None) -> st.SearchStrategy[HostSchedule]:
    """Scheduling policies whose every decision hypothesis draws and shrinks.

    Pass the drawn value as ``InMemoryRuntime(policy=schedule)``; use it in one
    runtime, within the test that drew it.

    Args:
        reorder: let ready work (activities, episodes, entity batches) run in any order.
        split_batches: let an episode receive only part of the messages waiting for it.
        lose_completions: let an activity's completion be lost, so it runs again (as
            after a worker crash between the activity and its checkpoint).
        duplicate_activities: let an activity's work item be delivered twice (both
            run; the host drops the second completion).
        crash_episodes: let an episode be lost before its commit, so it runs again on
            the same messages.
        delay_activities: the longest virtual delay a completion may arrive with
            (None: completions arrive at once). Delays come from a fixed ladder
            (1 s, 10 s, 1 min, 5 min, 30 min, 2 h, 1 day), so a saved plan replays them.
    """
    if delay_activities is not None and (not isinstance(delay_activities, timedelta)
                                         or delay_activities < timedelta(0)):
        raise TypeError(f"host_schedules(delay_activities={delay_activities!r}): give the "
                        "longest delay as a non-negative timedelta, or None for no delays")
    options = dict(reorder=reorder, split_batches=split_batches,
                   lose_completions=lose_completions,
                   duplicate_activities=duplicate_activities, crash_episodes=crash_episodes,
                   delay_activities=delay_activities)

    @st.composite
    def schedules(draw: st.DrawFn) -> HostSchedule:
        return HostSchedule(draw(st.data()), **options)  # type: ignore[arg-type]

    return schedules()


@dataclass(frozen=True)
class _Arrival:
    at: timedelta
    name: str
    data: Any


@final
class EventArrivals:
    """When each named external event arrives, relative to when ``apply`` starts.

    Attributes:
        arrivals: ``(offset, name, data)`` in arrival order.
    """

    def __init__(self, arrivals: Sequence[_Arrival]) -> None:
        self._arrivals = tuple(sorted(arrivals, key=lambda a: a.at))  # stable: ties keep order
        self.arrivals: Tuple[Tuple[timedelta, str, Any], ...] = tuple(
            (a.at, a.name, a.data) for a in self._arrivals)

    def at(self, name: str) -> timedelta:
        """The offset the (first) event called ``name`` arrives at."""
        for a in self._arrivals:
            if a.name == name:
                return a.at
        raise KeyError(f"no event called {name!r}; the events are "
                       f"{', '.join(repr(a.name) for a in self._arrivals)}")

    def apply(self, rt: Any, instance_id: str) -> None:
        """Raise each event at its time: advance the runtime to it, raise it, go on.

        Virtual time moves to each arrival in order (timers due on the way fire
        first); an event for an instance that has finished is dropped, as the host
        drops it. After the last event the runtime runs until idle; call
        ``rt.wait(instance_id)`` for the result.
        """
        elapsed = timedelta(0)
        for a in self._arrivals:
            rt.advance(a.at - elapsed)
            elapsed = a.at
            rt.raise_event(instance_id, a.name, a.data)
        rt.run_until_idle()

    def __repr__(self) -> str:
        parts = [f"{a.name} at +{a.at}" + ("" if a.data is None else f" ({a.data!r})")
                 for a in self._arrivals]
        return "event_arrivals(" + ", ".join(parts) + ")"


def event_arrivals(events: Union[Mapping[str, st.SearchStrategy[Any]], Sequence[str]], *,
                   within: timedelta, resolution: timedelta = timedelta(seconds=1)
                   ) -> st.SearchStrategy[EventArrivals]:
    """Arrival times for named external events inside a virtual window.

    Each event arrives once, at a whole multiple of ``resolution`` between 0 and
    ``within``; shrinking moves every arrival towards the start and keeps ties in
    the order the events are listed.

    Args:
        events: event names, or a mapping from each name to a strategy for its data.
        within: the window, from when ``apply`` starts.
        resolution: the step of the arrival times (default one second).
    """
    if not isinstance(within, timedelta) or within < timedelta(0):
        raise TypeError(f"event_arrivals(within={within!r}): give the window as a "
                        "non-negative timedelta")
    if not isinstance(resolution, timedelta) or resolution <= timedelta(0):
        raise TypeError(f"event_arrivals(resolution={resolution!r}): give a positive timedelta")
    named: List[Tuple[str, st.SearchStrategy[Any]]] = (
        list(events.items()) if isinstance(events, Mapping)
        else [(name, st.none()) for name in events])
    if not named:
        raise TypeError("event_arrivals() needs at least one event name")
    steps = int(within / resolution)

    @st.composite
    def arrivals(draw: st.DrawFn) -> EventArrivals:
        drawn = []
        for name, data in named:
            offset = draw(st.integers(0, steps), label=f"{name} at") * resolution
            drawn.append(_Arrival(offset, name, draw(data, label=f"{name} data")))
        return EventArrivals(drawn)

    return arrivals()
