"""Replay a recorded history against the current orchestrator code, without running anything.

This is the check the host makes on every episode, offered on its own: given a
history (saved by the runtime, or exported from production) and the code as it
is now, does the code still produce the same scheduling decisions? Activities,
timers and sub-orchestrations are never run: their outcomes come from history.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from . import _protocol as p
from . import _sdk
from ._host.episode import ND_PREFIX, EpisodeEnd, replay_events
from .errors import HistoryFormatError, NonDeterminismError
from .history import InstanceHistory, load_history, render_timeline

__all__ = ["ReplayResult", "ReplayCheck", "replay_history", "replay_episode", "check_histories"]

HistoryLike = Union[InstanceHistory, Sequence[Dict[str, Any]], str, "os.PathLike[str]"]


@dataclass(frozen=True)
class ReplayResult:
    """What the code did when replayed on a history.

    Attributes:
        orchestrator: the orchestrator's name.
        instance_id: the instance the history belongs to.
        is_done: the orchestrator finished (returned, failed or continued as new).
        output: its output if it returned.
        error: the orchestrator's own error text if it raised.
        actions: the SDK's action list (wire dicts), for comparing two replays.
        new_work: readable descriptions of work the code schedules beyond the
            history (empty when the history already records it all).
    """

    orchestrator: str
    instance_id: str
    is_done: bool
    output: Any
    error: Optional[str]
    actions: Tuple[Dict[str, Any], ...]
    new_work: Tuple[str, ...]


def replay_history(orchestrator: Callable[..., Any], history: HistoryLike) -> ReplayResult:
    """Replay the last execution of ``history`` against ``orchestrator``.

    Args:
        orchestrator: a generator function, a ``df.Orchestrator.create`` handle or a
            V2 decorated function.
        history: an :class:`InstanceHistory`, a list of wire events, or a history file path.

    Raises:
        NonDeterminismError: the code's decisions differ from the history's.
    """
    record = _as_history(history)
    events = list(record.executions[-1]) if record.events else []
    return _replay(orchestrator, record, [e.to_wire() for e in events])


def replay_episode(orchestrator: Callable[..., Any], history: HistoryLike,
                   episode: int) -> ReplayResult:
    """Replay the code as it ran in episode ``episode`` (0-based) of the last execution.

    The history is cut after that episode's new events, before the scheduling
    events the host appended in answer, so the result shows what the code
    decides there now; compare ``actions`` across code versions.
    """
    record = _as_history(history)
    wire = [e.to_wire() for e in record.executions[-1]]
    starts = [i for i, e in enumerate(wire) if e["EventType"] == p.ORCHESTRATOR_STARTED]
    if not 0 <= episode < len(starts):
        raise HistoryFormatError(
            f"episode {episode} does not exist: the last execution has {len(starts)} "
            "episode(s), numbered from 0")
    end = starts[episode + 1] if episode + 1 < len(starts) else len(wire)
    cut = starts[episode] + 1
    while cut < end and wire[cut]["EventType"] not in _SCHEDULING and \
            wire[cut]["EventType"] not in (p.EXECUTION_COMPLETED, p.ORCHESTRATOR_COMPLETED):
        cut += 1
    return _replay(orchestrator, record, wire[:cut])


_SCHEDULING = {p.TASK_SCHEDULED, p.TIMER_CREATED, p.SUB_ORCHESTRATION_CREATED, p.EVENT_SENT}


def _as_history(history: HistoryLike) -> InstanceHistory:
    if isinstance(history, InstanceHistory):
        return history
    if isinstance(history, (str, os.PathLike)):
        return load_history(history)
    return InstanceHistory.from_events(list(history))


def _replay(orchestrator: Callable[..., Any], record: InstanceHistory,
            wire: List[Dict[str, Any]]) -> ReplayResult:
    handle = _sdk.orchestrator_handle(record.orchestrator, orchestrator)
    outcome, _ = replay_events(handle, wire, instance_id=record.instance_id,
                               orchestrator=record.orchestrator)
    if outcome.end is EpisodeEnd.CRASHED:
        assert outcome.crashed is not None
        raise outcome.crashed
    nd = outcome.divergence
    if nd is not None:
        raise NonDeterminismError(
            ND_PREFIX + nd.detail, instance_id=record.instance_id,
            orchestrator=record.orchestrator, event_index=nd.event_index, expected=nd.expected,
            actual=nd.actual,
            timeline=render_timeline(wire, mark=nd.event_index if nd.event_index >= 0 else None,
                                     around=6)) from None
    return ReplayResult(record.orchestrator, record.instance_id, outcome.is_done, outcome.output,
                        outcome.error, outcome.actions, tuple(s.describe() for s in outcome.slots))


@dataclass(frozen=True)
class ReplayCheck:
    """The verdict on one stored history: does the current code still replay it?"""

    path: str
    orchestrator: str
    ok: bool
    message: str


def check_histories(app: Any, paths: Sequence[Union[str, "os.PathLike[str]"]]) -> List[ReplayCheck]:
    """Replay each history file against the app's current orchestrator of the same name.

    This is the check to run in CI before deploying a change to running orchestrations:
    a history saved from a test or exported from production that no longer replays is an
    instance the deployment would break.

    Args:
        app: anything :func:`durable_testkit.app.discover_app` accepts.
        paths: history files (see docs/history-format.md).
    """
    from .app import discover_app
    from .errors import DurableTestkitError

    functions = discover_app(app)
    checks = []
    for path in paths:
        name = "?"
        try:
            record = load_history(path)
            name = record.orchestrator
            info = functions.get(name, "orchestrator")
            result = replay_history(info.function, record)
            state = "finished" if result.is_done else "in flight"
            message = f"replays cleanly ({state}" + (
                f", next: {', '.join(result.new_work)})" if result.new_work else ")")
            checks.append(ReplayCheck(str(path), name, True, message))
        except (DurableTestkitError, OSError) as exc:
            checks.append(ReplayCheck(str(path), name, False, str(exc)))
    return checks
