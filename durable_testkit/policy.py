"""The one decision point of the in-memory host.

Every choice the host makes goes through :meth:`SchedulingPolicy.decide`:
which ready work runs next, how many waiting messages an episode receives,
whether an activity's completion is recorded. Option 0 is always what the
real host does by default (oldest work first, deliver everything that is
ready, record every completion), so the default policy is "always 0" and
exploration policies only need to pick other indexes, reproducibly from a seed.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

__all__ = ["Decision", "SchedulingPolicy", "HostDefaultPolicy", "SeededPolicy"]

NEXT_WORK = "next-work"
BATCH = "batch"
RECORD_COMPLETION = "record-completion"


@dataclass(frozen=True)
class Decision:
    """A choice the host is about to make.

    Attributes:
        kind: ``"next-work"`` (which ready item runs), ``"batch"`` (option i
            delivers all but the last i waiting messages) or
            ``"record-completion"`` (0 records an activity result, 1 loses it so
            the activity runs again, as at-least-once delivery allows).
        options: a readable description of each option, index 0 the default.
        instance_id: the instance the decision concerns, if one.
    """

    kind: str
    options: Tuple[str, ...]
    instance_id: Optional[str] = None


class SchedulingPolicy:
    """Base policy: answers each :class:`Decision` with an option index."""

    def decide(self, decision: Decision) -> int:
        """Return the index of the option to take."""
        return 0


class HostDefaultPolicy(SchedulingPolicy):
    """What the Durable host does: FIFO work, full batches, every completion recorded."""


@dataclass
class SeededPolicy(SchedulingPolicy):
    """Random but reproducible choices: the same seed gives the same run.

    Args:
        seed: seeds the private random generator.
        reorder: let ready work run in any order.
        split_batches: deliver only part of the waiting messages to an episode.
        lose_completion_rate: probability that an activity's completion is lost
            and the activity runs again.
    """

    seed: int = 0
    reorder: bool = True
    split_batches: bool = True
    lose_completion_rate: float = 0.0
    trace: List[Tuple[str, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def decide(self, decision: Decision) -> int:
        n = len(decision.options)
        choice = 0
        if decision.kind == NEXT_WORK and self.reorder:
            choice = self._rng.randrange(n)
        elif decision.kind == BATCH and self.split_batches:
            choice = self._rng.randrange(n)
        elif decision.kind == RECORD_COMPLETION and self.lose_completion_rate > 0:
            choice = 1 if self._rng.random() < self.lose_completion_rate else 0
        self.trace.append((decision.kind, choice))
        return choice
