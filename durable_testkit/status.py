"""Plain, immutable values the runtime hands back: instance status and activity calls."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional

from ._lazy import DecodedOnRead
from ._sdk import OrchestrationRuntimeStatus

if TYPE_CHECKING:  # pragma: no cover
    from .history import InstanceHistory

__all__ = ["OrchestrationResult", "ActivityCall", "Divergence", "OrchestrationRuntimeStatus",
           "TERMINAL_STATUSES"]

#: Statuses an instance never leaves on its own.
TERMINAL_STATUSES = frozenset({
    OrchestrationRuntimeStatus.Completed,
    OrchestrationRuntimeStatus.Failed,
    OrchestrationRuntimeStatus.Terminated,
    OrchestrationRuntimeStatus.Canceled,
})


@dataclass(frozen=True)
class Divergence:
    """Where the code's replay stopped matching the recorded history.

    Attributes:
        event_index: the index, in the execution's history, of the scheduling event
            that no longer matches (-1 if the action list itself was invalid).
        expected: what the history recorded there.
        actual: what the code scheduled with that sequence number instead.
        detail: the host's (DTFx's) message.
    """

    event_index: int
    expected: str
    actual: str
    detail: str


@dataclass(frozen=True)
class OrchestrationResult:
    """One instance's state at one moment, as ``get_status`` would report it.

    Attributes:
        instance_id: the instance.
        name: the orchestrator function's registered name.
        runtime_status: the SDK's ``OrchestrationRuntimeStatus``.
        input: the instance's input, decoded from JSON.
        output: the output (a terminated instance's output is the reason, as in Azure).
        custom_status: the last truthy value passed to ``set_custom_status``.
        error: for a failed instance, the failure text the host records
            (e.g. ``"Orchestrator function 'x' failed: boom"``); else None.
        history: the current execution's history.
        created_time / last_updated_time: virtual instants.
        execution_id: the current execution (a new one after continue_as_new).
        divergence: for an instance failed by non-determinism, where it diverged.
    """

    instance_id: str
    name: str
    runtime_status: OrchestrationRuntimeStatus
    input: Any
    output: Any
    custom_status: Any
    error: Optional[str]
    created_time: datetime
    last_updated_time: datetime
    execution_id: str
    # Typed for what the host always passes; None only if a result is built without one.
    history_source: Callable[[], "InstanceHistory"] = field(repr=False, compare=False,
                                                            default=None)  # type: ignore[assignment]
    divergence: Optional[Divergence] = None

    @property
    def history(self) -> "InstanceHistory":
        """The execution's history as of this result (built on first read, then kept)."""
        cached = self.__dict__.get("_history")
        if cached is None:
            cached = self.history_source()
            object.__setattr__(self, "_history", cached)
        return cached

    @property
    def is_terminal(self) -> bool:
        """True once the instance completed, failed or was terminated."""
        return self.runtime_status in TERMINAL_STATUSES

    def __str__(self) -> str:
        out = f"{self.name} [{self.instance_id}] {self.runtime_status.value}"
        if self.error:
            return f"{out}: {self.error}"
        return f"{out}: output={self.output!r}"


@dataclass(frozen=True)
class ActivityCall:
    """One execution of an activity function, in the order the host ran them.

    Attributes:
        name: the activity's registered name.
        input: the input the function received (after the JSON round trip), as it was
            sent: decoded from its JSON text on first read, so edits the activity made
            to the object it got do not show.
        instance_id: the orchestration instance that scheduled it.
        attempt: 1 for the first try; retries (``call_activity_with_retry``)
            count up, and so does a re-run after a lost completion.
        result: the return value after the JSON round trip (None on failure), as the
            orchestrator receives it (custom classes rebuilt); decoded from the
            result's JSON text when first read (``_lazy``).
        exception: the exception the function raised, if it failed.
        task_id: the sequence number of the TaskScheduled event.
        recorded: False when the completion was lost (fault injection) and the
            activity ran again, or was a duplicate delivery the host dropped.
        fault: the name of the injected fault that affected this execution
            (``"crash_after_activity"``, ``"duplicate_activity"``, ...), or None.
        outputs: what the function set on its output bindings, by binding name
            (``message.set(...)`` for a ``twilioSms``/``queue``/``blob`` out binding).
    """

    name: str
    if TYPE_CHECKING:
        input: Any
    else:  # decoded from its JSON text on first read, so the activity's edits do not show
        input: Any = DecodedOnRead()
    instance_id: str
    attempt: int
    if TYPE_CHECKING:
        result: Any
    else:  # a required field, decoded on first read (mypy's dataclass model has no such field)
        result: Any = DecodedOnRead()
    exception: Optional[BaseException]
    task_id: int
    recorded: bool = True
    fault: Optional[str] = None
    outputs: Dict[str, Any] = field(default_factory=dict)


_new_object = object.__new__


def _new_activity_call(name: str, input: Any, instance_id: str, attempt: int, result: Any,
                      exception: Optional[BaseException], task_id: int, recorded: bool,
                      fault: Optional[str], outputs: Dict[str, Any]) -> ActivityCall:
    """``ActivityCall(...)`` with these fields, built for the host's hot path.

    A frozen dataclass's ``__init__`` sets each field through
    ``object.__setattr__``; this fills the instance's ``__dict__`` at once, about
    5x cheaper, which matters once per activity (a test checks the two agree).
    ``result`` may be an ``_lazy.Encoded`` (decoded on first read).
    """
    call: ActivityCall = _new_object(ActivityCall)
    call.__dict__.update({"name": name, "_input_stored": input, "instance_id": instance_id,
                          "attempt": attempt, "_result_stored": result, "exception": exception,
                          "task_id": task_id, "recorded": recorded, "fault": fault,
                          "outputs": outputs})
    return call
