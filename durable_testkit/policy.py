"""The one decision point of the in-memory host, and the policies that answer it.

Every choice the host makes goes through :meth:`SchedulingPolicy.decide`:
which ready work runs next, how many waiting messages an episode receives,
whether an activity's completion is recorded. Option 0 is always what the
real host does by default (oldest work first, deliver everything that is
ready, record every completion), so the default policy is "always 0" and
exploration shrinks towards the real host.

Each decision carries a structured subject (:class:`WorkSubject`), so a policy
can target "the second execution of charge_payment", and the host records
every decision it asks in a trace (``rt.trace``) that :class:`PlannedPolicy`
replays choice by choice.
"""
from __future__ import annotations

import enum
import json
import os
import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from .errors import DurableTestkitError, PlanMismatch

__all__ = ["Decision", "DecisionKind", "WorkKind", "WorkSubject", "TraceEntry",
           "SchedulingPolicy", "HostDefaultPolicy", "SeededPolicy", "PlannedPolicy"]


class DecisionKind(str, enum.Enum):
    """What a decision chooses. The values are the strings earlier versions used."""

    NEXT_WORK = "next-work"
    """Which ready item runs next (option i = the i-th oldest)."""
    BATCH = "batch"
    """Option i delivers all but the last i waiting messages to one episode or entity batch."""
    RECORD_COMPLETION = "record-completion"
    """0 records an activity's completion; 1 loses it and the activity runs again."""
    DUPLICATE_ACTIVITY = "duplicate-activity"
    """0 delivers an activity's work item once; 1 delivers it twice (both run, the second
    completion is dropped). Asked only of policies that want it (:meth:`SchedulingPolicy.wants`)."""
    CRASH_EPISODE = "crash-episode"
    """0 commits an episode; 1 loses it after it ran (the worker died), so its messages are
    delivered again. Asked only of policies that want it."""
    DELAY_ACTIVITY = "delay-activity"
    """Option i delivers an activity's completion i steps of virtual time late (0: at once).
    Asked only of policies that want it."""

    def __str__(self) -> str:
        return self.value


# Kept for code written against the string constants.
NEXT_WORK = DecisionKind.NEXT_WORK
BATCH = DecisionKind.BATCH
RECORD_COMPLETION = DecisionKind.RECORD_COMPLETION

# The decisions every policy is asked (the scheduler asks them of any policy but the host
# default); the later kinds are asked only of a policy whose ``wants`` says so, so adding
# them changed nothing for existing policies (a SeededPolicy run asks what it always did).
_ALWAYS_ASKED = frozenset({DecisionKind.NEXT_WORK.value, DecisionKind.BATCH.value,
                           DecisionKind.RECORD_COMPLETION.value})


#: What option i of a delay-activity decision delays a completion by (virtual time). Fixed,
#: so a saved plan (which keeps only the option numbers) replays the same delays.
DELAY_STEPS: Tuple[timedelta, ...] = (
    timedelta(0), timedelta(seconds=1), timedelta(seconds=10), timedelta(minutes=1),
    timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(days=1))


class WorkKind(str, enum.Enum):
    """A kind of work the host schedules."""

    EPISODE = "episode"
    ACTIVITY = "activity"
    HTTP = "http"
    ENTITY = "entity"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class WorkSubject:
    """What a piece of work is, for policies and faults to target.

    Attributes:
        kind: episode, activity, http call or entity batch.
        name: the activity, orchestrator or entity name.
        instance_id: the orchestration instance (the entity id for entity batches).
        seq: the sequence number (TaskScheduled ``EventId``) of an activity.
        attempt: the retry attempt of ``call_activity_with_retry`` (1 = first).
        execution: which run of this function this is, counting every run of the
            same name in the runtime, re-runs included (1 = first).
    """

    kind: WorkKind
    name: Optional[str]
    instance_id: str
    seq: Optional[int] = None
    attempt: int = 1
    execution: int = 1

    def __str__(self) -> str:
        if self.kind is WorkKind.EPISODE:
            return f"episode of {self.name} [{self.instance_id}]"
        if self.kind is WorkKind.ENTITY:
            return f"entity batch of {self.instance_id}"
        return f"{self.name}#{self.execution}"


@dataclass(frozen=True)
class Decision:
    """A choice the host is about to make.

    Attributes:
        kind: a :class:`DecisionKind` (compares equal to its string value).
        options: a readable description of each option, index 0 the default.
        instance_id: the instance the decision concerns, if one.
        subject: the work the decision concerns (record-completion: the activity
            execution; batch: the episode or entity batch).
        candidates: for next-work, the subject of each option.
    """

    kind: str
    options: Tuple[str, ...]
    instance_id: Optional[str] = None
    subject: Optional[WorkSubject] = None
    candidates: Tuple[WorkSubject, ...] = ()


@dataclass(frozen=True)
class TraceEntry:
    """One decision the host asked and the option it took."""

    kind: str
    choice: int
    options: int
    label: str = ""

    def to_json(self) -> Dict[str, Any]:
        return {"kind": str(self.kind), "choice": self.choice, "options": self.options,
                "label": self.label}


class SchedulingPolicy:
    """Base policy: answers each :class:`Decision` with an option index."""

    def decide(self, decision: Decision) -> int:
        """Return the index of the option to take."""
        return 0

    def wants(self, kind: str) -> bool:
        """Whether the host should ask this policy decisions of ``kind``.

        True for next-work, batch and record-completion, which every policy is
        asked; False for the fault decisions (duplicate-activity, crash-episode,
        delay-activity), which a policy opts into by overriding this. The host
        reads it once, when the runtime is built.
        """
        return str(kind) in _ALWAYS_ASKED


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
        self.trace.append((str(decision.kind), choice))
        return choice


PLAN_FORMAT = "durable-testkit/plan"
PLAN_VERSION = 1


class PlannedPolicy(SchedulingPolicy):
    """Replays a recorded trace exactly: decision i takes the choice recorded at i.

    Decisions past the end of the plan take option 0 (the real host), so a plan
    that lists only the start of a run replays that start and then runs as the
    host would.

    Args:
        decisions: the recorded choices, as ``rt.trace`` entries or
            ``(kind, choice)`` pairs.
    """

    def __init__(self, decisions: Sequence[Union[TraceEntry, Tuple[str, int]]] = ()) -> None:
        self.decisions: List[Tuple[str, int]] = [
            (str(d.kind), d.choice) if isinstance(d, TraceEntry) else (str(d[0]), int(d[1]))
            for d in decisions]
        self.position = 0
        self._kinds = frozenset(kind for kind, _ in self.decisions)

    def wants(self, kind: str) -> bool:
        # A recorded run that wanted a fault decision recorded every one it was asked
        # (choice 0 included), so its kinds say exactly what the replay must be asked.
        return str(kind) in _ALWAYS_ASKED or str(kind) in self._kinds

    def decide(self, decision: Decision) -> int:
        index = self.position
        self.position += 1
        if index >= len(self.decisions):
            return 0
        kind, choice = self.decisions[index]
        if kind != str(decision.kind):
            raise PlanMismatch(index, kind, str(decision.kind), decision.options)
        if not 0 <= choice < len(decision.options):
            raise PlanMismatch(index, f"{kind} (option {choice})", str(decision.kind),
                               decision.options)
        return choice

    def to_json(self) -> Dict[str, Any]:
        return {"format": PLAN_FORMAT, "version": PLAN_VERSION,
                "decisions": [[kind, choice] for kind, choice in self.decisions]}

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Write the plan as a small JSON file."""
        text = json.dumps(self.to_json(), indent=1)
        tmp = f"{os.fspath(path)}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
        os.replace(tmp, path)

    @classmethod
    def from_json(cls, data: Any, path: Optional[str] = None) -> "PlannedPolicy":
        where = f"{path}: " if path else ""
        if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
            raise DurableTestkitError(
                f"{where}not a durable-testkit plan (expected an object with "
                f"\"format\": \"{PLAN_FORMAT}\"); save one with schedule.save(path).")
        if data.get("version") != PLAN_VERSION:
            raise DurableTestkitError(f"{where}plan version {data.get('version')!r} is not "
                                      f"supported (this durable-testkit reads {PLAN_VERSION}).")
        raw = data.get("decisions")
        if not isinstance(raw, list) or not all(
                isinstance(d, list) and len(d) == 2 and isinstance(d[0], str)
                and isinstance(d[1], int) and not isinstance(d[1], bool) and d[1] >= 0
                for d in raw):
            raise DurableTestkitError(f"{where}\"decisions\" must be a list of [kind, choice] "
                                      "pairs with a non-negative integer choice.")
        return cls([(d[0], d[1]) for d in raw])

    @classmethod
    def load(cls, path: Union[str, "os.PathLike[str]"]) -> "PlannedPolicy":
        """Read a plan written by :meth:`save` (or ``schedule.save``)."""
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError) as exc:
            raise DurableTestkitError(f"{os.fspath(path)}: cannot read the plan: {exc}") from None
        return cls.from_json(data, os.fspath(path))

    def __repr__(self) -> str:
        changed = sum(1 for _, c in self.decisions if c)
        return f"<PlannedPolicy {len(self.decisions)} decisions, {changed} not the default>"
