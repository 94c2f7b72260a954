"""Stops an episode that never returns, so a runaway loop fails a test instead of hanging it.

One daemon thread per process polls the armed deadline; arming and disarming are
two attribute writes, so a normal episode pays almost nothing. On expiry the
thread raises ``EpisodeTimeout`` asynchronously in the thread running the
episode (CPython's ``PyThreadState_SetAsyncExc``). ``EpisodeTimeout`` derives
from BaseException so the SDK's and the user's ``except Exception`` cannot
swallow it.
"""
from __future__ import annotations

import ctypes
import threading
import time
from contextlib import contextmanager
from typing import Iterator, Optional


class EpisodeTimeout(BaseException):
    """Raised inside an episode that ran past its wall-clock limit."""


class Watchdog:
    _lock = threading.Lock()
    _thread: Optional[threading.Thread] = None
    _deadline: Optional[float] = None
    _target: Optional[int] = None
    _fired = False

    @classmethod
    @contextmanager
    def guard(cls, seconds: Optional[float]) -> Iterator[None]:
        if not seconds or seconds <= 0 or cls._deadline is not None:
            yield  # no limit, or nested in an already guarded episode
            return
        cls._ensure_thread()
        with cls._lock:
            cls._target = threading.get_ident()
            cls._fired = False
            cls._deadline = time.monotonic() + seconds
        try:
            yield
        finally:
            with cls._lock:
                cls._deadline = None
                if cls._fired:
                    # The exception may still be pending if the episode returned just in
                    # time; clear it so it cannot surface somewhere unrelated.
                    ctypes.pythonapi.PyThreadState_SetAsyncExc(
                        ctypes.c_ulong(threading.get_ident()), None)
                    cls._fired = False

    @classmethod
    def _ensure_thread(cls) -> None:
        if cls._thread is None or not cls._thread.is_alive():
            cls._thread = threading.Thread(target=cls._watch, name="durable-testkit-watchdog",
                                           daemon=True)
            cls._thread.start()

    @classmethod
    def _watch(cls) -> None:
        while True:
            time.sleep(0.05)
            with cls._lock:
                if cls._deadline is None or cls._fired or time.monotonic() < cls._deadline:
                    continue
                cls._fired = True
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(cls._target or 0), ctypes.py_object(EpisodeTimeout))
