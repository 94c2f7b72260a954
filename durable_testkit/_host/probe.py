"""The determinism probe: replay each episode under perturbation and compare the actions.

Azure replays an orchestrator from the start of its history on every episode, on
whichever worker picks it up, days later. Code that reads the wall clock,
``random``, ``uuid4``/``os.urandom``, the environment or the iteration order of a
set of strings decides differently on such a replay. The linter cannot see those
reads when they hide behind helpers it cannot follow, so the probe checks what the
code *does*: with ``InMemoryRuntime(determinism_probe=True)``, every episode the
host runs is replayed again on the same history (the same context JSON) with

* the wall clock three days ahead and three days behind (freezegun);
* ``random`` reseeded;
* ``os.urandom`` (and so ``uuid.uuid4``) answering other bytes;
* every environment variable the code reads changed (or set, when it is unset);

and each instance's final history is replayed once in a subprocess under two other
``PYTHONHASHSEED`` values (set and dict-of-set iteration orders). Different actions
(JSON-compared), or a replay that fails where the run did not, raise
:class:`~durable_testkit.errors.DeterminismProbeError`.

Why checks are batched: freezegun scans every loaded module when it starts (tens
of milliseconds in a test session), so the scheduler records the episodes as they
run (:meth:`DeterminismProbe.episode`, before the episode is closed) and checks
them all in one freezegun session when the runtime stops driving
(:meth:`DeterminismProbe.flush`, from ``wait``/``run_until_idle``), so errors come
out of ``wait()``/``run()``/``advance()``. Only orchestrator code is replayed:
activities and entities never run here and are never flagged.
"""
from __future__ import annotations

import atexit
import json
import os
import queue
import random
import subprocess
import sys
import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import (Any, Callable, Dict, Iterator, List, MutableMapping, Optional, Sequence,
                    Tuple)

from .. import _protocol as p
from .. import _sdk
from .._guard import Guard
from ..errors import DeterminismProbeError, DeterminismProbeWarning, DurableTestkitError
from ..history import render_timeline
from ..status import OrchestrationRuntimeStatus as Status
from .episode import EpisodeEnd, EpisodeOutcome
from .records import Execution, Instance

__all__ = ["DeterminismProbe", "CLOCK_SHIFT"]

#: How far the probe moves the wall clock, each way.
CLOCK_SHIFT = timedelta(days=3)

_ENV_TAG = "durable-probe"
_SKIPPED = (EpisodeEnd.CRASHED, EpisodeEnd.DIVERGED)  # no actions of the code to compare


@dataclass
class _Episode:
    """One episode as it ran: what the SDK was sent and what it answered."""

    inst: Instance
    execution: Execution
    base: int  # index of its OrchestratorStarted in the execution's history
    context: "str | _sdk.ParsedContext"  # what the handle was sent
    expected: List[Dict[str, Any]]
    canonical: str
    error: Optional[str]

    @property
    def index(self) -> int:
        """0-based, as ``replay_episode`` counts: OrchestratorStarted events before it."""
        history = self.execution.history
        return sum(1 for e in history[:self.base]
                   if e.get("EventType") == p.ORCHESTRATOR_STARTED)


class _Overran(DurableTestkitError):
    """A replay ran past episode_timeout: the probe reports it as a difference (if the
    replay is blocked for good the guard raises this from ``wait`` itself)."""


@dataclass(frozen=True)
class _Difference:
    action_index: Optional[int]
    expected: str
    actual: str


class _ProbeEnviron(MutableMapping[str, str]):
    """``os.environ`` where every variable read looks changed, and which records the reads."""

    def __init__(self, real: MutableMapping[str, str], tag: str) -> None:
        self.real = real
        self.tag = tag
        self.read: List[str] = []

    def __getitem__(self, key: str) -> str:
        value = self.real.get(key)
        if not _user_caller():
            if value is None:
                raise KeyError(key)
            return value
        if key not in self.read:
            self.read.append(key)
        return self.tag if value is None else f"{value}-{self.tag}"

    def __contains__(self, key: object) -> bool:
        if not _user_caller():
            return key in self.real
        if isinstance(key, str) and key not in self.read:
            self.read.append(key)
        return True

    def __setitem__(self, key: str, value: str) -> None:
        self.real[key] = value

    def __delitem__(self, key: str) -> None:
        del self.real[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.real)

    def __len__(self) -> int:
        return len(self.real)

    def copy(self) -> Dict[str, str]:
        return {key: self[key] for key in self.real}

    def describe(self, tag: str) -> str:
        """The variables read, as the replay with ``tag`` saw them."""
        parts = []
        for key in self.read[:3]:
            value = self.real.get(key)
            parts.append(f"{key} set to {tag!r} (unset in the run)" if value is None
                         else f"{key} changed from {value!r} to {value + '-' + tag!r}")
        more = len(self.read) - 3
        return ("environment variable " + "; ".join(parts)
                + (f" and {more} more" if more > 0 else "")) if parts \
            else "the environment changed"


# Frames between the reading code and _ProbeEnviron: os.getenv, Mapping.get and this module.
_PASS_THROUGH = frozenset({"os", "_collections_abc", "collections.abc", __name__})
# Readers that are not the orchestrator's code: the SDK and azure-functions read settings
# such as AZURE_FUNCTIONS_DURABLE_STRICT_TYPING while they run an episode.
_NOT_USER = ("azure.", "durable_testkit.")


def _user_caller() -> bool:
    frame = sys._getframe(2)
    while frame is not None and frame.f_globals.get("__name__") in _PASS_THROUGH:
        frame = frame.f_back  # type: ignore[assignment]
    name = frame.f_globals.get("__name__", "") if frame is not None else ""
    return not str(name).startswith(_NOT_USER)


@contextmanager
def _environ(tag: Optional[str]) -> Iterator[Optional[_ProbeEnviron]]:
    """``os.environ`` perturbed with ``tag`` while the block runs; None: left as it is."""
    if tag is None:
        yield None
        return
    real = os.environ
    fake = _ProbeEnviron(real, tag)
    os.environ = fake  # type: ignore[assignment]  # os.getenv reads the module global too
    try:
        yield fake
    finally:
        os.environ = real


@contextmanager
def _reseeded(seed: int) -> Iterator[None]:
    state = random.getstate()
    random.seed(seed)
    try:
        yield
    finally:
        random.setstate(state)  # the test's own random sequence goes on as if nothing ran


@contextmanager
def _urandom(seed: int) -> Iterator[None]:
    real = os.urandom
    rng = random.Random(seed)
    os.urandom = rng.randbytes  # uuid.uuid4() reads os.urandom(16) at each call
    try:
        yield
    finally:
        os.urandom = real


@contextmanager
def _clock(shift: timedelta) -> Iterator[Callable[[timedelta], None]]:
    """One freezegun session; the caller moves it to other shifts without a new scan."""
    import freezegun  # imported when the probe runs: a runtime without it never pays

    real_now = datetime.now(timezone.utc)
    # The guard's deadlines must stay on the real monotonic clock in both of its threads.
    # freezegun also swaps FakeDatetime into each module holding datetime: the two
    # timestamp caches (history's and the SDK's parser's) would keep FakeDatetimes made
    # in the session and hand them out after it, to every later test of the process.
    freezer = freezegun.freeze_time(real_now + shift, tick=False,
                                    ignore=["durable_testkit._guard",
                                            "durable_testkit._watchdog",
                                            "durable_testkit.history",
                                            "durable_testkit._timestamps"])
    factory = freezer.start()
    try:
        yield lambda to: factory.move_to(real_now + to)
    finally:
        freezer.stop()


def _shift_text(shift: timedelta) -> str:
    days = shift.days if shift >= timedelta(0) else -((-shift).days)
    return f"wall clock {'+' if days >= 0 else '-'}{abs(days)} days"


def _describe(action: Any) -> str:
    if action is None:
        return "(no action)"
    text = json.dumps(action, sort_keys=True)
    return text if len(text) <= 400 else text[:397] + "..."


def _canonical(actions: Sequence[Any]) -> str:
    return json.dumps(list(actions), sort_keys=True)


class DeterminismProbe:
    """Replays a runtime's episodes under perturbation (see the module docstring).

    Attributes:
        pending: episodes recorded since the last flush.
        notes: why checks were skipped (each is also a DeterminismProbeWarning).
        hash_seeds: the ``PYTHONHASHSEED`` values of the subprocess replays.
        subprocess_timeout: wall-clock seconds the subprocess replays may take.
    """

    def __init__(self, guard: Guard, episode_timeout: Optional[float]) -> None:
        self.guard = guard
        self.episode_timeout = episode_timeout
        self.pending: List[_Episode] = []
        self.notes: List[str] = []
        self.hash_seeds = _hash_seeds()
        self.subprocess_timeout = 60.0
        self._hash_checked: set[str] = set()
        self._warned: set[str] = set()

    # -- recording (the scheduler calls this after each episode) -------------------
    def episode(self, inst: Instance, base: int, outcome: EpisodeOutcome) -> None:
        """Keep what this episode was sent and answered; the execution is not closed yet."""
        if outcome.end in _SKIPPED:
            return
        ex = inst.execution
        # A copy of the list: the episode's events are marked played (replaced) and more
        # are appended before the probe replays it.
        context = _sdk.episode_context(inst.handle, list(ex.history), ex.input_text,
                                       inst.instance_id,
                                       inst.parent.instance_id if inst.parent else None)
        expected = list(outcome.actions)
        self.pending.append(_Episode(inst, ex, base, context, expected, _canonical(expected),
                                     outcome.error))

    # -- checking -------------------------------------------------------------------
    def flush(self) -> None:
        """Check every recorded episode, then each newly finished instance's history.

        Raises:
            DeterminismProbeError: a perturbation changed what the code does.
        """
        pending, self.pending = self.pending, []
        found = self._check_episodes(pending)
        if found is None:
            found = self._check_histories(pending)
        if found is not None:
            raise found

    def _replay(self, ep: _Episode) -> Tuple[Optional[List[Dict[str, Any]]], Optional[str]]:
        def overran() -> BaseException:
            return _Overran(
                f"The determinism probe's replay of episode {ep.index} of orchestrator "
                f"'{ep.inst.orchestrator}' (instance '{ep.inst.instance_id}') under a moved "
                f"clock, reseeded random and a changed environment ran past "
                f"{self.episode_timeout} s; it blocks or loops when those change.")

        try:
            resp = self.guard.run(lambda: _sdk.invoke_orchestrator(ep.inst.handle, ep.context),
                                  self.episode_timeout, overran)
        except _Overran:
            return None, f"the replay ran past {self.episode_timeout} s (episode_timeout)"
        except Exception as exc:  # a ProtocolError: the SDK's answer itself changed
            return None, f"{type(exc).__name__}: {exc}"
        if resp.crashed is not None:
            return None, resp.error
        return resp.actions, resp.error

    def _compare(self, ep: _Episode) -> Optional[_Difference]:
        actions, error = self._replay(ep)
        if actions is None:
            return _Difference(None, "the episode's answer", f"the replay failed: {error}")
        if _canonical(actions) != ep.canonical:
            expected = ep.expected
            for i in range(max(len(expected), len(actions))):
                a = expected[i] if i < len(expected) else None
                b = actions[i] if i < len(actions) else None
                if _canonical([a]) != _canonical([b]):
                    return _Difference(i, _describe(a), _describe(b))
        if bool(error) != bool(ep.error):
            return _Difference(None, f"raised {ep.error}" if ep.error else "no error",
                               f"raised {error}" if error else "no error")
        return None

    def _check_episodes(self, pending: List[_Episode]) -> Optional[DeterminismProbeError]:
        if not pending:
            return None
        variants = ((CLOCK_SHIFT, 1, f"{_ENV_TAG}-a"), (-CLOCK_SHIFT, 2, f"{_ENV_TAG}-b"))
        failing: Optional[Tuple[_Episode, timedelta, int, str, _Difference]] = None
        with _clock(variants[0][0]) as move:
            for shift, seed, tag in variants:
                move(shift)
                with _reseeded(seed), _urandom(seed), _environ(tag):
                    for ep in pending:
                        diff = self._compare(ep)
                        if diff is not None:
                            failing = (ep, shift, seed, tag, diff)
                            break
                if failing is not None:
                    break
        if failing is None:
            return None
        return self._attribute(*failing)

    def _attribute(self, ep: _Episode, shift: timedelta, seed: int, tag: str,
                   diff: _Difference) -> DeterminismProbeError:
        """Name the perturbation that matters: pin everything, then change one at a time.

        Against the run itself nothing is pinned (the run read the real clock, the
        global random state, real urandom bytes), so every replay differs from it
        if any of them is read; replays under pinned conditions differ from each
        other only in what changed.
        """
        other = 3 - seed  # the other combined variant's seed (1 <-> 2)
        with _clock(timedelta(0)) as move:
            def pinned(clock: timedelta, rseed: int, useed: int, etag: Optional[str]
                       ) -> Tuple[Optional[str], Optional[_ProbeEnviron]]:
                move(clock)
                with _reseeded(rseed), _urandom(useed), _environ(etag) as env:
                    actions, error = self._replay(ep)
                return (None if actions is None else _canonical(actions) + str(bool(error)),
                        env)

            baseline, seen = pinned(timedelta(0), seed, seed, tag)
            for what in ("clock", "random", "urandom", "environ"):
                # The environment is compared with the run's own: both probe variants make
                # an unset variable look set, so a feature flag reads alike under either.
                changed, _ = pinned(shift if what == "clock" else timedelta(0),
                                    other if what == "random" else seed,
                                    other if what == "urandom" else seed,
                                    None if what == "environ" else tag)
                if changed == baseline:
                    continue
                text = {"clock": _shift_text(shift),
                        "random": f"random reseeded (random.seed({other}) instead of "
                                  f"random.seed({seed}))",
                        "urandom": "os.urandom/uuid.uuid4() returning other values",
                        "environ": seen.describe(tag) if seen is not None
                        else "the environment changed"}[what]
                return self._error(ep, text, diff)
        return self._error(ep, "the same conditions again (with the clock, random, urandom and "
                           "the environment pinned, two replays differ, so it reads something "
                           "else that changes between calls: a global counter, a cache, a "
                           "file)", diff)

    def _error(self, ep: _Episode, perturbation: str, diff: _Difference
               ) -> DeterminismProbeError:
        inst = ep.inst
        return DeterminismProbeError(
            inst.orchestrator, inst.instance_id, ep.index, perturbation, diff.action_index,
            diff.expected, diff.actual,
            timeline=render_timeline(ep.execution.history, mark=ep.base))

    # -- PYTHONHASHSEED: once per instance, in subprocesses --------------------------
    def _check_histories(self, pending: List[_Episode]) -> Optional[DeterminismProbeError]:
        """Replay each newly finished instance's last execution under other hash seeds.

        One subprocess per seed replays every instance of this flush (interpreter
        start-up and the SDK import cost most of a second); the seeds run in parallel.
        """
        jobs: List[Tuple[Instance, List[Dict[str, Any]], Tuple[str, str]]] = []
        for ep in pending:
            inst = ep.inst
            if inst.instance_id in self._hash_checked or not inst.terminal \
                    or inst.status not in (Status.Completed, Status.Failed) \
                    or inst.failure_details is not None or ep.execution is not inst.execution:
                continue
            self._hash_checked.add(inst.instance_id)
            target = self._target(inst)
            if target is not None:
                jobs.append((inst, list(inst.execution.history), target))
        if not jobs:
            return None
        payload = json.dumps({"path": sys.path, "jobs": [
            {"module": t[0], "qualname": t[1], "file": _module_file(t[0]), "events": events}
            for _, events, t in jobs]})
        workers = [_worker(seed) for seed in self.hash_seeds]
        for worker in workers:  # both seeds replay at once
            worker.send(payload)
        deadline = time.monotonic() + self.subprocess_timeout
        found: Optional[DeterminismProbeError] = None
        for worker in workers:
            seed = worker.seed
            line, problem = worker.receive(deadline)
            answers: Any = None
            if line is not None:
                try:
                    answers = json.loads(line)
                except ValueError:
                    problem = f"it answered {line[:200]!r}"
            if not isinstance(answers, list) or len(answers) != len(jobs):
                for inst, _, _ in jobs:
                    self._note(inst.orchestrator, f"the PYTHONHASHSEED={seed} replay of "
                               f"instance '{inst.instance_id}' did not run: "
                               f"{problem or 'the subprocess answered nothing usable'}")
                continue
            for (inst, events, _), answer in zip(jobs, answers):
                if found is None:
                    found = self._read_answer(inst, events, seed, answer)
        return found

    def _read_answer(self, inst: Instance, events: List[Dict[str, Any]], seed: int,
                     answer: Dict[str, Any]) -> Optional[DeterminismProbeError]:
        perturbation = f"PYTHONHASHSEED={seed} (the whole history replayed in a subprocess)"
        if "actions" in answer:
            expected = list(inst.execution.last_actions)
            actions = answer["actions"]
            if _canonical(actions) == _canonical(expected):
                return None
            index = next(i for i in range(max(len(expected), len(actions)))
                         if _canonical(expected[i:i + 1]) != _canonical(actions[i:i + 1]))
            return DeterminismProbeError(
                inst.orchestrator, inst.instance_id, _episodes(events) - 1, perturbation, index,
                _describe(expected[index] if index < len(expected) else None),
                _describe(actions[index] if index < len(actions) else None),
                timeline=render_timeline(events),
                detail="The iteration order of a set (or of a dict built from one) of strings "
                       "decided the order or the inputs of what was scheduled.")
        if not answer.get("nondeterminism"):
            self._note(inst.orchestrator, f"the PYTHONHASHSEED={seed} replay of instance "
                       f"'{inst.instance_id}' failed: {answer.get('error')}")
            return None
        at = answer.get("event_index")
        mark = at if isinstance(at, int) and at >= 0 else None
        return DeterminismProbeError(
            inst.orchestrator, inst.instance_id,
            max(_episodes(events[:mark]) - 1, 0) if mark is not None else 0, perturbation,
            None, str(answer.get("expected")), str(answer.get("actual")),
            timeline=render_timeline(events, mark=mark),
            detail=(f"The replay diverged at history event {mark}: the iteration order of a "
                    "set (or of a dict built from one) of strings decided what was scheduled."))

    def _target(self, inst: Instance) -> Optional[Tuple[str, str]]:
        """``(module, qualname)`` a fresh interpreter can import the orchestrator by."""
        fn = _sdk.user_orchestrator(inst.handle)
        module = getattr(fn, "__module__", None)
        qualname = getattr(fn, "__qualname__", None)
        reason = None
        if not isinstance(module, str) or not isinstance(qualname, str):
            reason = "it is not a plain function"
        elif "<" in qualname:
            reason = (f"it is defined inside a function or is a lambda ({qualname}); define "
                      "it at module level")
        elif module == "__main__":
            reason = "it is defined in __main__; define it in an importable module"
        else:
            obj: Any = sys.modules.get(module)
            for part in qualname.split("."):
                obj = getattr(obj, part, None)
            if obj is None or (obj is not fn and _sdk.user_orchestrator(obj) is not fn):
                reason = f"{module}:{qualname} does not name it"
        if reason is not None:
            self._note(inst.orchestrator, f"the PYTHONHASHSEED check needs to import "
                       f"orchestrator '{inst.orchestrator}' in a subprocess, and {reason}")
            return None
        assert isinstance(module, str) and isinstance(qualname, str)
        return module, qualname

    def _note(self, key: str, text: str) -> None:
        self.notes.append(text)
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(f"durable-testkit determinism probe: {text} (skipped).",
                          DeterminismProbeWarning, stacklevel=2)


class _HashSeedWorker:
    """A ``python -c`` child running under one PYTHONHASHSEED, kept for the whole session.

    Starting an interpreter and importing the SDK takes most of a second (more on a
    busy machine), so each seed has one long-lived child that replays one batch of
    histories per line it reads. A child that overruns is killed; the next batch
    starts a fresh one.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.proc: Optional["subprocess.Popen[str]"] = None
        self.lines: "queue.Queue[Optional[str]]" = queue.Queue()
        self.stderr: List[str] = []

    def send(self, payload: str) -> None:
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        assert self.proc is not None and self.proc.stdin is not None
        try:
            self.proc.stdin.write(payload + "\n")
            self.proc.stdin.flush()
        except OSError:
            self.stop()

    def receive(self, deadline: float) -> Tuple[Optional[str], Optional[str]]:
        """The answer line, or (None, why not)."""
        if self.proc is None:
            return None, "the subprocess could not be started"
        try:
            line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            self.stop()
            return None, "it took longer than the probe's subprocess_timeout and was stopped"
        if line is None:
            tail = self.stderr[-1].strip() if self.stderr else "no output"
            self.stop()
            return None, f"the subprocess ended: {tail}"
        return line, None

    def _start(self) -> None:
        env = dict(os.environ, PYTHONHASHSEED=str(self.seed))
        self.lines = queue.Queue()
        self.stderr = []
        proc = subprocess.Popen([sys.executable, "-c", _CHILD], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                text=True, bufsize=1)
        self.proc = proc
        lines, errors = self.lines, self.stderr

        def pump_out() -> None:
            assert proc.stdout is not None
            try:
                for line in proc.stdout:
                    lines.put(line)
            except (OSError, ValueError):  # closed by stop()
                pass
            lines.put(None)

        def pump_err() -> None:
            assert proc.stderr is not None
            try:
                for line in proc.stderr:
                    errors.append(line)
                    del errors[:-20]
            except (OSError, ValueError):
                pass

        for pump in (pump_out, pump_err):
            threading.Thread(target=pump, name="durable-testkit-probe", daemon=True).start()

    def stop(self, kill: bool = True) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if kill:
            proc.kill()
        for stream in (proc.stdin,):
            try:
                if stream is not None:
                    stream.close()  # the child's loop ends at the end of its input
            except OSError:
                pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass


_WORKERS: Dict[int, _HashSeedWorker] = {}
_WORKERS_LOCK = threading.Lock()


def _worker(seed: int) -> _HashSeedWorker:
    with _WORKERS_LOCK:
        worker = _WORKERS.get(seed)
        if worker is None:
            if not _WORKERS:
                atexit.register(_stop_workers)
            worker = _WORKERS[seed] = _HashSeedWorker(seed)
        return worker


def _stop_workers() -> None:
    for worker in list(_WORKERS.values()):
        worker.stop(kill=False)


def _module_file(name: str) -> Optional[str]:
    module = sys.modules.get(name)
    path = getattr(module, "__file__", None)
    return path if isinstance(path, str) else None


def _episodes(events: Sequence[Dict[str, Any]]) -> int:
    return sum(1 for e in events if e.get("EventType") == p.ORCHESTRATOR_STARTED)


def _hash_seeds() -> Tuple[int, int]:
    """Two seeds other than this process's (set orders of 2-3 strings often agree by chance)."""
    current = os.environ.get("PYTHONHASHSEED", "")
    base = int(current) if current.isdigit() else 0
    return (base + 1) % 4294967296, (base + 2) % 4294967296


# The subprocess: heavy imports first (they overlap with the parent starting the others),
# then the payload, the orchestrator by module:qualname, and replay_history.
# The child: heavy imports once, then one batch of histories per line on stdin, one line of
# answers per batch. A module whose file changed since it was imported is imported again
# (pytester sessions reuse module names).
_CHILD = """\
import importlib, json, os, sys
from durable_testkit.errors import NonDeterminismError
from durable_testkit.replay import replay_history
out, sys.stdout = sys.stdout, sys.stderr  # what user code prints must not break the protocol
stamps = {}
def load(job):
    name, path = job["module"], job.get("file")
    stamp = (path, os.path.getmtime(path)) if path and os.path.exists(path) else (path, None)
    if name in sys.modules and stamps.get(name) != stamp:
        del sys.modules[name]
    obj = importlib.import_module(name)
    stamps[name] = stamp
    for part in job["qualname"].split("."):
        obj = getattr(obj, part)
    return obj
for line in sys.stdin:
    payload = json.loads(line)
    sys.path[:0] = [p for p in payload["path"] if p not in sys.path]
    answers = []
    for job in payload["jobs"]:
        try:
            obj = load(job)
        except Exception as exc:
            answers.append({"error": "cannot import %s:%s: %s: %s" % (
                job["module"], job["qualname"], type(exc).__name__, exc)})
            continue
        try:
            answers.append({"actions": list(replay_history(obj, job["events"]).actions)})
        except NonDeterminismError as exc:
            answers.append({"nondeterminism": True, "event_index": exc.event_index,
                            "expected": exc.expected, "actual": exc.actual})
        except Exception as exc:
            answers.append({"error": "%s: %s" % (type(exc).__name__, exc)})
    out.write(json.dumps(answers) + "\\n")
    out.flush()
"""
