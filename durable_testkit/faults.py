"""Faults to inject into an ``InMemoryRuntime``: what "at least once" does to your code.

In Azure an activity runs at least once, not exactly once: the worker can die
after an activity's side effect and before its completion is checkpointed (the
host runs it again), a work item can be delivered twice, and an orchestrator
episode can be lost before its commit (its code runs again). Inject one of these
and watch what your orchestration does::

    from durable_testkit import faults

    fault = rt.inject(faults.crash_after_activity("charge", when=1))
    result = rt.run("checkout", order)
    assert fault.fired == 1

``when`` selects which matching executions a fault takes: an int n (the n-th,
1-based, counting re-runs too), a predicate taking a :class:`FaultContext`, or
None (the first ones). ``times`` bounds how often it fires. Every fault counts
how often it fired (``fault.fired``); ``rt.unfired_faults`` lists those that never
did, and :func:`durable_testkit.check_at_least_once` tries every single fault an
orchestration can meet. See docs/faults.md.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Optional, Type, Union

from ._host.faults import (CrashAfterActivity, CrashEpisode, DelayActivity, DuplicateActivity,
                           DuplicateEvent, FailActivity, Fault, FaultContext, When)

__all__ = ["Fault", "FaultContext", "crash_after_activity", "duplicate_activity",
           "crash_episode", "duplicate_event", "fail_activity", "delay_activity"]


def crash_after_activity(name: str, *, when: When = None, times: int = 1) -> Fault:
    """The activity runs, then the worker dies before its completion is checkpointed.

    The completion is lost and the host runs the same work item again (same input,
    same sequence number, the next attempt), as the real host does once the
    message's visibility timeout expires. The orchestrator sees one completion;
    the activity's side effects happen twice.
    """
    return CrashAfterActivity(name, when, times)


def duplicate_activity(name: str, *, when: When = None, times: int = 1) -> Fault:
    """The work item is delivered twice: both executions run.

    The host records the first completion and drops the second, as DTFx drops a
    completion for a task that is no longer open (docs/protocol.md).
    """
    return DuplicateActivity(name, when, times)


def crash_episode(orchestrator: Optional[str] = None, *, when: When = None,
                  times: int = 1) -> Fault:
    """An orchestrator episode runs, then the worker dies before the episode is committed.

    Its new history and actions are discarded and the same messages are delivered
    again: the orchestrator code runs that episode a second time, and nothing it
    scheduled in the lost episode happens until the re-run schedules it again.
    ``orchestrator=None`` takes episodes of any orchestrator.
    """
    return CrashEpisode(orchestrator, when, times)


def duplicate_event(name: str, *, when: When = None, times: int = 1) -> Fault:
    """An external event (``raise_event``) is delivered twice."""
    return DuplicateEvent(name, when, times)


def fail_activity(name: str, exception: Union[BaseException, Type[BaseException]], *,
                  when: When = None, times: int = 1) -> Fault:
    """The activity raises ``exception`` instead of running (a transient failure).

    Works for registered activities and mocks alike; the function is not called.
    An exception class is instantiated with a message naming the fault.
    """
    return FailActivity(name, exception, when, times)


def delay_activity(name: str, by: timedelta, *, when: When = None, times: int = 1) -> Fault:
    """The activity's completion arrives ``by`` of virtual time later.

    The activity runs at once (its side effects happen then); its answer races
    the orchestration's timers and events, as a slow worker's would.
    """
    return DelayActivity(name, by, when, times)
