"""Wire timestamps parsed as ``dateutil.parser.parse`` parses them, without its cost.

The SDK turns every history event's ``Timestamp`` into a datetime with
``dateutil.parser.parse`` (bound as ``dt_parse`` in
``azure/durable_functions/models/history/HistoryEvent.py``; the client's
``DurableOrchestrationStatus.py`` binds it too). The in-memory host hands the
SDK the whole history on every episode, so a 200-step chain re-parses the same
strings tens of thousands of times, and dateutil's general-purpose tokenizer
(about 60 microseconds a call) dominated the host's run time.

``parse_like_dateutil`` returns exactly what dateutil returns -- same value,
same ``tzinfo`` class, same ``repr`` -- for the ISO 8601 shapes the host, the
extension (.NET, 7 fraction digits) and exported production histories use, and
defers to dateutil for anything else. ``install()`` swaps it into the SDK's
module globals; ``DURABLE_TESTKIT_STOCK_TIMESTAMPS=1`` (or ``install(stock=True)``)
keeps the stock path. See docs/protocol.md, "Timestamp parsing".
"""
from __future__ import annotations

import datetime as _dt
import re
import time
from typing import Any, Dict, Optional, Tuple

# python-dateutil (an SDK dependency) ships no type hints; CI does not install its stubs.
from dateutil import tz as _tz  # type: ignore[import-untyped]
from dateutil.parser import parse as _dateutil_parse  # type: ignore[import-untyped]

from ._sdk_swap import ENV_STOCK_SDK, SdkSwap

__all__ = [
    "ENV_STOCK",
    "ENV_STOCK_SDK",
    "SDK_TARGETS",
    "CACHE_SIZE",
    "parse_like_dateutil",
    "install",
    "uninstall",
    "installed",
]

#: Environment variable that keeps the SDK on stock dateutil when set to ``1`` (read by install()).
ENV_STOCK = "DURABLE_TESTKIT_STOCK_TIMESTAMPS"

#: The SDK module globals install() swaps: (module, attribute). Both are
#: ``from dateutil.parser import parse as dt_parse`` in SDK 1.3.1 through 1.7.0.
SDK_TARGETS: Tuple[Tuple[str, str], ...] = (
    ("azure.durable_functions.models.history.HistoryEvent", "dt_parse"),
    ("azure.durable_functions.models.DurableOrchestrationStatus", "dt_parse"),
)

#: Most timestamps kept. A 10,000-event history needs about 10,000; past the cap
#: the cache starts afresh, which costs one re-parse per string, never a wrong answer.
CACHE_SIZE = 65536

# Only ASCII digits: dateutil's tokenizer and ours would disagree on other Unicode digits,
# so those strings go to dateutil. fullmatch, not $, so a trailing newline goes there too.
_ISO = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,7}))?(Z|[+-][0-9]{2}:[0-9]{2})?", re.ASCII)

_cache: Dict[str, _dt.datetime] = {}

# The class dateutil builds, captured at import: while an activity runs, the host swaps
# ``datetime.datetime`` for a virtual-clock stand-in (_host/activity_clock), and the
# SDK must still get plain datetimes, as dateutil gives it.
_DATETIME = _dt.datetime
# dateutil's answer for a zero offset depends on time.tzname (see _fast); time.tzset()
# always binds a new tuple, so an identity check is enough to notice a change and start over.
_cache_tzname: Tuple[str, ...] = time.tzname


def _fast(text: str) -> Optional[_dt.datetime]:
    """dateutil's result for the shapes in ``_ISO``, or None to let dateutil decide.

    Mirrors what dateutil 2.8-4.0 does with these tokens: fraction digits beyond
    six are truncated, not rounded; an offset is ``tzoffset(None, seconds)``; a zero
    offset ("Z", "+00:00", "-00:00") is named "UTC" and becomes ``tzlocal()`` when
    "UTC" is one of the process's ``time.tzname`` (TZ=UTC, as in most containers),
    else ``tzutc()``.
    """
    m = _ISO.fullmatch(text)
    if m is None:
        return None
    year, month, day, hour, minute, second, frac, zone = m.groups()
    try:
        naive = _DATETIME(int(year), int(month), int(day), int(hour), int(minute),
                             int(second), int(frac.ljust(6, "0")[:6]) if frac else 0)
    except ValueError:
        return None  # dateutil raises its own ParserError text for impossible dates
    if zone is None:
        return naive
    offset = 0
    if zone != "Z":
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            return None  # dateutil accepts "+05:99" or rejects "+24:00" in its own way
        offset = (hours * 3600 + minutes * 60) * (-1 if zone[0] == "-" else 1)
    if offset:
        return naive.replace(tzinfo=_tz.tzoffset(None, offset))
    if "UTC" not in time.tzname:
        return naive.replace(tzinfo=_tz.UTC)
    try:
        local = naive.replace(tzinfo=_tz.tzlocal())
        if local.tzname() != "UTC":
            # dateutil tries the other side of a fold before giving up on local time.
            folded = _tz.enfold(local, fold=1)
            if folded.tzname() == "UTC":
                local = folded
        return local if local.tzname() == "UTC" else naive.replace(tzinfo=_tz.UTC)
    except (ValueError, OverflowError, OSError):
        return None  # a time the platform's localtime() cannot handle: dateutil's error


def parse_like_dateutil(timestr: Any, parserinfo: Any = None, **kwargs: Any) -> Any:
    """``dateutil.parser.parse`` with a cache and a fast path for ISO 8601 wire timestamps.

    A drop-in for the SDK's ``dt_parse``: same signature, same results, same
    errors. Any argument besides the string, any non-``str`` input and any
    shape outside the fast path goes to dateutil itself, uncached (its answer
    may depend on today's date).

    Args:
        timestr: the text to parse, e.g. ``"2024-01-01T00:00:00.000000Z"``.
        parserinfo: passed to dateutil; disables the fast path.
        **kwargs: passed to dateutil; disable the fast path.
    """
    global _cache_tzname
    if parserinfo is not None or kwargs or type(timestr) is not str:
        return _dateutil_parse(timestr, parserinfo, **kwargs)
    if time.tzname is not _cache_tzname:
        _cache.clear()
        _cache_tzname = time.tzname
    hit = _cache.get(timestr)
    if hit is not None:
        return hit
    value = _fast(timestr)
    if value is None:
        return _dateutil_parse(timestr)
    if len(_cache) >= CACHE_SIZE:
        _cache.clear()
    _cache[timestr] = value
    return value


# --------------------------------------------------------------------------- SDK globals

_SWAP = SdkSwap([(module, None, attr) for module, attr in SDK_TARGETS],
                is_stock=lambda value: value is _dateutil_parse,
                replacement=lambda _: parse_like_dateutil,
                is_ours=lambda value: value is parse_like_dateutil, env=(ENV_STOCK,))
#: (module, attribute, the value we replaced), for every global currently swapped.
_swapped = _SWAP.swapped


def install(*, stock: Optional[bool] = None) -> bool:
    """Make the SDK parse history timestamps with ``parse_like_dateutil``.

    Idempotent and thread-safe. Swaps only globals that still hold
    ``dateutil.parser.parse``: one somebody else replaced (a test's mock) is
    left alone, and an SDK that no longer has them is simply not sped up.

    Args:
        stock: True keeps (or restores) the stock dateutil path; False installs
            regardless of the environment; None (the default) reads
            ``DURABLE_TESTKIT_STOCK_TIMESTAMPS`` and ``DURABLE_TESTKIT_STOCK_SDK``
            once, now: ``1`` in either means stock.

    Returns:
        Whether the fast parser is now installed.
    """
    return _SWAP.install(stock=stock)


def uninstall() -> None:
    """Put back every SDK global ``install()`` swapped (those still holding our parser)."""
    _SWAP.uninstall()


def installed() -> bool:
    """Whether the SDK currently parses history timestamps with ``parse_like_dateutil``."""
    return _SWAP.installed()
