"""Spotting a poll that never lets virtual time move, within seconds.

Here activities take no virtual time unless told, so an orchestrator that polls
with no durable timer ("call check_status until it says done") asks again at the
same instant forever, and each episode replays a longer history: it would run
thousands of ever slower episodes before any bound stopped it. The watch looks at
what each episode schedules at one instant and stops it once the same work keeps
coming back:

* **the same work, inputs included**, ``limit`` times in a row: a poll;
* **the same functions, only their inputs changing, for the same answers**,
  ``3 * limit`` times: a poll carrying a counter (``{"attempt": i}``). A loop over
  items gets other answers (or, when its activity answers ``None`` each time, is
  stopped only after three times as many steps; ``max_repeats`` raises the bound);
* either of them **in a cycle** of up to four episodes: an execution that polls and
  then calls ``continue_as_new`` repeats over two episodes, not one.

A fan-out (more than 8 tasks in an episode) is never a poll, and a new instant
starts the count again.
"""
from __future__ import annotations

from collections import deque
from datetime import datetime
from typing import Any, Deque, Dict, List, Optional, Sequence, Tuple

from ..history import EventType
from .._replay import Slot, SlotKind

__all__ = ["SpinWatch", "Spin", "LOOSE_FACTOR"]

#: How many more repetitions the watch allows when only the inputs change.
LOOSE_FACTOR = 3
_MAX_PERIOD = 4
_FAN_OUT = 8
_ANSWERS = {int(EventType.TaskCompleted): "Result", int(EventType.TaskFailed): "Reason",
            int(EventType.SubOrchestrationInstanceCompleted): "Result",
            int(EventType.SubOrchestrationInstanceFailed): "Reason",
            int(EventType.EventRaised): "Input", int(EventType.TimerFired): None}


class Spin:
    """What the watch found: ``episodes`` in a row at ``instant`` repeating ``slots``."""

    __slots__ = ("episodes", "instant", "slots", "inputs_change")

    def __init__(self, episodes: int, instant: datetime, slots: Sequence[Slot],
                 inputs_change: bool) -> None:
        self.episodes = episodes
        self.instant = instant
        self.slots = tuple(slots)
        self.inputs_change = inputs_change


class _Track:
    """One instance's episodes at the current instant."""

    __slots__ = ("instant", "strict", "loose", "slots", "strict_runs", "loose_runs")

    def __init__(self, instant: datetime) -> None:
        self.instant = instant
        self.strict: Deque[Any] = deque(maxlen=_MAX_PERIOD)
        self.loose: Deque[Any] = deque(maxlen=_MAX_PERIOD)
        self.slots: Deque[Sequence[Slot]] = deque(maxlen=_MAX_PERIOD)
        # runs[p - 1]: how many episodes in a row equal the one p episodes before.
        self.strict_runs = [0] * _MAX_PERIOD
        self.loose_runs = [0] * _MAX_PERIOD


def _advance(history: Deque[Any], runs: List[int], signature: Any) -> None:
    n = len(history)
    for p in range(1, _MAX_PERIOD + 1):
        runs[p - 1] = runs[p - 1] + 1 if n >= p and history[-p] == signature else 0
    history.append(signature)


def _answers(messages: Sequence[Dict[str, Any]]) -> Tuple[Any, ...]:
    """What the episode was told: each completion's kind and value, not its numbers."""
    told = []
    for m in messages:
        kind = m.get("EventType")
        if kind in _ANSWERS:
            key = _ANSWERS[kind]
            told.append((kind, m.get("Name"), m.get(key) if key else None))
    return tuple(told)


class SpinWatch:
    """Per-instance repetition counts for one runtime (the scheduler owns one)."""

    def __init__(self) -> None:
        self._tracks: Dict[str, _Track] = {}

    def forget(self, instance_id: str) -> None:
        self._tracks.pop(instance_id, None)

    def observe(self, instance_id: str, now: datetime, slots: Sequence[Slot],
                continued: bool, messages: Sequence[Dict[str, Any]],
                limit: int) -> Optional[Spin]:
        """Count one episode; a :class:`Spin` when the instance is polling in place."""
        if len(slots) > _FAN_OUT:  # a fan-out: not a poll
            self._tracks.pop(instance_id, None)
            return None
        track = self._tracks.get(instance_id)
        if track is None or track.instant != now:
            track = self._tracks[instance_id] = _Track(now)
        shape = tuple((s.kind, s.name, s.fire_at) for s in slots)
        strict = (continued, shape,
                  tuple(s.action.get("input") for s in slots if s.kind is not SlotKind.TIMER))
        _advance(track.strict, track.strict_runs, strict)
        _advance(track.loose, track.loose_runs, (continued, shape, _answers(messages)))
        track.slots.append(slots)
        for p in range(1, _MAX_PERIOD + 1):
            for runs, bound, loose in ((track.strict_runs, limit, False),
                                       (track.loose_runs, limit * LOOSE_FACTOR, True)):
                # ``bound`` cycles of p episodes; a longer cycle must repeat at least once.
                if runs[p - 1] >= max((bound - 1) * p, p if p > 1 else 0):
                    del self._tracks[instance_id]
                    cycle = list(track.slots)[-p:]
                    return Spin(runs[p - 1] + p, now, [s for ep in cycle for s in ep], loose)
        return None
