"""Every error durable-testkit raises, under one base class.

Each error carries the facts a user needs as fields (instance, orchestrator,
history event index, expected and actual) and builds its message from them, so
tests can compare message text and tools can read the fields.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple

__all__ = [
    "DurableTestkitError",
    "did_you_mean",
    "HistoryFormatError",
    "HistoryImportError",
    "NonDeterminismError",
    "OrchestrationStuck",
    "RunawayOrchestrator",
    "RunawayFunction",
    "SerializationError",
    "UnknownFunctionError",
    "UnknownInstanceError",
    "AppDiscoveryError",
    "HttpHandlerMissing",
    "InvalidOperationError",
    "UnknownRouteError",
    "InputFileError",
    "ProtocolError",
    "ScenarioError",
    "FaultCheckFailed",
    "DeterminismProbeError",
    "DeterminismProbeWarning",
    "VersionMismatchError",
    "CoverageUnavailableError",
    "PlanMismatch",
    "SpinningOrchestrator",
    "DriveTimeout",
    "UnknownMockTarget",
    "FunctionLoadError",
    "PayloadRejected",
    "HostLimitExceeded",
    "LongRunningOrchestrator",
]


class DurableTestkitError(Exception):
    """Base class of every error raised by durable-testkit."""


def did_you_mean(name: Optional[str], known: Sequence[str]) -> str:
    """`` Did you mean 'x'?`` for the closest known name, or "" when none is close."""
    from difflib import get_close_matches

    close = get_close_matches(name or "", list(known), n=1)
    return f" Did you mean '{close[0]}'?" if close else ""


def _located(problem: str, *where: Optional[str]) -> str:
    """``"file, event 3: problem"``: the places that are known, then what is wrong."""
    known = [w for w in where if w is not None]
    return (", ".join(known) + ": " if known else "") + problem


class HistoryFormatError(DurableTestkitError, ValueError):
    """A history file or history JSON is malformed.

    Names the file (if any), the event index (if any) and what is wrong.
    """

    def __init__(self, problem: str, *, path: Optional[str] = None,
                 event_index: Optional[int] = None) -> None:
        self.problem = problem
        self.path = path
        self.event_index = event_index
        super().__init__(_located(problem, None if path is None else str(path),
                                  None if event_index is None else f"event {event_index}"))


class HistoryImportError(HistoryFormatError):
    """A production history export cannot be turned into a replayable history.

    Names the export file (or ``<object>``), the format it was read as, the event
    (index and type, as the export numbers it) and what is missing, plus what to
    do about it (``fix``), because most gaps have a remedy outside this tool (fetch
    a large-message blob, export with inputs, pass the app).
    """

    def __init__(self, problem: str, *, path: Optional[str] = None,
                 event_index: Optional[int] = None, event_type: Optional[str] = None,
                 source_format: Optional[str] = None, fix: str = "") -> None:
        self.event_type = event_type
        self.source_format = source_format
        self.fix = fix
        event = None if event_index is None else f"event {event_index}" + (
            f" ({event_type})" if event_type is not None else "")
        text = _located(problem, None if path is None else str(path),
                        None if source_format is None else f"{source_format} export", event)
        DurableTestkitError.__init__(self, text + (f". {fix}" if fix else ""))
        self.problem = problem
        self.path = path
        self.event_index = event_index


#: What to do about a divergence: instances already running replay the old decisions.
NON_DETERMINISM_ADVICE = (
    "What to do: instances already running replay their recorded decisions, so keep the old "
    "path for them behind a version check (if context.version == ...: old code) or deploy "
    "the change as a new orchestrator name and let running instances finish on the old one.")


class NonDeterminismError(DurableTestkitError):
    """The orchestrator's actions no longer match its recorded history.

    The in-memory host fails the instance with the host's text; this error is
    what replay tools raise with the same facts.
    """

    def __init__(self, message: str, *, instance_id: str, orchestrator: str,
                 event_index: Optional[int], expected: str, actual: str,
                 timeline: str = "") -> None:
        self.instance_id = instance_id
        self.orchestrator = orchestrator
        self.event_index = event_index
        self.expected = expected
        self.actual = actual
        self.timeline = timeline
        self.detail = message
        text = (f"Non-deterministic replay of orchestrator '{orchestrator}', "
                f"instance '{instance_id}'"
                + (f" at history event {event_index}" if event_index is not None else "")
                + f":\n  expected (history): {expected}\n  actual (code):      {actual}\n"
                + message + "\n" + NON_DETERMINISM_ADVICE)
        if timeline:
            text += "\nHistory:\n" + timeline
        super().__init__(text)


class OrchestrationStuck(DurableTestkitError):
    """``wait()`` was asked for an instance that can never make progress."""

    def __init__(self, instance_id: str, orchestrator: str,
                 waiting_for: Sequence[str]) -> None:
        self.instance_id = instance_id
        self.orchestrator = orchestrator
        self.waiting_for = list(waiting_for)
        lines = "\n".join(f"  - {w}" for w in self.waiting_for) or "  (nothing)"
        super().__init__(
            f"Orchestration '{orchestrator}' (instance '{instance_id}') can never finish: "
            f"no work is ready and no timer is pending. It waits for:\n{lines}\n"
            "Raise the awaited event with rt.raise_event(...) (or client.raise_event) "
            "before waiting, or check that the orchestrator yields what you expect.")


class RunawayOrchestrator(DurableTestkitError):
    """One episode (or one execution) ran past its configured limit: a likely endless loop.

    ``raise_with`` names the setting that holds the limit, so the advice points at
    the knob that was actually hit.
    """

    def __init__(self, instance_id: str, orchestrator: str, limit: float, what: str,
                 raise_with: str) -> None:
        self.instance_id = instance_id
        self.orchestrator = orchestrator
        self.limit = limit
        self.what = what
        super().__init__(
            f"Orchestration '{orchestrator}' (instance '{instance_id}') exceeded the limit "
            f"of {limit:g} {what}. This usually means an endless loop that never yields a "
            "durable task, or a loop that never ends. Raise the limit with "
            f"{raise_with} if this is intended.")


def _plural(noun: str) -> str:
    """English plural of a function kind: "activity" -> "activities"."""
    return noun[:-1] + "ies" if noun.endswith("y") else noun + "s"


class RunawayFunction(DurableTestkitError):
    """An activity or entity operation ran past its wall-clock limit.

    Activities and entities run in process, so one that never returns would hang
    the whole test run; the host stops it and says which one it was.
    """

    def __init__(self, kind: str, name: str, instance_id: str, seconds: float) -> None:
        self.kind = kind
        self.name = name
        self.instance_id = instance_id
        self.seconds = seconds
        super().__init__(
            f"The {kind} '{name}' (for instance '{instance_id}') ran for more than {seconds:g} "
            f"seconds of real time and was stopped. {_plural(kind).capitalize()} run in "
            "process, so one that never returns would hang the test run. Mock it with "
            "rt.mock_activity(...) if it waits on something real, or raise the limit with "
            "InMemoryRuntime(function_timeout=...).")


class SerializationError(DurableTestkitError, TypeError):
    """A payload would not survive the JSON round trip the real host makes."""

    def __init__(self, what: str, value: Any, cause: BaseException) -> None:
        self.what = what
        self.value = value
        self.cause = cause
        super().__init__(
            f"{what} is not JSON serializable: {cause}. In Azure the Durable host would fail "
            f"here too. Value: {value!r:.200}. Return plain JSON values (dict, list, str, "
            "int, float, bool, None) or a class with to_json/from_json.")


class UnknownFunctionError(DurableTestkitError, LookupError):
    """A function name is not registered with the runtime."""

    def __init__(self, name: str, kind: str, known: Sequence[str]) -> None:
        self.name = name
        self.kind = kind
        self.known = sorted(known)
        #: The extension's own text for the call, where the host answers with it (HTTP).
        self.host_text: Optional[str] = None
        hint = did_you_mean(name, self.known)
        listed = ", ".join(self.known) or "(none)"
        super().__init__(
            f"No {kind} named '{name}' is registered.{hint} Registered {kind}s: {listed}.")


class UnknownInstanceError(DurableTestkitError, LookupError):
    """An operation named an instance id the runtime has never seen."""

    def __init__(self, instance_id: str, known: Sequence[str] = ()) -> None:
        self.instance_id = instance_id
        self.known = list(known)
        shown = ", ".join(repr(k) for k in self.known[:10])
        more = f" Known instances: {shown}." if shown else ""
        super().__init__(f"No orchestration instance with id '{instance_id}'.{more}")


class AppDiscoveryError(DurableTestkitError):
    """A function app could not be loaded or understood."""


class HttpHandlerMissing(DurableTestkitError):
    """The orchestrator called ``call_http`` but no HTTP handler is plugged in."""

    def __init__(self, instance_id: str, orchestrator: str, method: str, uri: str) -> None:
        self.instance_id = instance_id
        self.orchestrator = orchestrator
        super().__init__(
            f"Orchestration '{orchestrator}' (instance '{instance_id}') called "
            f"call_http({method} {uri}), but no HTTP handler is plugged in and tests never "
            "reach the network. Plug one in: rt.set_http_handler(fn), where fn(request) "
            "receives a dict with method, uri, content and headers and returns a dict with "
            "statusCode, headers and content (or raises to fail the task).")


class InvalidOperationError(DurableTestkitError):
    """An API was used in a way the Durable host does not allow (e.g. a reused instance id).

    Attributes:
        existing_status: when a start was refused because its instance id is in use,
            the status of the instance that holds it (the management API answers as
            DTFx's ``OrchestrationAlreadyExistsException`` does); else None.
    """

    existing_status: Optional[str] = None


class UnknownRouteError(DurableTestkitError, LookupError):
    """No HTTP-triggered function of the app answers this method and path."""

    def __init__(self, method: str, path: str, known: Sequence[Tuple[str, str, str]]) -> None:
        self.method = method
        self.path = path
        self.known = known
        listed = "\n".join(f"  {name}: [{methods}] /api/{route}"
                           for methods, route, name in known) or "  (none)"
        super().__init__(
            f"No HTTP-triggered function answers {method} {path}. The Functions host would "
            f"answer 404. The app's HTTP routes:\n{listed}\nPaths may start with /api/ or "
            "leave it out; route parameters are written {name}, {name?} or {name:int}.")


class ProtocolError(DurableTestkitError):
    """The SDK answered with something the 1.x out-of-process protocol does not allow."""


class ScenarioError(DurableTestkitError):
    """A scenario step that makes no sense here; the message lists what is pending."""

    def __init__(self, problem: str, pending: Sequence[Any] = ()) -> None:
        self.problem = problem
        self.pending = list(pending)
        listed = ("Pending:\n" + "\n".join(f"  - {t}" for t in self.pending)
                  if self.pending else "Nothing is pending.")
        super().__init__(f"{problem}\n{listed}")


class InputFileError(DurableTestkitError, OSError):
    """A file the user named cannot be read as one: missing, not a regular file, or too big.

    Also an ``OSError``, so code that caught the ``OSError`` of a plain ``open()``
    still catches it. The message is one line naming the file and the problem.
    """

    def __init__(self, path: str, problem: str, *, advice: str = "") -> None:
        self.path = path
        self.problem = problem
        self.advice = advice
        super().__init__(f"{path}: {problem}" + (f". {advice}" if advice else ""))

    def __str__(self) -> str:
        # OSError's own __str__ would format errno and filename fields we never set.
        return str(self.args[0])


class FaultCheckFailed(DurableTestkitError, AssertionError):
    """``check_at_least_once``: the check failed with one fault injected.

    Names the orchestration, the first fault point that broke the check, what the
    check raised, the instance's history under that fault, how many other points
    failed, and the one line that reproduces it. ``report`` holds every point.
    """

    def __init__(self, orchestrator: str, fault: str, point: str, error: BaseException,
                 instance_id: Optional[str], timeline: str, failed: Sequence[str],
                 total: int, report: Any = None) -> None:
        self.orchestrator = orchestrator
        self.fault = fault
        self.point = point
        self.error = error
        self.instance_id = instance_id
        self.timeline = timeline
        self.failed = list(failed)
        self.total = total
        self.report = report
        lines = [
            f"check_at_least_once({orchestrator!r}): the check failed when {point} "
            f"({fault}).",
            f"  {type(error).__name__}: {error}".rstrip(),
            "In Azure this happens in production: an activity runs at least once (the worker "
            "can die after its side effect and before its completion is checkpointed, or a "
            "message is delivered twice), and an orchestrator episode can run again.",
        ]
        if instance_id is not None:
            lines.append(f"History of instance '{instance_id}' under this fault:")
            lines.extend("    " + line for line in timeline.splitlines())
        others = [f for f in self.failed if f != fault]
        lines.append(f"{len(self.failed)} of {total} fault points broke the check"
                     + (": also " + ", ".join(others[:5])
                        + (f" and {len(others) - 5} more" if len(others) > 5 else "")
                        if others else "") + ".")
        lines.append(f"Reproduce it in one line: rt.inject({fault}) before running "
                     f"'{orchestrator}'.")
        lines.append("What to do: make the effect idempotent (e.g. give the activity an "
                     "idempotency key derived from context.instance_id and the step, and "
                     "have it skip work already done), or make the check accept a repeat.")
        super().__init__("\n".join(lines))


class DeterminismProbeError(DurableTestkitError):
    """An orchestrator's actions changed when its episode was replayed under a perturbation.

    ``InMemoryRuntime(determinism_probe=True)`` replays every episode again with the
    wall clock moved, ``random`` reseeded, ``uuid4``/``os.urandom`` answering other
    values and the environment changed, and the whole history once per instance in
    a subprocess with another ``PYTHONHASHSEED``. Azure replays the same way on
    every episode, so code that reads any of these decides differently on a replay
    and the instance fails with a non-determinism error, usually weeks later.
    """

    def __init__(self, orchestrator: str, instance_id: str, episode: int,
                 perturbation: str, action_index: Optional[int], expected: str,
                 actual: str, timeline: str = "", detail: str = "") -> None:
        self.orchestrator = orchestrator
        self.instance_id = instance_id
        self.episode = episode
        self.perturbation = perturbation
        self.action_index = action_index
        self.expected = expected
        self.actual = actual
        self.timeline = timeline
        self.detail = detail
        where = (f"action {action_index}" if action_index is not None else "its answer")
        lines = [
            f"Orchestrator '{orchestrator}' (instance '{instance_id}') is not deterministic: "
            f"replaying episode {episode} with {perturbation} changed {where}.",
            f"  expected (as it ran): {expected}",
            f"  actual (replayed):    {actual}",
        ]
        if detail:
            lines.append(f"  {detail}")
        lines += [
            "In Azure every episode replays the orchestrator from the start of its history; "
            "code that reads the wall clock, random numbers, uuid4, the environment or the "
            "iteration order of a set of strings decides differently on a replay, and the "
            "instance fails with a non-determinism error.",
            "What to do: use context.current_utc_datetime for the time and context.new_guid() "
            "for ids, iterate sorted(...) instead of a set, pass configuration in the input "
            "(or read it in an activity), and do anything random in an activity.",
        ]
        if timeline:
            lines.append("History:")
            lines.extend("    " + line for line in timeline.splitlines())
        super().__init__("\n".join(lines))


class DeterminismProbeWarning(UserWarning):
    """The determinism probe skipped a check, and says which and why (never an error)."""


class VersionMismatchError(DurableTestkitError):
    """A stored history's version is one the app's host.json would fail, not replay.

    With ``versionFailureStrategy: Fail`` a worker fails every instance whose version
    its ``versionMatchStrategy`` refuses, before running any code: deploying this code
    would fail that instance (the replay tools report it instead of replaying).
    """

    def __init__(self, orchestrator: str, instance_id: str, version: Optional[str],
                 reason: str, path: Optional[str] = None) -> None:
        self.orchestrator = orchestrator
        self.instance_id = instance_id
        self.version = version
        self.reason = reason
        self.path = path
        where = f"{path}: " if path else ""
        super().__init__(
            f"{where}orchestrator '{orchestrator}', instance '{instance_id}': {reason}, and "
            "versionFailureStrategy is Fail, so a worker running this code fails the "
            "instance (\"Orchestration version did not comply with Worker Versioning\") "
            "instead of replaying it. Deploying this code would fail it in Azure. Keep "
            "defaultVersion at or above the running instances' versions, or use "
            "versionFailureStrategy Reject to leave them for newer workers.")


class CoverageUnavailableError(DurableTestkitError):
    """Replay coverage was asked for but coverage.py is not installed."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(
            f"{what} needs coverage.py, which is not installed. Install it with "
            "'pip install durable-testkit[coverage]' (or 'pip install coverage>=7').")


class PlanMismatch(DurableTestkitError):
    """A planned run asked a decision the plan did not expect: the code or set-up changed."""

    def __init__(self, index: int, expected: str, actual_kind: str,
                 options: Sequence[str]) -> None:
        self.index = index
        self.expected = expected
        self.actual_kind = actual_kind
        self.options = tuple(options)
        shown = "; ".join(self.options[:3]) + ("..." if len(self.options) > 3 else "")
        super().__init__(
            f"Decision {index} of the plan was recorded as a {expected} decision, but this run "
            f"asks a {actual_kind} decision ({len(self.options)} options: {shown}). "
            "The orchestration, its mocks or its inputs changed since the plan was saved; "
            "record the plan again from the failing example.")


class SpinningOrchestrator(RunawayOrchestrator):
    """An orchestration schedules the same work again and again while virtual time stands still.

    A poll loop without a durable timer: here activities take no virtual time
    unless told, so it can never see a change and would run until its history
    makes every episode crawl. Reported after ``limit`` identical episodes (or
    cycles of episodes, as a poll that calls ``continue_as_new`` makes), or three
    times as many when only the inputs change and the answers stay the same
    (``inputs_change``: a poll carrying a counter).
    """

    def __init__(self, instance_id: str, orchestrator: str, limit: int, instant: str,
                 schedules: Sequence[str], *, inputs_change: bool = False) -> None:
        self.instant = instant
        self.schedules = tuple(dict.fromkeys(schedules))
        self.instance_id = instance_id
        self.orchestrator = orchestrator
        self.limit = limit
        self.inputs_change = inputs_change
        self.what = "identical episodes at one virtual instant"
        each = ", ".join(self.schedules) or "nothing but continue_as_new"
        same = ("the same functions, only their inputs changing, for the same answers"
                if inputs_change else "the same work")
        # Its own text, not RunawayOrchestrator's: skip that constructor, keep the fields.
        Exception.__init__(
            self,
            f"Orchestration '{orchestrator}' (instance '{instance_id}') ran {limit} episodes in "
            f"a row at one virtual instant ({instant}), each scheduling {same}: {each}. "
            "It loops without letting time move (a poll with no durable timer), so here it can "
            "never see a change; in Azure it would call the same work as fast as the workers "
            "allow and grow its history until every replay crawls. Put a "
            "`yield context.create_timer(...)` between polls, or give the activity a duration "
            "(rt.register_activity/mock_activity(..., duration=...)) if its answer changes with "
            "time. If the repetition is intended, raise the limit with "
            "InMemoryRuntime(max_repeats=...).")


class DriveTimeout(DurableTestkitError):
    """A driving call (wait, advance, run_until_idle) ran past its real-time bound."""

    def __init__(self, call: str, limit: float, steps: int, episodes: int, virtual_from: str,
                 virtual_to: str, busiest: Sequence[str]) -> None:
        self.call = call
        self.limit = limit
        self.steps = steps
        self.episodes = episodes
        self.busiest = tuple(busiest)
        lines = "\n".join(f"  - {b}" for b in self.busiest) or "  (no instance ran)"
        super().__init__(
            f"{call} ran for more than {limit:g} seconds of real time and was stopped. Meanwhile "
            f"the runtime ran {steps} work items ({episodes} episodes) and virtual time moved "
            f"from {virtual_from} to {virtual_to}. The busiest instances:\n{lines}\n"
            "Either the work is this big (then raise the bound with "
            "InMemoryRuntime(drive_timeout=...), or None for no bound), or something loops: "
            "look at what the busiest instance schedules each time (rt.history(id)).")


class UnknownMockTarget(UnknownFunctionError):
    """``mock_activity`` named an activity the loaded app does not have: most likely a typo."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        super().__init__(name, "activity function", known)
        self.args = (str(self.args[0]) + " The runtime was loaded from an app, so mocking a name "
                     "it does not have would leave the real activity running unmocked. Fix the "
                     "name, or pass mock_activity(..., allow_new=True) to add an activity the "
                     "app does not define.",)


class PayloadRejected(DurableTestkitError, ValueError):
    """A payload's custom-object envelope names a class the host will not rebuild.

    The SDK decodes ``{"__class__", "__module__", "__data__"}`` by calling that
    class's ``from_json`` (and azure-functions < 1.26 imports the module first), so
    a history file or a request to ``serve`` could run code. See durable_testkit._payloads.
    """

    def __init__(self, module: str, class_name: str, reason: str) -> None:
        self.module = module
        self.class_name = class_name
        self.reason = reason
        super().__init__(
            f"A payload asks to rebuild {module}.{class_name} (a \"__class__\"/\"__module__\" "
            f"envelope), which durable-testkit refuses: {reason}. The SDK would call that "
            "class's from_json with data from the payload (azure-functions before 1.26 imports "
            "the module first), so a history file, an event or a request to serve could run "
            "code. If the class is yours, allow it with "
            "durable_testkit._payloads.register_payload_class(Cls) or "
            "InMemoryRuntime(payload_classes=[Cls]); classes defined in the modules of the "
            "registered functions, or under the app's folder, are allowed already.")


class HostLimitExceeded(DurableTestkitError):
    """The host refused work past one of its size limits (depth, instances, history, actions).

    The real host has such limits too (or falls over); here each is a constructor
    argument of ``InMemoryRuntime`` so a recursion or a runaway fan-out fails fast
    with a message instead of eating memory.
    """

    def __init__(self, what: str, limit: int, actual: int, where: str, raise_with: str,
                 advice: str = "") -> None:
        self.what = what
        self.limit = limit
        self.actual = actual
        self.where = where
        super().__init__(
            f"{where}: {what} reached {actual:,}, past the limit of {limit:,}. "
            f"{advice + ' ' if advice else ''}Raise the limit with {raise_with} if this "
            "is intended.")


class LongRunningOrchestrator(RunawayOrchestrator):
    """An execution hit ``max_episodes`` while virtual time moved: a long loop, not a spin.

    A monitor with a timer per iteration runs an episode per timer; after
    thousands of them it is not stuck, it is long. The advice differs from an
    endless loop at one instant, so the message does too.
    """

    def __init__(self, instance_id: str, orchestrator: str, limit: int, span: str) -> None:
        self.instance_id = instance_id
        self.orchestrator = orchestrator
        self.limit = limit
        self.span = span
        self.what = "episodes in one execution"
        # Its own text, not RunawayOrchestrator's: skip that constructor, keep the fields.
        Exception.__init__(
            self,
            f"Orchestration '{orchestrator}' (instance '{instance_id}') ran {limit:,} episodes "
            f"in one execution over {span} of virtual time. Each episode moved time forward "
            "(timers, or activities that take time), so this is a long-running loop such as "
            "a monitor or an eternal orchestration, not an endless loop at one instant. In "
            "Azure every episode replays the whole history, so one this long makes each replay "
            "slower and slower: eternal orchestrations call context.continue_as_new(...) every "
            "so often to start a fresh history. If one execution is meant to run this long, "
            "raise the limit with InMemoryRuntime(max_episodes=...).")


class FunctionLoadError(AppDiscoveryError):
    """One function of a V1 app failed to import; the rest of the app loaded.

    The Functions host marks just that function as errored; calling it fails with
    this error (an orchestration fails, an activity's task fails, rt.http raises).
    """

    def __init__(self, function: str, script: str, cause: Optional[BaseException]) -> None:
        self.function = function
        self.script = script
        self.cause = cause
        what = f"{type(cause).__name__}: {cause}" if cause is not None else "unknown error"
        super().__init__(
            f"Function '{function}' could not be loaded: importing {script} raised {what}. "
            "The Functions host loads the app's other functions and marks this one as "
            "errored, so calling it fails. Fix the import error.")
