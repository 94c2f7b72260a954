"""Virtual time inside activities and entity operations.

In Azure an activity that sleeps five seconds takes five seconds, and while it
runs ``datetime.now()`` moves with the orchestration's timeline. Here the host's
clock is virtual, so while an activity (or an entity batch) runs, in the thread
running it:

* ``time.sleep(s)`` and ``await asyncio.sleep(s)`` add ``s`` to the activity's
  elapsed virtual time and return at once (``asyncio.sleep`` still yields to the
  loop once, as ``sleep(0)`` does); sleeps add up, even concurrent ones;
* ``datetime.now()/utcnow()/today()``, ``date.today()``, ``time.time()``,
  ``time.time_ns()``, and ``time.gmtime()/localtime()/ctime()/asctime()/strftime(fmt)``
  without a time argument read the virtual instant: the activity's start plus its
  elapsed time. (``time.monotonic``/``perf_counter`` stay real: they measure
  durations, and the host's own bounds rely on them.)

Why our own patch and not freezegun: ``freeze_time`` scans every loaded module
on each start and stop (milliseconds, once per activity call), and it freezes
all threads. Here a call patches a handful of module attributes (``time``,
``datetime``, ``asyncio``) and the names the activity's own module imported
(``from datetime import datetime``), and the stand-ins answer real time to
every other thread. Helpers in *other* modules that did ``from time import
time`` keep the real clock; that is the documented limit (docs/runtime.md).
"""
from __future__ import annotations

import asyncio
import datetime as _dt
import threading
import time as _time
from contextlib import contextmanager
from datetime import timedelta, timezone
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

# pytest hides this module's frames in failure reports (--full-trace shows them):
# what the user needs is the line of their own code.
__tracebackhide__ = True

__all__ = ["ActivityClock", "virtual_time", "bind", "current"]

_REAL_DATETIME = _dt.datetime
_REAL_DATE = _dt.date
_REAL_TIME = _time.time
_REAL_TIME_NS = _time.time_ns
_REAL_SLEEP = _time.sleep
_REAL_ASYNC_SLEEP = asyncio.sleep
_REAL_GMTIME = _time.gmtime
_REAL_LOCALTIME = _time.localtime
_REAL_CTIME = _time.ctime
_REAL_ASCTIME = _time.asctime
_REAL_STRFTIME = _time.strftime


class ActivityClock:
    """One running activity's virtual time: where it started and how long it has slept."""

    __slots__ = ("start", "elapsed")

    def __init__(self, start: _dt.datetime) -> None:
        self.start = start
        self.elapsed = timedelta(0)

    @property
    def now(self) -> _dt.datetime:
        return self.start + self.elapsed

    def sleep(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        self.elapsed += timedelta(seconds=seconds)


_local = threading.local()


def current() -> Optional[ActivityClock]:
    """The clock of the activity this thread is running, if any."""
    return getattr(_local, "clock", None)


# ---------------------------------------------------------------- the stand-ins
# The real functions and the thread-local are bound as defaults: a stand-in left in place
# (an abandoned activity never ends its patch) may be called while the interpreter shuts
# down, after this module's globals were cleared (logging calls time.time()).
def _fake_time(_real: Callable[[], float] = _REAL_TIME, _here: Any = _local) -> float:
    clock = getattr(_here, "clock", None)
    return _real() if clock is None else clock.now.timestamp()


def _fake_time_ns(_real: Callable[[], int] = _REAL_TIME_NS, _here: Any = _local) -> int:
    clock = getattr(_here, "clock", None)
    if clock is None:
        return _real()
    delta = clock.now - _REAL_DATETIME(1970, 1, 1, tzinfo=timezone.utc)
    micros: int = delta // timedelta(microseconds=1)
    return micros * 1000


def _fake_sleep(seconds: float, _real: Callable[[float], None] = _REAL_SLEEP,
                _here: Any = _local) -> None:
    clock = getattr(_here, "clock", None)
    if clock is None:
        _real(seconds)
    else:
        clock.sleep(seconds)


async def _fake_async_sleep(delay: float, result: Any = None) -> Any:
    clock = getattr(_local, "clock", None)
    if clock is None:
        return await _REAL_ASYNC_SLEEP(delay, result)
    clock.sleep(max(delay, 0))  # asyncio.sleep treats a negative delay as 0
    return await _REAL_ASYNC_SLEEP(0, result)


# The struct_time readers: without an argument they read the clock (freezegun fakes them too).
def _fake_gmtime(secs: Optional[float] = None, _real: Callable[..., Any] = _REAL_GMTIME,
                 _here: Any = _local) -> Any:
    clock = getattr(_here, "clock", None)
    return _real(secs if secs is not None or clock is None else clock.now.timestamp())


def _fake_localtime(secs: Optional[float] = None, _real: Callable[..., Any] = _REAL_LOCALTIME,
                    _here: Any = _local) -> Any:
    clock = getattr(_here, "clock", None)
    return _real(secs if secs is not None or clock is None else clock.now.timestamp())


def _fake_ctime(secs: Optional[float] = None, _real: Callable[..., str] = _REAL_CTIME,
                _here: Any = _local) -> str:
    clock = getattr(_here, "clock", None)
    return _real(secs if secs is not None or clock is None else clock.now.timestamp())


def _fake_asctime(t: Any = None, _real: Callable[..., str] = _REAL_ASCTIME,
                  _local_time: Callable[..., Any] = _REAL_LOCALTIME, _here: Any = _local) -> str:
    clock = getattr(_here, "clock", None)
    if t is None and clock is not None:
        t = _local_time(clock.now.timestamp())
    return _real() if t is None else _real(t)


def _fake_strftime(format: str, t: Any = None, _real: Callable[..., str] = _REAL_STRFTIME,
                   _local_time: Callable[..., Any] = _REAL_LOCALTIME,
                   _here: Any = _local) -> str:
    clock = getattr(_here, "clock", None)
    if t is None and clock is not None:
        t = _local_time(clock.now.timestamp())
    return _real(format) if t is None else _real(format, t)


class _DateMeta(type):
    # Values made before or outside the patch are real dates: they must still match.
    def __instancecheck__(cls, obj: object) -> bool:
        return isinstance(obj, _REAL_DATE)


class _DatetimeMeta(_DateMeta):
    def __instancecheck__(cls, obj: object) -> bool:
        return isinstance(obj, _REAL_DATETIME)


class _VirtualDate(_REAL_DATE, metaclass=_DateMeta):
    @classmethod
    def today(cls) -> Any:
        clock = getattr(_local, "clock", None)
        if clock is None:
            return _REAL_DATE.today()
        return clock.now.astimezone().date()


class _VirtualDatetime(_REAL_DATETIME, metaclass=_DatetimeMeta):
    @classmethod
    def now(cls, tz: Optional[_dt.tzinfo] = None) -> Any:
        clock = getattr(_local, "clock", None)
        if clock is None:
            return _REAL_DATETIME.now(tz)
        if tz is None:  # naive local time, as datetime.now() gives
            return clock.now.astimezone().replace(tzinfo=None)
        return clock.now.astimezone(tz)

    @classmethod
    def today(cls) -> Any:
        return cls.now()

    @classmethod
    def utcnow(cls) -> Any:
        clock = getattr(_local, "clock", None)
        if clock is None:
            return _REAL_DATETIME.now(timezone.utc).replace(tzinfo=None)
        return clock.now.astimezone(timezone.utc).replace(tzinfo=None)


# repr() and pickle name the class: keep them saying datetime.datetime / datetime.date.
for _cls, _name in ((_VirtualDate, "date"), (_VirtualDatetime, "datetime")):
    _cls.__name__ = _cls.__qualname__ = _name
    _cls.__module__ = "datetime"

#: real object -> stand-in, for the names a user module imported directly.
_SWAPS: Dict[int, Any] = {
    id(_REAL_DATETIME): _VirtualDatetime, id(_REAL_DATE): _VirtualDate,
    id(_REAL_TIME): _fake_time, id(_REAL_TIME_NS): _fake_time_ns,
    id(_REAL_SLEEP): _fake_sleep, id(_REAL_ASYNC_SLEEP): _fake_async_sleep,
    id(_REAL_GMTIME): _fake_gmtime, id(_REAL_LOCALTIME): _fake_localtime,
    id(_REAL_CTIME): _fake_ctime, id(_REAL_ASCTIME): _fake_asctime,
    id(_REAL_STRFTIME): _fake_strftime,
}
_MODULE_ATTRS: List[Tuple[Any, str, Any, Any]] = [
    (_dt, "datetime", _REAL_DATETIME, _VirtualDatetime), (_dt, "date", _REAL_DATE, _VirtualDate),
    (_time, "time", _REAL_TIME, _fake_time), (_time, "time_ns", _REAL_TIME_NS, _fake_time_ns),
    (_time, "sleep", _REAL_SLEEP, _fake_sleep),
    (_time, "gmtime", _REAL_GMTIME, _fake_gmtime),
    (_time, "localtime", _REAL_LOCALTIME, _fake_localtime),
    (_time, "ctime", _REAL_CTIME, _fake_ctime), (_time, "asctime", _REAL_ASCTIME, _fake_asctime),
    (_time, "strftime", _REAL_STRFTIME, _fake_strftime),
    (asyncio, "sleep", _REAL_ASYNC_SLEEP, _fake_async_sleep),
]

_patch_lock = threading.Lock()
_depth = 0
#: id(globals dict) -> (its size when scanned, keys holding a real clock function)
_scanned: Dict[int, Tuple[int, List[str]]] = {}


def _keys_to_swap(namespace: Dict[str, Any]) -> List[str]:
    key = id(namespace)
    seen = _scanned.get(key)
    if seen is not None and seen[0] == len(namespace):
        return seen[1]
    keys = [k for k, v in namespace.items() if id(v) in _SWAPS and _is_real(v)]
    _scanned[key] = (len(namespace), keys)
    return keys


def _is_real(value: Any) -> bool:
    return any(value is real for _, _, real, _ in _MODULE_ATTRS)


@contextmanager
def virtual_time(clock: ActivityClock, namespaces: Tuple[Dict[str, Any], ...] = ()
                 ) -> Iterator[ActivityClock]:
    """Run the body with this thread on ``clock`` (see the module docstring).

    ``namespaces`` are the globals of the user's function: names in them bound to
    the real ``datetime``/``time``/``sleep`` objects are swapped for the call.
    Nested and concurrent uses (several runtimes in several threads) share one
    patch, applied by the first and undone by the last.
    """
    global _depth
    swapped: List[Tuple[Dict[str, Any], str, Any]] = []
    with _patch_lock:
        if _depth == 0:
            for module, attr, _real, fake in _MODULE_ATTRS:
                setattr(module, attr, fake)
        _depth += 1
        for ns in namespaces:
            for k in _keys_to_swap(ns):
                value = ns.get(k)
                if value is not None and _is_real(value):
                    swapped.append((ns, k, value))
                    ns[k] = _SWAPS[id(value)]
    previous = getattr(_local, "clock", None)
    _local.clock = clock
    try:
        yield clock
    finally:
        _local.clock = previous
        with _patch_lock:
            for ns, k, value in swapped:
                ns[k] = value
            _depth -= 1
            if _depth == 0:
                for module, attr, real, _fake in _MODULE_ATTRS:
                    setattr(module, attr, real)


async def bind(clock: ActivityClock, awaitable: Any) -> Any:
    """Await ``awaitable`` with the thread that runs it on ``clock``.

    An async activity may run on a helper thread (``_sync.run_sync``, when the
    test itself runs in an event loop); the clock must follow it there.
    """
    previous = getattr(_local, "clock", None)
    _local.clock = clock
    try:
        return await awaitable
    finally:
        _local.clock = previous
