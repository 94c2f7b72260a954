"""ONE orchestrator episode: invoke the SDK handle, replay its actions, check determinism.

The runtime, the scenario driver and stored-history replay all run episodes
through :func:`run_episode` and close them with :func:`close_episode`, so what
an episode means (the context JSON sent, how the answer is read, the
extension's replay and DTFx's checks, when an execution is complete) is
written once. What to do with the outcome (schedule work, fail an instance,
raise to a test) is the caller's business.
"""
from __future__ import annotations

import enum
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

from .. import _fastjson
from .. import _protocol as p
from .. import _sdk
from .. import _wire as w
from .._replay import ActionRefused, NonDeterminism, ReplayShim, Slot
from .._guard import Guard
from ..errors import HistoryFormatError, RunawayOrchestrator
from .records import Execution

# pytest hides this module's frames in failure reports (--full-trace shows them):
# what the user needs is the line of their own code.
__tracebackhide__ = True

__all__ = ["EpisodeEnd", "EpisodeOutcome", "run_episode", "close_episode", "replay_events",
           "ND_PREFIX", "crash_hint"]

#: The host's prefix for a non-determinism failure (ext: OutOfProcOrchestrationShim).
ND_PREFIX = "Non-Deterministic workflow detected: "

#: Guards episodes run without a runtime (stored-history replay); its state is per call.
_DEFAULT_GUARD = Guard()


class EpisodeEnd(enum.Enum):
    """How an episode left its execution."""

    RUNNING = "running"  # waits for more messages (or for an uncancelled timer to fire)
    COMPLETED = "completed"
    FAILED = "failed"  # the orchestrator raised
    CONTINUED_AS_NEW = "continued-as-new"
    CRASHED = "crashed"  # the SDK itself failed (no out-of-proc state in its answer)
    DIVERGED = "diverged"  # the replay no longer matches the history


class EpisodeOutcome(NamedTuple):
    """What one episode produced; the execution's replay state is already updated.

    (A named tuple, not a frozen dataclass: one is made per episode, and the
    dataclass's field-by-field ``__init__`` cost more than the rest of the record.)

    Attributes:
        end: how the episode ended.
        slots: the work newly scheduled (sequence numbers the replay allocated).
        output: the orchestrator's return value (COMPLETED).
        error: the orchestrator's error text (FAILED, CRASHED).
        stack: the user exception's traceback, for failure details.
        custom_status: the custom status the SDK reported, if any.
        divergence: where the replay diverged (DIVERGED).
        crashed: the SDK-internal exception (CRASHED).
        continue_as_new_input: the new input (CONTINUED_AS_NEW).
        actions: the SDK's action list.
        sdk_seconds: wall time inside the SDK handle.
    """

    end: EpisodeEnd
    slots: Tuple[Slot, ...] = ()
    output: Any = None
    error: Optional[str] = None
    stack: str = ""
    custom_status: Any = None
    divergence: Optional[NonDeterminism] = None
    crashed: Optional[BaseException] = None
    continue_as_new_input: Optional[str] = None
    # The SDK's action list (shared with the execution's replay state: read, don't change).
    actions: Sequence[Dict[str, Any]] = ()
    sdk_seconds: float = 0.0
    is_done: bool = False  # what the SDK said (an uncancelled timer can keep it RUNNING)
    # FAILED: the replay diverged as well (reported after the orchestrator's exception).
    diverged_too: Optional[NonDeterminism] = None


def run_episode(execution: Execution, base: int, handle: Callable[[str], str], *,
                instance_id: str, orchestrator: str, parent_instance_id: Optional[str],
                timeout: Optional[float], raise_with: str,
                guard: Optional[Guard] = None,
                max_actions: Optional[int] = None,
                check_all: bool = False,
                history_text: Optional[str] = None) -> EpisodeOutcome:
    """Run the episode whose new events are ``execution.history[base:]``.

    ``history_text`` is the history's JSON text, comma-joined, when the caller
    holds it already (a saved file's): a handle that takes text gets it as it is.

    The SDK call runs under ``guard`` (the runtime's; a shared one otherwise),
    which stops waiting for it after ``timeout`` seconds, blocked or not. An
    answer with more than ``max_actions`` actions is not replayed at all (the
    caller fails the instance; replaying a runaway fan-out would take minutes).

    Raises:
        RunawayOrchestrator: one call into the orchestrator ran past ``timeout``
            wall-clock seconds (``raise_with`` names the setting to raise).
    """
    context = _sdk.episode_context(handle, execution.history, execution.input_text,
                                   instance_id, parent_instance_id, history_text)
    known = execution.actions_text
    if known is not None and known[1] is not execution.last_actions:
        known = None  # the actions were reset (a lost episode): read the answer whole
    resp = (guard or _DEFAULT_GUARD).run(
        lambda: _sdk.invoke_orchestrator(handle, context, known), timeout,
        lambda: RunawayOrchestrator(instance_id, orchestrator, timeout or 0,
                                    "seconds in one episode without yielding", raise_with))
    if resp.crashed is not None:
        return EpisodeOutcome(EpisodeEnd.CRASHED, error=resp.error, stack=resp.stack,
                              crashed=resp.crashed, sdk_seconds=resp.sdk_seconds)
    # An action's JSON takes at least _MIN_ACTION_CHARS, so a short answer is never counted.
    if max_actions is not None and len(resp.raw) > max_actions * _MIN_ACTION_CHARS:
        count = _count_actions(resp.actions)
        if count > max_actions:
            return EpisodeOutcome(
                EpisodeEnd.FAILED, actions=resp.actions, sdk_seconds=resp.sdk_seconds,
                error=f"the orchestration produced {count} actions, more than the maximum of "
                      f"{max_actions} (InMemoryRuntime(max_actions=...); the extension's "
                      "maxOrchestrationActions defaults to 100,000).")
    # The extension replays the actions on its own context before anything else.
    try:
        slots = _replay(execution, resp.actions, base, instance_id, orchestrator,
                        resp.kept_prefix and not check_all, check_all)
    except ActionRefused as refused:
        return EpisodeOutcome(EpisodeEnd.FAILED, error=str(refused), actions=resp.actions,
                              sdk_seconds=resp.sdk_seconds)
    except NonDeterminism as nd:
        if resp.error:
            # The orchestrator raised before it scheduled what the history holds (often on
            # its input): that exception is the news, the divergence follows from it.
            return EpisodeOutcome(EpisodeEnd.FAILED, error=resp.error + _diverged_too(nd),
                                  stack=resp.stack, actions=resp.actions,
                                  sdk_seconds=resp.sdk_seconds, diverged_too=nd)
        return EpisodeOutcome(EpisodeEnd.DIVERGED, divergence=nd, actions=resp.actions,
                              sdk_seconds=resp.sdk_seconds)
    shim = execution.shim
    shim.mark_scheduled(slots)
    execution.last_actions = resp.actions
    execution.actions_text = (resp.actions_text, resp.actions) if resp.actions_text else None
    common: Dict[str, Any] = dict(slots=tuple(slots), custom_status=resp.custom_status,
                                  actions=resp.actions, sdk_seconds=resp.sdk_seconds,
                                  output=resp.output, is_done=resp.is_done)
    if resp.error:
        return EpisodeOutcome(EpisodeEnd.FAILED, error=resp.error, stack=resp.stack, **common)
    if resp.is_done:
        if shim.continue_as_new is not None:
            return EpisodeOutcome(EpisodeEnd.CONTINUED_AS_NEW,
                                  continue_as_new_input=shim.continue_as_new.get("input"),
                                  **common)
        # DTFx keeps the instance running until every timer it did not cancel fires;
        # the episode that delivers the last one completes it.
        if not shim.uncancelled_open_timers():
            return EpisodeOutcome(EpisodeEnd.COMPLETED, **common)
    return EpisodeOutcome(EpisodeEnd.RUNNING, **common)


def _replay(execution: Execution, actions: List[Dict[str, Any]], base: int, instance_id: str,
            orchestrator: str, kept_prefix: bool, check_all: bool = False) -> List[Slot]:
    """Feed the extension-side replay: incrementally, or from scratch if the actions changed.

    ``kept_prefix`` means the SDK's answer repeated the earlier actions' text
    unchanged (checked while reading it), so no comparison is needed here.
    ``check_all`` replays the whole history on a fresh shim whatever the actions.
    """
    history = execution.history
    if kept_prefix:
        return execution.shim.feed(actions, enumerate(history[base:], base))
    old = execution.last_actions
    n = len(old)
    if not check_all and len(actions) >= n and actions[:n] == old:
        return execution.shim.feed(actions, enumerate(history[base:], base))
    # The SDK produced different earlier actions: replay everything, checking history.
    shim = ReplayShim(instance_id, execution.execution_id, orchestrator,
                      execution.shim.unknown_call, execution.shim.parent_instance_id)
    slots = shim.feed(actions, enumerate(history))
    execution.shim = shim
    return slots


def close_episode(execution: Execution, base: int, closing: List[Dict[str, Any]],
                  at: Any) -> None:
    """Append the host's closing events and OrchestratorCompleted; mark the episode played.

    Each event of the episode is replaced by a copy with IsPlayed=true, not changed
    in place: whoever kept the dict (the determinism probe's copy of this episode's
    context, a message queued again) still has it as it was sent.
    """
    closing.append(w.orchestrator_completed(at))
    history = execution.history
    history.extend(closing)
    for i in range(base, len(history)):
        event = history[i]
        if event["IsPlayed"] is not True:
            history[i] = {**event, "IsPlayed": True}


_MIN_ACTION_CHARS = len('{"actionType":0}')


def _count_actions(actions: Sequence[Any]) -> int:
    """Actions, counting each task of a task_all/task_any (compound actions) on its own."""
    total = 0
    for action in actions:
        inner = action.get("compoundActions") if isinstance(action, dict) else None
        total += _count_actions(inner) if isinstance(inner, list) else 1
    return total


def _diverged_too(nd: NonDeterminism) -> str:
    return (" (durable-testkit: the replay also diverged from the history, most likely "
            "because this exception stopped the orchestrator before it scheduled the rest: "
            f"{nd.detail})")


def crash_hint(error: str) -> str:
    """Explain the SDK-internal errors user code causes, which name no user code."""
    if "has no attribute '_is_scheduled'" in error:
        kind = error.split("'")[1] if error.count("'") >= 2 else "value"
        return (f" (durable-testkit: the orchestrator yielded a {kind}, which is not a durable "
                "task. Yield what a context method returns, e.g. context.call_activity(...); "
                "for several tasks yield context.task_all([...]) or context.task_any([...]); "
                "for a helper generator use 'yield from helper(context)'.)")
    return ""


def replay_events(handle: Callable[[str], str], wire: List[Dict[str, Any]], *,
                  instance_id: str, orchestrator: str, timeout: Optional[float] = None,
                  raise_with: str = "", text: Optional[str] = None
                  ) -> Tuple[EpisodeOutcome, Execution]:
    """Replay a stored execution's events as one episode (nothing runs but the orchestrator).

    Used by ``replay_history``, ``replay_episode`` and ``next_actions``: the whole
    history is new to a fresh replay, so every scheduling event in it is checked.

    ``text`` is the events' JSON text, comma-joined (a saved file's, as read),
    when every event in it is already played: a handle that takes text gets it as
    it is instead of the events serialized again (the stock handle takes the
    events themselves, ``_sdk.episode_context``).

    Raises:
        HistoryFormatError: the events have no ExecutionStarted.
    """
    started = next((e for e in wire if e.get("EventType") == p.EXECUTION_STARTED), None)
    if started is None:
        raise HistoryFormatError("the history has no ExecutionStarted event to replay from")
    instance = started.get("OrchestrationInstance") or {}
    parent = (started.get("ParentInstance") or {}).get("OrchestrationInstance") or {}
    execution = Execution(instance_id, instance.get("ExecutionId") or "", orchestrator,
                          started.get("Input"), parent_instance_id=parent.get("InstanceId"))
    if text is not None:
        # Every event is played already: the actions of the episodes that played them
        # are unknown, so the replay checks them all.
        execution.history = list(wire)
    else:
        # Typed or imported events (to_wire dicts): through JSON once, so the SDK's handle
        # gets exactly what it would parse from the text (lists, not tuples; plain dicts),
        # in fresh dicts that are this replay's own to mark played.
        execution.history = _fastjson.loads("[" + p.dumps_wire_many(wire) + "]")
        for event in execution.history:
            event["IsPlayed"] = True
    outcome = run_episode(execution, 0, handle, instance_id=instance_id,
                          orchestrator=orchestrator, parent_instance_id=parent.get("InstanceId"),
                          timeout=timeout, raise_with=raise_with, check_all=True,
                          history_text=text)
    return outcome, execution
