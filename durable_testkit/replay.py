"""Replay a recorded history against the current orchestrator code, without running anything.

This is the check the host makes on every episode, offered on its own: given a
history (saved by the runtime, or exported from production) and the code as it
is now, does the code still produce the same scheduling decisions? Activities,
timers and sub-orchestrations are never run: their outcomes come from history.

"Will this change break instances already running in production?" is the
question a CI replay check answers: see docs/replay.md for the corpus layout,
strict mode, versions and coverage.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from itertools import repeat
from typing import (Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union)

from . import _protocol as p
from . import _sdk
from . import _wire as w
from ._host.episode import ND_PREFIX, EpisodeEnd, replay_events
from ._replay import NonDeterminism, ReplayShim, Slot, SlotKind
from ._versions import VersioningSettings, folder_version, load_versioning, version_problem
from .errors import (DurableTestkitError, HistoryFormatError, NonDeterminismError,
                     VersionMismatchError)
from .history import (ExecutionStarted, InstanceHistory, _load_wire_events, load_history,
                      render_timeline)

# pytest hides this module's frames in failure reports (--full-trace shows them):
# what the user needs is the line of their own code.
__tracebackhide__ = True

__all__ = ["ReplayResult", "ReplayCheck", "replay_history", "replay_episode", "check_histories",
           "check_history", "recorded_version"]

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
        version: the instance's version the replay ran with (``context.version``).
        refused: set when the code was not replayed because its host.json would not
            run this version (``versionFailureStrategy`` Reject leaves the instance
            for a worker with a newer version): why.
        strict: the replay also compared inputs, fire times and event targets.
    """

    orchestrator: str
    instance_id: str
    is_done: bool
    output: Any
    error: Optional[str]
    actions: Tuple[Dict[str, Any], ...]
    new_work: Tuple[str, ...]
    version: Optional[str] = None
    refused: Optional[str] = None
    strict: bool = False


def replay_history(orchestrator: Callable[..., Any], history: HistoryLike, *,
                   strict: bool = False, version: Optional[str] = None,
                   versioning: Optional[VersioningSettings] = None) -> ReplayResult:
    """Replay the last execution of ``history`` against ``orchestrator``.

    Args:
        orchestrator: a generator function, a ``df.Orchestrator.create`` handle or a
            V2 decorated function.
        history: an :class:`InstanceHistory`, a list of wire events, or a history file path.
        strict: besides the host's check (kinds and names only), compare activity
            and sub-orchestration inputs (as JSON), timer fire times and entity
            message targets and operations, and report the first difference.
        version: the version to replay with when the history's ExecutionStarted has
            none (exports can lose it); a version the history records wins.
        versioning: the code's host.json versioning settings; a history whose version
            they refuse is not replayed (Reject: ``refused`` says why; Fail: raises).

    Raises:
        NonDeterminismError: the code's decisions differ from the history's.
        VersionMismatchError: ``versioning`` fails instances of this version.
    """
    record = _as_history(history)
    events = list(record.executions[-1]) if record.events else []
    return _replay(orchestrator, record, [e.to_wire() for e in events], strict=strict,
                   version=version, versioning=versioning,
                   path=os.fspath(history) if isinstance(history, (str, os.PathLike)) else None)


def replay_episode(orchestrator: Callable[..., Any], history: HistoryLike,
                   episode: int, *, strict: bool = False,
                   version: Optional[str] = None) -> ReplayResult:
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
    return _replay(orchestrator, record, wire[:cut], strict=strict, version=version)


_SCHEDULING = {p.TASK_SCHEDULED, p.TIMER_CREATED, p.SUB_ORCHESTRATION_CREATED, p.EVENT_SENT}


def _as_history(history: HistoryLike) -> InstanceHistory:
    if isinstance(history, InstanceHistory):
        return history
    if isinstance(history, (str, os.PathLike)):
        return load_history(history)
    return InstanceHistory.from_events(list(history))


def recorded_version(record: InstanceHistory) -> Optional[str]:
    """The version the history's first ExecutionStarted records (None or "" if none)."""
    started = next((e for e in record.events if isinstance(e, ExecutionStarted)), None)
    return None if started is None else started.version


def _with_version(wire: List[Dict[str, Any]], version: Optional[str]
                  ) -> Tuple[List[Dict[str, Any]], Optional[str]]:
    """Give ExecutionStarted ``version`` when it records none; return the version in effect.

    ``wire`` itself comes back when no event changes (a stored history's text is
    then still the events' text).
    """
    out = wire
    effective: Optional[str] = None
    for i in _execution_starts(wire):
        event = wire[i]
        if event.get("Version") in (None, "") and version is not None:
            if out is wire:
                out = list(wire)
            event = out[i] = dict(event, Version=version)
        effective = event.get("Version")
    return out, effective


def _execution_starts(wire: List[Dict[str, Any]]) -> List[int]:
    """The indexes of the ExecutionStarted events (the types read in one pass in C)."""
    kinds = list(map(dict.get, wire, repeat("EventType")))
    starts: List[int] = []
    at = -1
    while True:
        try:
            at = kinds.index(p.EXECUTION_STARTED, at + 1)
        except ValueError:
            return starts
        starts.append(at)


class _Identity(NamedTuple):
    """What a replay needs of a history besides its events (the fast path has no record)."""

    orchestrator: str
    instance_id: str


def _replay(orchestrator: Callable[..., Any], record: Union[InstanceHistory, _Identity],
            wire: List[Dict[str, Any]], *, strict: bool = False,
            version: Optional[str] = None, versioning: Optional[VersioningSettings] = None,
            path: Optional[str] = None, text: Optional[str] = None) -> ReplayResult:
    """Replay ``wire``; ``text``, if given, is its events' JSON text (see replay_events)."""
    given = wire
    wire, effective = _with_version(wire, version)
    problem = version_problem(versioning, effective)
    if problem is not None:
        assert versioning is not None
        if versioning.failure_strategy == "Fail":
            raise VersionMismatchError(record.orchestrator, record.instance_id, effective,
                                       problem, path)
        return ReplayResult(record.orchestrator, record.instance_id, False, None, None, (),
                            (), effective, problem, strict)
    handle = _sdk.orchestrator_handle(record.orchestrator, orchestrator)
    outcome, _ = replay_events(handle, wire, instance_id=record.instance_id,
                               orchestrator=record.orchestrator,
                               text=text if wire is given else None)
    if outcome.end is EpisodeEnd.CRASHED:
        assert outcome.crashed is not None
        raise outcome.crashed
    nd = outcome.divergence
    if nd is None and strict:
        nd = _strict_difference(record, wire, list(outcome.actions))
    if nd is not None:
        raise NonDeterminismError(
            (ND_PREFIX if not nd.detail.startswith(_STRICT) else "") + nd.detail,
            instance_id=record.instance_id,
            orchestrator=record.orchestrator, event_index=nd.event_index, expected=nd.expected,
            actual=nd.actual,
            timeline=render_timeline(wire, mark=nd.event_index if nd.event_index >= 0 else None,
                                     around=6)) from None
    return ReplayResult(record.orchestrator, record.instance_id, outcome.is_done, outcome.output,
                        outcome.error, tuple(outcome.actions),
                        tuple(s.describe() for s in outcome.slots),
                        effective, None, strict)


# ---------------------------------------------------------------- strict mode
_STRICT = "Strict replay: "
_HOST_LETS_IT_PASS = (
    "The host's own check compares only the kind and name of each scheduled task "
    "(Azure/durabletask#443), so Azure would replay this history without complaint and "
    "go on with results recorded for the old value. If the change is intended for new "
    "instances only, gate it on context.version (docs/replay.md) or accept it by "
    "replaying without strict=True.")


class _MatchRecorder(ReplayShim):
    """The extension's interpreter, noting which history event matched which slot."""

    def __init__(self, instance_id: str, execution_id: str, orchestrator: str) -> None:
        super().__init__(instance_id, execution_id, orchestrator)
        self.matches: List[Tuple[int, Dict[str, Any], Slot]] = []

    def _check(self, index: int, ev: Dict[str, Any], kind: SlotKind) -> None:
        slot = self.unmatched.get(ev.get("EventId"))  # type: ignore[arg-type]
        super()._check(index, ev, kind)
        if slot is not None:
            self.matches.append((index, ev, slot))


def _strict_difference(record: Union[InstanceHistory, _Identity], wire: List[Dict[str, Any]],
                       actions: List[Dict[str, Any]]) -> Optional[NonDeterminism]:
    """A post-pass over the replay's slots against the history's scheduling events.

    The SDK's final action list and the history are fed again through the
    extension's interpreter (cheap: the SDK is not called), which tells which
    history event each sequence number matched; each pair is then compared on
    what DTFx leaves out.
    """
    shim = _MatchRecorder(record.instance_id, "", record.orchestrator)
    try:
        shim.feed(actions, enumerate(wire))
    except NonDeterminism:  # pragma: no cover - the host's check already passed
        return None
    for index, ev, slot in shim.matches:
        found = _compare(ev, slot)
        if found is not None:
            what, expected, actual = found
            return NonDeterminism(f"{_STRICT}{what}. {_HOST_LETS_IT_PASS}", index,
                                  expected, actual)
    return None


def _same_json(a: Any, b: Any) -> bool:
    return bool(w.loads(a) == w.loads(b))


def _short(text: Any, width: int = 120) -> str:
    shown = "null" if text is None else str(text)
    return shown if len(shown) <= width else shown[:width - 3] + "..."


def _compare(ev: Dict[str, Any], slot: Slot) -> Optional[Tuple[str, str, str]]:
    """(what differs, expected, actual) for one matched pair, or None if strict-equal."""
    kind = slot.kind
    action = slot.action
    seq = ev.get("EventId")
    if kind is SlotKind.TIMER:
        recorded = ev.get("FireAt")
        try:
            same = slot.fire_at is None or recorded is None or \
                p.parse_timestamp(recorded) == slot.fire_at
        except (ValueError, TypeError):
            same = True  # an unreadable FireAt is the history's problem, not a change
        if same:
            return None
        assert slot.fire_at is not None
        return (f"timer #{seq} fires at another time",
                f"timer #{seq} firing at {recorded}",
                f"timer #{seq} firing at {p.format_timestamp(slot.fire_at)}")
    if kind is SlotKind.EVENT:
        target, new_target = ev.get("InstanceId"), action.get("instanceId")
        message = w.loads(ev.get("Input"))
        op = message.get("op") if isinstance(message, dict) else None
        op_input = message.get("input") if isinstance(message, dict) else None
        if target != new_target or (op is not None and op != action.get("operation")):
            return (f"entity message #{seq} goes to another entity or operation",
                    f"operation '{op}' on {target}",
                    f"operation '{action.get('operation')}' on {new_target}")
        if isinstance(message, dict) and "input" in message and \
                not _same_json(w.loads(op_input), action.get("input")):
            return (f"entity operation '{op}' #{seq} on {target} is sent another input",
                    f"input {_short(w.loads(op_input))}",
                    f"input {_short(action.get('input'))}")
        return None
    label = "activity" if kind is SlotKind.ACTIVITY else "sub-orchestration"
    name, new_name = ev.get("Name"), slot.name
    if name != new_name:
        return (f"{label} #{seq} is named '{new_name}' now, '{name}' in history (the host "
                "matches names without regard to case)",
                f"{label} '{name}' #{seq}", f"{label} '{new_name}' #{seq}")
    if kind is SlotKind.ACTIVITY and slot.name == p.HTTP_ACTIVITY_NAME:
        new_input: Any = json.dumps(action.get("httpRequest"))
    else:
        new_input = action.get("input")
    # An input the history never recorded is no change: Azure stores scheduled inputs only
    # with storeInputsInOrchestrationHistory (off by default), so production exports and
    # table rows carry none (docs/protocol.md, "Scheduled inputs in history").
    if ev.get("Input") is not None and not _same_json(ev.get("Input"), new_input):
        return (f"{label} '{name}' #{seq} is called with another input",
                f"{label} '{name}' #{seq} with input {_short(ev.get('Input'))}",
                f"{label} '{new_name}' #{seq} with input {_short(new_input)}")
    if kind is SlotKind.SUB_ORCHESTRATION:
        wanted = action.get("instanceId")
        recorded = ev.get("InstanceId")
        if wanted and recorded is not None and wanted != recorded:
            return (f"sub-orchestration '{name}' #{seq} gets another instance id",
                    f"instance '{ev.get('InstanceId')}'", f"instance '{wanted}'")
    return None


# ---------------------------------------------------------------- checking a corpus
@dataclass(frozen=True)
class ReplayCheck:
    """The verdict on one stored history: does the current code still replay it?

    Attributes:
        path: the history file.
        orchestrator: its orchestrator's name ("?" if the file could not be read).
        ok: the code replays it (or, by the app's versioning settings, a worker
            running this code leaves it for a newer one: ``status == "refused"``).
        message: one paragraph for people (the divergence, or what the replay did).
        error: the exception that made it fail (a NonDeterminismError, a
            HistoryFormatError, a VersionMismatchError, an SDK error...).
        result: the replay's result when it replayed.
        status: ``ok``, ``refused``, ``diverged``, ``version-failed``, ``unreadable``
            or ``error`` (the SDK or the orchestrator's environment raised).
        version: the version it was replayed with.
    """

    path: str
    orchestrator: str
    ok: bool
    message: str
    error: Optional[BaseException] = None
    result: Optional[ReplayResult] = None
    status: str = "ok"
    version: Optional[str] = None


def check_histories(app: Any, paths: Sequence[Union[str, "os.PathLike[str]"]], *,
                    strict: bool = False, version: Optional[str] = None,
                    raise_on_failure: bool = False) -> List[ReplayCheck]:
    """Replay each history file against the app's current orchestrator of the same name.

    This is the check to run in CI before deploying a change to running orchestrations:
    a history saved from a test or exported from production that no longer replays is an
    instance the deployment would break.

    Each history replays with the version it records (``context.version``); one that
    records none takes ``version``, else the folder it sits in when the path follows
    the corpus layout ``<orchestrator>/<version>/<name>.json``. The app's host.json
    versioning settings apply as a worker running the code would apply them.

    Args:
        app: anything :func:`durable_testkit.app.discover_app` accepts.
        paths: history files (see docs/history-format.md).
        strict: compare inputs, fire times and entity targets too (see :func:`replay_history`).
        version: the version for histories that record none.
        raise_on_failure: raise the first failure's exception instead of returning
            (like Temporal's ``raise_on_replay_failure``); default collect them all.

    Raises:
        AppDiscoveryError: the app cannot be loaded.
    """
    from .app import discover_app

    functions = discover_app(app)
    versioning = load_versioning(functions.root)
    checks = []
    for path in paths:
        check = check_history(functions, path, strict=strict, version=version,
                          versioning=versioning)
        if raise_on_failure and not check.ok:
            if check.error is not None:
                raise check.error
            raise DurableTestkitError(f"{check.path}: {check.message}")  # pragma: no cover
        checks.append(check)
    return checks


def check_history(functions: Any, path: Union[str, "os.PathLike[str]"], *, strict: bool = False,
              version: Optional[str] = None,
              versioning: Optional[VersioningSettings] = None,
              around: Optional[Callable[[str], Any]] = None) -> ReplayCheck:
    """Check one history file against a discovered app (``check_histories`` does each).

    ``around(orchestrator)`` is a context manager the replay runs inside (replay
    coverage switches its context there).
    """
    shown = os.fspath(path)
    quick = _check_saved_file(functions, shown, strict, version, versioning, around)
    if quick is not None:
        return quick
    name = "?"
    effective = version
    try:
        record = load_history(path)
        name = record.orchestrator
        info = functions.get(name, "orchestrator")
        if recorded_version(record) in (None, "") and version is None:
            effective = folder_version(shown, name)
        if around is not None:
            with around(name):
                result = replay_history(info.function, record, strict=strict,
                                        version=effective, versioning=versioning)
        else:
            result = replay_history(info.function, record, strict=strict, version=effective,
                                    versioning=versioning)
    except NonDeterminismError as exc:
        return ReplayCheck(shown, name, False, str(exc), exc, None, "diverged", effective)
    except VersionMismatchError as exc:
        return ReplayCheck(shown, name, False, str(exc), exc, None, "version-failed",
                           exc.version)
    except (DurableTestkitError, OSError) as exc:
        return ReplayCheck(shown, name, False, str(exc), exc, None, "unreadable", effective)
    except Exception as exc:  # noqa: BLE001 - the SDK or the code raised: this file's verdict
        return ReplayCheck(shown, name, False,
                           f"the SDK raised {type(exc).__name__} replaying this history: "
                           f"{str(exc)[:300]}", exc, None, "error", effective)
    if result.refused is not None:
        return ReplayCheck(shown, name, True,
                           f"not replayed: {result.refused}; versionFailureStrategy Reject "
                           "leaves this instance for a worker with a matching version, so "
                           "this code never runs it", None, result, "refused", result.version)
    return _replayed(shown, name, strict, result)


def _check_saved_file(functions: Any, shown: str, strict: bool, version: Optional[str],
                      versioning: Optional[VersioningSettings],
                      around: Optional[Callable[[str], Any]]) -> Optional[ReplayCheck]:
    """The fast path for a file :func:`save_history` wrote: replay its wire dicts as read.

    Typing every event and serializing it back cost more than the SDK's own handle
    (a 300-step chain: load 74 ms + to_wire 66 ms against a 48 ms handle). Only a
    clean replay is answered here; anything else (another format, a divergence, an
    error, a refused version) answers None and the typed path runs again from the
    file, so every failure reads exactly as before.
    """
    loaded = _load_wire_events(shown)
    if loaded is None:
        return None
    name, instance_id, events, text = loaded
    starts = _execution_starts(events)
    # The last execution as InstanceHistory.executions cuts it: from its ExecutionStarted,
    # with the OrchestratorStarted just before it.
    last = starts[-1]
    if len(starts) > 1 and last > 0 and events[last - 1]["EventType"] == p.ORCHESTRATOR_STARTED:
        last = max(last - 1, starts[-2] + 1)
    if len(starts) == 1:
        last = 0
    else:
        text = None  # the file's text holds every execution; the replay takes the last
    effective = version
    try:
        info = functions.get(name, "orchestrator")
        if events[starts[0]].get("Version") in (None, "") and version is None:
            effective = folder_version(shown, name)
        record = _Identity(name, instance_id)
        if around is not None:
            with around(name):
                result = _replay(info.function, record, events[last:], strict=strict,
                                 version=effective, versioning=versioning, path=shown,
                                 text=text)
        else:
            result = _replay(info.function, record, events[last:], strict=strict,
                             version=effective, versioning=versioning, path=shown, text=text)
    except Exception:  # noqa: BLE001 - the typed path gives this file's verdict
        return None
    if result.refused is not None:
        return None
    return _replayed(shown, name, strict, result)


def _replayed(shown: str, name: str, strict: bool, result: ReplayResult) -> ReplayCheck:
    state = "finished" if result.is_done else "in flight"
    extra = f", version {result.version!r}" if result.version else ""
    message = f"replays cleanly{' (strict)' if strict else ''} ({state}{extra}" + (
        f", next: {', '.join(result.new_work)})" if result.new_work else ")")
    return ReplayCheck(shown, name, True, message, None, result, "ok", result.version)
