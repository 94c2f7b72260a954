"""The host's state as plain records: what the extension and DTFx keep per instance.

Nothing here refers back to the runtime or the scheduler, so the state can be
inspected, copied for a crash fault, or rebuilt from a history without a host.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Deque, Dict, List, NamedTuple, Optional, Tuple

from .._replay import NonDeterminism, ReplayShim, Slot, UnknownCall
from ..policy import WorkKind, WorkSubject
from ..status import OrchestrationRuntimeStatus as Status
from ..status import TERMINAL_STATUSES

__all__ = ["WorkKind", "ParentRef", "Execution", "Instance", "WorkItem", "TimerRecord",
           "Operation", "EntityRecord", "Message", "DeliveryRecord"]


@dataclass(frozen=True)
class ParentRef:
    """The orchestration that started a sub-orchestration, and the task waiting for it."""

    instance_id: str
    execution_id: str
    seq: int


class Message(NamedTuple):
    """A history event waiting in an instance's inbox.

    ``execution_id`` is set for completions: they belong to one execution and are
    dropped if the instance continued as new meanwhile. (A named tuple: one is
    made per completion, and it is immutable all the same.)
    """

    event: Dict[str, Any]
    execution_id: Optional[str] = None


class Execution:
    """One execution of an instance (continue-as-new starts the next)."""

    __slots__ = ("execution_id", "input_text", "history", "shim", "last_actions",
                 "actions_text", "episodes", "started", "number")

    def __init__(self, instance_id: str, execution_id: str, orchestrator: str,
                 input_text: Optional[str], number: int = 1,
                 unknown_call: Optional[UnknownCall] = None,
                 parent_instance_id: Optional[str] = None) -> None:
        self.execution_id = execution_id
        self.input_text = input_text
        self.number = number
        # The wire events, as the SDK gets them: those of finished episodes marked
        # IsPlayed=true (episode.close_episode), this episode's new ones false. The
        # handle gets this very list (_sdk.episode_context), so an event is never
        # changed in place once appended; marking it played replaces it with a copy.
        self.history: List[Dict[str, Any]] = []
        self.shim = ReplayShim(instance_id, execution_id, orchestrator, unknown_call,
                               parent_instance_id)
        self.last_actions: List[Dict[str, Any]] = []
        # The JSON text of last_actions in the SDK's answer, and the list it belongs to:
        # the next answer is parsed from where this text ends (_sdk.invoke_orchestrator).
        self.actions_text: Optional[Tuple[str, List[Dict[str, Any]]]] = None
        self.episodes = 0
        self.started = False


class Instance:
    """Everything the host knows about one orchestration instance."""

    def __init__(self, instance_id: str, orchestrator: str, handle: Callable[[str], str],
                 execution: Execution, parent: Optional[ParentRef], version: Optional[str],
                 created: datetime) -> None:
        self.instance_id = instance_id
        self.orchestrator = orchestrator
        self.handle = handle
        self.parent = parent
        self.version = version
        self.created = created
        self.updated = created
        self.status = Status.Pending
        self.output: Any = None
        self.custom_status: Any = None
        self.carry_status = False  # continued as new: the next episode keeps custom_status
        self.error: Optional[str] = None
        self.failure_details: Optional[NonDeterminism] = None
        self.failure_text: Optional[str] = None
        self.inbox: List[Message] = []
        self.queued = False
        self.suspended = False
        self.execution = execution
        self.previous_executions: List[List[Dict[str, Any]]] = []

    @property
    def terminal(self) -> bool:
        return self.status in _TERMINAL

    @property
    def execution_id(self) -> str:
        return self.execution.execution_id


#: TERMINAL_STATUSES as a tuple: ``in`` on it compares identities first, where the
#: frozenset calls Enum.__hash__, a Python function, on every check.
_TERMINAL = tuple(TERMINAL_STATUSES)


class WorkItem:
    """A ready piece of work; the policy picks among these."""

    __slots__ = ("kind", "instance_id", "slot", "execution_id", "attempt")

    def __init__(self, kind: WorkKind, instance_id: str, slot: Optional[Slot] = None,
                 execution_id: Optional[str] = None, attempt: int = 1) -> None:
        self.kind = kind
        self.instance_id = instance_id
        self.slot = slot
        self.execution_id = execution_id
        self.attempt = attempt

    def label(self) -> str:
        """How a policy sees this work in a decision's options."""
        if self.slot is not None:
            return f"activity {self.slot.name} #{self.slot.seq} of [{self.instance_id}]"
        if self.kind is WorkKind.ENTITY:
            return f"entity batch of {self.instance_id}"
        return f"{self.kind.value} of [{self.instance_id}]"

    def subject(self, name: Optional[str], execution: int) -> WorkSubject:
        slot = self.slot
        return WorkSubject(self.kind, name, self.instance_id,
                           slot.seq if slot is not None else None, self.attempt, execution)


@dataclass(order=True)
class TimerRecord:
    """A durable timer waiting to fire; ordered by fire time, then creation order."""

    fire_at: datetime
    order: int
    instance_id: str = field(compare=False)
    execution_id: str = field(compare=False)
    seq: int = field(compare=False)
    fire_text: str = field(compare=False)


@dataclass(order=True)
class DeliveryRecord:
    """Something on its way: an activity that took virtual time answers at ``due``,
    or (``work``) a work item whose worker crashed comes back at ``due``, once its
    queue message's visibility timeout has passed.

    Ordered with the timers by due time, then by creation order (the counter is
    shared with :class:`TimerRecord`).
    """

    due: datetime
    order: int
    instance_id: str = field(compare=False)
    execution_id: Optional[str] = field(compare=False)
    event: Optional[Dict[str, Any]] = field(compare=False)
    work: Optional["WorkItem"] = field(compare=False, default=None)


@dataclass
class Operation:
    """One queued entity operation."""

    name: str
    input: Optional[str]  # the batch's "input": JSON text of a JSON string, or None
    is_signal: bool
    request_id: Optional[str] = None
    parent: Optional[Tuple[str, str]] = None  # (instance id, execution id) of a caller


class EntityRecord:
    """What the extension keeps for one entity instance."""

    __slots__ = ("scheduler_id", "name", "key", "exists", "state", "queue", "scheduled",
                 "operations", "last_modified", "outputs")

    def __init__(self, scheduler_id: str, name: str, key: str) -> None:
        self.scheduler_id = scheduler_id
        self.name = name  # lower-cased, as in the scheduler id
        self.key = key
        self.exists = False
        self.state: Optional[str] = None  # JSON text
        self.queue: Deque[Operation] = deque()
        self.scheduled = False  # a batch work item is waiting in the ready queue
        self.operations = 0
        self.last_modified: Optional[datetime] = None
        # What each batch set on the function's output bindings (only batches that set any).
        self.outputs: List[Dict[str, Any]] = []
