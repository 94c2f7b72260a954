"""Keep a guard hand-off on one CPU, so neither thread waits for an idle CPU to wake.

The guard hands each drive to a worker thread and the caller blocks until it
is done (``_guard``). The two never run at the same time, yet Linux wakes each
on whichever CPU is idle: on a virtual machine (CI runners, this project's
benchmark machine) waking a halted virtual CPU costs 50-150 µs, twice per
drive, and a short test pays it on every ``rt.run``. Measured with
``benchmarks/peers.py``'s 3-step test: about a quarter of the host's time.

So, on Linux, for the length of a drive the caller and the worker are both
bound to the CPU the caller is on: the worker wakes there, and the caller wakes
there when the worker blocks again, as a plain context switch. The worker
gives its binding back as soon as it starts (threads that user code starts
inherit the whole set), and the caller gets its own affinity back as soon as
it wakes. Anywhere else (no ``sched_setaffinity``, one CPU, no
``sched_getcpu``) nothing happens.
"""
from __future__ import annotations

import ctypes
import os
import threading
from typing import Callable, FrozenSet, Optional

# pytest hides this module's frames in failure reports (--full-trace shows them):
# what the user needs is the line of their own code.
__tracebackhide__ = True

__all__ = ["bind_for_hand_off", "release"]


def _getcpu_function() -> Optional[Callable[[], int]]:
    if not hasattr(os, "sched_setaffinity") or not hasattr(os, "sched_getaffinity"):
        return None
    try:
        fn = ctypes.CDLL(None).sched_getcpu
    except (OSError, AttributeError):
        return None
    fn.restype = ctypes.c_int
    fn.argtypes = []
    return fn


_getcpu = _getcpu_function()


def bind_for_hand_off(worker: threading.Thread) -> Optional[FrozenSet[int]]:
    """Bind the caller and ``worker`` to the caller's CPU; return the caller's own set.

    None when nothing was changed (not Linux, a single allowed CPU, an error):
    then :func:`release` is not needed.
    """
    if _getcpu is None:
        return None
    try:
        mine = frozenset(os.sched_getaffinity(0))
        cpu = _getcpu()
        if len(mine) < 2 or cpu not in mine or worker.native_id is None:
            return None
        os.sched_setaffinity(0, {cpu})
    except OSError:
        return None
    try:
        os.sched_setaffinity(worker.native_id, {cpu})
    except OSError:  # the worker stays as it was; so does the caller
        release(mine)
        return None
    return mine


def release(cpus: Optional[FrozenSet[int]]) -> None:
    """Give the calling thread ``cpus`` as its affinity again (no-op for None)."""
    if cpus is None:
        return
    try:
        os.sched_setaffinity(0, cpus)
    except OSError:  # pragma: no cover - a set that was valid a moment ago
        pass
