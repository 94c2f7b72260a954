"""Stops user code that never returns, so a runaway call fails a test instead of hanging it.

Orchestrator episodes, activities and entity batches are user code run in
process. The old watchdog raised an exception asynchronously into the thread
running them, which works for a busy loop but never lands inside a blocking
call (``time.sleep(3600)``, ``threading.Event().wait()``, a socket read): the
test thread, and with it a pytest session, hung for good.

So user code runs on a *worker* thread the caller can stop waiting for:

* The host hands a whole drive (``Scheduler.step``/``run_until_idle``/``wait``)
  to a worker with :meth:`Guard.drive`, so the default path pays one thread
  hand-off per drive, not one per activity (a hand-off costs 35-150 µs on the
  benchmark VM, more than an activity). On the worker, :meth:`Guard.run` only
  arms a deadline around each call: one store in, one store and a clock read out
  (no lock unless the deadline passed; see :meth:`_Worker.guarded`).
* The thread that handed the drive over waits for it and watches the armed
  deadline. When it passes, it first raises :class:`EpisodeTimeout` in the
  worker (CPython's ``PyThreadState_SetAsyncExc``; a busy loop stops there and
  the worker lives on). If the worker has not come back :data:`GRACE_SECONDS`
  later it is blocked in C: the waiter *abandons* it (the daemon thread is left
  where it is, and never touches the host again) and raises the call's error
  (``RunawayOrchestrator``/``RunawayFunction``) itself. The next drive takes a
  fresh worker.
* Called off a worker (``replay_history``, the scenario driver), :meth:`Guard.run`
  hands that one call over the same way.

Workers come from a small pool and leave it after :data:`IDLE_SECONDS` unused;
every deadline lives on the worker running the call, so any number of runtimes
in any number of threads are guarded at once (the old watchdog had one slot per
process). ``EpisodeTimeout`` derives from BaseException so the SDK's and the
user's ``except Exception`` cannot swallow it.

What runs on a worker runs in a copy of the caller's ``contextvars`` context;
thread-locals of the caller are not visible there (the host keeps none across a
call).
"""
from __future__ import annotations

import contextvars
import ctypes
import threading
import time
from typing import Any, Callable, FrozenSet, List, Optional, Tuple, TypeVar, cast, final

from . import _colocate
from ._watchdog import EpisodeTimeout

# pytest hides this module's frames in failure reports (--full-trace shows them):
# what the user needs is the line of their own code.
__tracebackhide__ = True

__all__ = ["Guard", "EpisodeTimeout", "GRACE_SECONDS", "IDLE_SECONDS"]

T = TypeVar("T")

#: After a deadline, how long the asynchronous exception gets to land before the
#: worker counts as blocked and is abandoned.
GRACE_SECONDS = 0.2
#: A pooled worker nobody used for this long ends its thread.
IDLE_SECONDS = 2.0
#: How often a waiting caller looks at the armed deadline.
_POLL_SECONDS = 0.05

_local = threading.local()

#: An armed call on a worker: its deadline (time.monotonic) and the error to raise past it.
_Armed = Tuple[float, Callable[[], BaseException]]


class _Abandoned(BaseException):
    """Unwinds an abandoned worker without letting host code run on its way out."""


def _set_async_exc(ident: int, exc: Optional[type]) -> None:
    try:
        setter = ctypes.pythonapi.PyThreadState_SetAsyncExc
    except AttributeError:  # pragma: no cover - not CPython: abandoning still works
        return
    setter(ctypes.c_ulong(ident), ctypes.py_object(exc) if exc is not None else None)


def _absorb_pending() -> None:
    """Let an interrupt that is still pending on this thread land here, and drop it.

    It may still be pending if the call returned just in time. It must not
    surface in host code after the call, and it must not be cleared with
    ``PyThreadState_SetAsyncExc(id, NULL)`` either: on CPython 3.11 that leaves
    the interpreter's "async exception pending" flag set with no exception to
    deliver, and a tracer installed afterwards (coverage.py, hypothesis) spins
    forever at the next function entry. A pending exception is delivered at the
    next loop back-edge, so a short loop catches it.
    """
    try:
        for _ in range(100):
            pass
    except EpisodeTimeout:
        pass


class _Retracted(BaseException):
    """Raised into the waiting thread itself, only to clear the interpreter's flag."""


def _retract(ident: int) -> None:
    """Take back an interrupt sent to a thread that is blocked in C and may never return.

    On CPython 3.11 an async exception also sets an interpreter-wide "pending" flag
    that only the target thread clears, when it next runs Python code. A worker
    blocked for good (``threading.Event().wait()``) never does, and every other
    thread then checks the flag at each step: a tracer started afterwards (coverage.py,
    hypothesis) spins forever. So the interrupt is withdrawn (which leaves the flag
    set) and this thread takes one of its own and lets it land, which clears the
    flag. An abandoned worker that does come back stops at its ``abandoned`` check.
    """
    _set_async_exc(ident, None)
    try:
        _set_async_exc(threading.get_ident(), _Retracted)  # it may land on the way back
        for _ in range(100):
            pass
    except _Retracted:
        pass


class _Worker:
    """One daemon thread running drives handed to it, one at a time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # fired and abandoned, between the worker and the waiter
        self.wake = threading.Lock()
        self.wake.acquire()
        self.done = threading.Lock()
        self.done.acquire()
        self.job: Optional[Tuple[contextvars.Context, Callable[..., Any], Tuple[Any, ...]]] = None
        self.result: Any = None
        self.error: Optional[BaseException] = None
        # The armed call: (deadline, on_timeout), or None. Written by the worker alone,
        # in one store each way; the tuple's identity tells one arming from the next.
        self.armed: Optional[_Armed] = None
        self.fired = False  # the waiter raised into the armed call (set under lock)
        self.affinity: Optional[FrozenSet[int]] = None  # the caller's CPUs, while bound
        self.abandoned = False
        self.thread = threading.Thread(target=self._loop, name="durable-testkit-guard",
                                       daemon=True)
        self.thread.start()
        self.ident: int = self.thread.ident or 0

    # -- the worker's side ------------------------------------------------------------
    def _loop(self) -> None:
        _local.worker = self
        while True:
            if not self.wake.acquire(timeout=IDLE_SECONDS):
                with _pool_lock:
                    if self in _idle:  # still unused: leave the pool and end
                        _idle.remove(self)
                        return
                self.wake.acquire()  # taken from the pool just now: its job is coming
            job = self.job
            if job is None:
                return
            if self.affinity is not None:
                _colocate.release(self.affinity)  # what user code starts gets every CPU
                self.affinity = None
            context, fn, args = job
            try:
                self.result, self.error = context.run(fn, *args), None
            except _Abandoned:
                return
            except BaseException as exc:  # handed back to the waiting caller
                self.result, self.error = None, exc
            if self.abandoned:
                return
            self.job = None
            self.done.release()

    def guarded(self, fn: Callable[[], T], timeout: float,
                on_timeout: Callable[[], BaseException]) -> T:
        """Run ``fn`` with its deadline armed; it costs two stores and a clock read.

        No lock on the way in or out, unless the deadline has passed: the waiter
        only raises into an arming it still sees armed *after* it saw the deadline
        pass, and the worker disarms (one store) before it reads the clock. So if
        that read is before the deadline, the waiter cannot have seen it pass while
        this arming was up, and cannot raise into host code later either.
        """
        deadline = time.monotonic() + timeout
        outer = self.armed
        if outer is not None and outer[0] <= deadline:
            return fn()  # nested in a call whose nearer deadline covers this one
        armed = (deadline, on_timeout)
        self.armed = armed
        try:
            try:
                result = fn()
            finally:
                self.armed = outer
                if time.monotonic() >= deadline:
                    self._settle()
        except EpisodeTimeout:
            self.armed = outer
            self._settle()  # it may have landed before the first disarm ran
            if self.abandoned:
                raise _Abandoned from None
            raise on_timeout() from None
        if self.abandoned:
            raise _Abandoned
        return result

    def _settle(self) -> None:
        """After a deadline passed: let an interrupt the waiter sent land here, not later."""
        with self.lock:
            fired, self.fired = self.fired, False
        if fired:
            _absorb_pending()

    # -- the waiting caller's side ----------------------------------------------------
    def wait(self) -> None:
        """Block until the job is done; abandon the worker if an armed call overruns."""
        done = self.done
        while not done.acquire(timeout=_POLL_SECONDS):
            armed = self.armed
            if armed is None or time.monotonic() < armed[0]:
                continue
            with self.lock:
                if self.armed is not armed:
                    continue  # disarmed meanwhile
                if not self.fired:
                    self.fired = True
                    _set_async_exc(self.ident, EpisodeTimeout)
            if done.acquire(timeout=GRACE_SECONDS):
                return
            with self.lock:
                if self.armed is not armed:
                    continue  # the exception landed; the worker is busy reporting it
                self.abandoned = True
                _retract(self.ident)
            raise _blocked(armed[1]())


def _blocked(error: BaseException) -> BaseException:
    """Say why the call could not be stopped, in the error's own message."""
    if len(error.args) == 1 and isinstance(error.args[0], str):
        error.args = (error.args[0] + " It did not stop when interrupted: it is blocked in a "
                      "call that never returns (time.sleep, a lock or event wait, a socket "
                      "read...), so its thread was abandoned and the test run moves on.",)
    return error


_pool_lock = threading.Lock()
_idle: List[_Worker] = []


def _take() -> _Worker:
    with _pool_lock:
        if _idle:
            return _idle.pop()
    return _Worker()


def _give(worker: _Worker) -> None:
    with _pool_lock:
        _idle.append(worker)


def on_worker() -> bool:
    """Whether this thread is a guard worker (user code is already guarded here)."""
    return getattr(_local, "worker", None) is not None


@final
class Guard:
    """Runs user code under wall-clock limits, off the caller's thread (module docstring).

    One per runtime (``Scheduler.guard``); the episode, activity and entity call
    sites all go through :meth:`run`.

    Attributes:
        abandoned: how many blocked workers this guard has left behind.
    """

    def __init__(self) -> None:
        self.abandoned = 0

    def drive(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on a worker and return its result (or raise its exception).

        On a worker already, it runs right here. Raises the error of an armed call
        that overran and did not stop (its ``on_timeout()``).
        """
        if getattr(_local, "worker", None) is not None:
            return fn(*args)
        worker = _take()
        # Both threads on the caller's CPU for the hand-off (_colocate); the worker
        # gives the binding back (to the caller's own set) as it starts the job.
        cpus = _colocate.bind_for_hand_off(worker.thread)
        worker.job = (contextvars.copy_context(), fn, args)
        worker.affinity = cpus
        worker.wake.release()
        try:
            worker.wait()
        except BaseException:
            # Abandoned (overran) or interrupted (Ctrl-C): it must not run host code
            # behind the caller's back, so it is never handed another job.
            with worker.lock:
                worker.abandoned = True
            self.abandoned += 1
            raise
        finally:
            _colocate.release(cpus)
        error, result = worker.error, worker.result
        worker.error = worker.result = None
        _give(worker)
        if error is not None:
            raise error
        return result  # type: ignore[no-any-return]

    def run(self, fn: Callable[[], T], timeout: Optional[float],
            on_timeout: Callable[[], BaseException]) -> T:
        """Call ``fn()``; past ``timeout`` wall-clock seconds, stop waiting and raise.

        Args:
            fn: the user code (it must not change host state: if it is abandoned it
                may still finish, on its own thread, later).
            timeout: the limit in seconds; None or <= 0 runs ``fn`` unguarded here.
            on_timeout: builds the error to raise (and may repair host state: it runs
                once the call is known to be stopped or abandoned).
        """
        if not timeout or timeout <= 0:
            return fn()
        worker: Optional[_Worker] = getattr(_local, "worker", None)
        if worker is None:
            return cast(T, self.drive(self.run, fn, timeout, on_timeout))
        return worker.guarded(fn, timeout, on_timeout)
