"""_timestamps: the SDK's timestamp parse, cached and fast, identical to dateutil's."""
from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
import threading
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterator, Tuple

import pytest
from dateutil.parser import parse as dateutil_parse
from hypothesis import example, given, settings
from hypothesis import strategies as st

from durable_testkit import _timestamps
from durable_testkit._timestamps import (
    ENV_STOCK,
    SDK_TARGETS,
    install,
    installed,
    parse_like_dateutil,
    uninstall,
)

ROOT = Path(__file__).resolve().parents[2]
HISTORY_EVENT = importlib.import_module("azure.durable_functions.models.history.HistoryEvent")


def outcome(fn: Any, text: Any) -> Tuple[Any, ...]:
    """Everything a user could tell apart: value, offset, tzinfo class, repr, or the error."""
    try:
        value = fn(text)
    except Exception as exc:  # the error must match too
        return ("raised", type(exc), str(exc))
    try:  # dateutil happily builds datetimes whose offset Python then refuses (+24:00)
        offset: Any = value.utcoffset()
        text_form = str(value)
    except ValueError as exc:
        offset = text_form = str(exc)
    return ("value", value.replace(tzinfo=None), offset, type(value), type(value.tzinfo),
            repr(value), text_form)


def assert_same_as_dateutil(text: Any) -> None:
    ours = outcome(parse_like_dateutil, text)
    assert ours == outcome(dateutil_parse, text)
    # and again from the cache
    assert outcome(parse_like_dateutil, text) == ours


zones = st.one_of(
    st.just("Z"), st.just(""), st.just("+00:00"), st.just("-00:00"),
    st.builds(lambda sign, h, m: f"{sign}{h:02d}:{m:02d}", st.sampled_from("+-"),
              st.integers(0, 23), st.integers(0, 59)),
)
fractions = st.integers(0, 7).flatmap(
    lambda n: st.just("") if n == 0 else st.text("0123456789", min_size=n, max_size=n)
    .map(lambda digits: "." + digits))


@st.composite
def wire_timestamps(draw: st.DrawFn) -> str:
    """The shapes the host, stored histories and production exports use."""
    d = draw(st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
    h, m, s = draw(st.integers(0, 23)), draw(st.integers(0, 59)), draw(st.integers(0, 59))
    return (f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{h:02d}:{m:02d}:{s:02d}"
            f"{draw(fractions)}{draw(zones)}")


@settings(max_examples=400, deadline=None)
@given(wire_timestamps())
@example("2024-01-01T00:00:00.000000Z")          # the host's own format
@example("2024-01-01T00:00:00.1234567Z")         # .NET, 7 digits (truncated, not rounded)
@example("2024-01-01T00:00:00.9999999Z")
@example("2024-01-01T00:00:00Z")                 # no fraction
@example("2024-03-10T02:30:00-04:00")            # an offset
@example("2024-01-01T00:00:00+00:00")
@example("0001-01-01T00:00:00Z")
@example("0001-01-01T00:00:00+14:00")            # an instant before datetime.min
@example("9999-12-31T23:59:59.9999999Z")
@example("9999-12-31T23:59:59-14:00")            # an instant after datetime.max
@example("0099-06-01T00:00:00Z")                 # a 4-digit year is never "the 1990s"
@example("2024-01-01T00:00:00")                  # naive: dateutil returns a naive datetime
def test_wire_shapes_parse_exactly_as_dateutil(text: str) -> None:
    assert_same_as_dateutil(text)


@settings(max_examples=200, deadline=None)
@given(st.builds(lambda y, mo, d, rest: f"{y:04d}-{mo:02d}-{d:02d}T{rest}",
                 st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32),
                 st.sampled_from(["00:00:00Z", "24:00:00Z", "23:59:60Z", "12:60:00+01:00",
                                  "00:00:00+24:00", "00:00:00+05:99", "00:00:00.5-00:30"])))
def test_impossible_dates_and_offsets_fail_or_parse_as_dateutil_does(text: str) -> None:
    assert_same_as_dateutil(text)


@pytest.mark.parametrize("text", [
    "2024-01-01 00:00:00Z", "2024-01-01t00:00:00z", "2024-01-01T00:00:00.12345678Z",
    "2024-01-01T00:00:00+0400", "2024-01-01T00:00:00 UTC", "2024-01-01T00:00:00Z\n",
    " 2024-01-01T00:00:00Z", "2024-01-01T00:00:00.Z", "\u0662024-01-01T00:00:00Z",
    "20240101T000000Z", "", "not a time", None, 1704067200, b"2024-01-01T00:00:00Z",
])
def test_other_input_goes_to_dateutil_with_its_result_or_error(text: Any) -> None:
    assert_same_as_dateutil(text)


def test_keyword_arguments_go_to_dateutil() -> None:
    text = "2024-01-01T05:00:00-04:00"
    assert parse_like_dateutil(text, ignoretz=True) == dateutil_parse(text, ignoretz=True)
    assert parse_like_dateutil(text, ignoretz=True).tzinfo is None


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_timestamps, "CACHE_SIZE", 8)
    for second in range(30):
        assert_same_as_dateutil(f"2024-01-01T00:00:{second:02d}Z")
    assert len(_timestamps._cache) <= 8


@pytest.mark.parametrize("zone", ["UTC", "Europe/London", "America/New_York", "Asia/Kolkata",
                                  "UTC0BST,M3.5.0/1,M10.5.0"])
def test_same_as_dateutil_whatever_the_local_time_zone(zone: str) -> None:
    # dateutil answers tzlocal() for "Z" when "UTC" is a local zone name (TZ=UTC), tzutc()
    # otherwise; time.tzset() changes that mid-process, so each zone runs in a subprocess.
    script = textwrap.dedent("""
        import random, time
        from dateutil.parser import parse
        from durable_testkit._timestamps import parse_like_dateutil
        rng = random.Random(7)
        def show(fn, s):
            try:
                v = fn(s)
                return (repr(v), str(v), type(v.tzinfo), v.utcoffset())
            except Exception as e:
                return (type(e), str(e))
        samples = ["2024-03-31T00:30:00Z", "2024-03-31T01:30:00Z", "2024-10-27T01:30:00Z",
                   "1970-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"]
        for _ in range(3000):
            zone = rng.choice(["Z", "+00:00", "-00:00", "+05:30", ""])
            samples.append("%04d-%02d-%02dT%02d:%02d:%02d.%s%s" % (
                rng.randint(1, 9999), rng.randint(1, 12), rng.randint(1, 28),
                rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59),
                str(rng.randint(0, 9999999)).zfill(7)[:rng.randint(1, 7)], zone))
        bad = [s for s in samples for _ in (0, 1)
               if show(parse_like_dateutil, s) != show(parse, s)]
        print(time.tzname, len(samples), "mismatches:", bad[:3])
        raise SystemExit(1 if bad else 0)
    """)
    env = dict(os.environ, TZ=zone)
    proc = subprocess.run([sys.executable, "-c", script], env=env, cwd=str(ROOT),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_time_zone_change_mid_process_starts_the_cache_afresh(
        monkeypatch: pytest.MonkeyPatch) -> None:
    text = "2024-01-01T00:00:00Z"
    parse_like_dateutil(text)
    monkeypatch.setattr("time.tzname", ("EST", "EDT"))  # what time.tzset() would bind
    assert repr(parse_like_dateutil(text).tzinfo) == "tzutc()"
    monkeypatch.setattr("time.tzname", ("UTC", "UTC"))
    assert repr(parse_like_dateutil(text).tzinfo) == repr(dateutil_parse(text).tzinfo)


# --------------------------------------------------------------------------- install


@pytest.fixture
def restore() -> Iterator[None]:
    """Leave the SDK as the test found it (the host may have installed the fast path)."""
    was = installed()
    uninstall()
    yield
    uninstall()
    if was:
        install(stock=False)


def sdk_globals() -> list:
    return [getattr(importlib.import_module(m), a) for m, a in SDK_TARGETS]


@pytest.mark.usefixtures("restore")
def test_install_swaps_the_sdk_globals_and_uninstall_puts_dateutil_back(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_STOCK, raising=False)
    assert sdk_globals() == [dateutil_parse, dateutil_parse]
    assert install() is True and installed()
    assert sdk_globals() == [parse_like_dateutil, parse_like_dateutil]
    assert install() is True  # idempotent
    uninstall()
    assert not installed() and sdk_globals() == [dateutil_parse, dateutil_parse]
    uninstall()  # idempotent too
    assert sdk_globals() == [dateutil_parse, dateutil_parse]


@pytest.mark.usefixtures("restore")
def test_the_sdk_sees_the_same_timestamp_either_way() -> None:
    wire = dict(EventType=12, EventId=-1, IsPlayed=False, Timestamp="2024-05-01T10:00:00.1234567Z")
    stock = HISTORY_EVENT.HistoryEvent(**wire).timestamp
    install(stock=False)
    fast = HISTORY_EVENT.HistoryEvent(**wire).timestamp
    assert (fast, repr(fast), str(fast)) == (stock, repr(stock), str(stock))


@pytest.mark.usefixtures("restore")
def test_the_env_var_keeps_the_stock_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_STOCK, "1")
    assert install() is False and not installed()
    assert sdk_globals() == [dateutil_parse, dateutil_parse]
    install(stock=False)  # the argument wins over the environment
    assert installed()
    assert install() is False  # read at each install(): opting out restores the stock path
    assert sdk_globals() == [dateutil_parse, dateutil_parse]
    monkeypatch.setenv(ENV_STOCK, "0")
    assert install() is True


@pytest.mark.usefixtures("restore")
def test_install_stock_true_restores_the_stock_path() -> None:
    install(stock=False)
    assert install(stock=True) is False
    assert sdk_globals() == [dateutil_parse, dateutil_parse]


@pytest.mark.usefixtures("restore")
def test_a_global_somebody_else_replaced_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    def mock(text: str) -> datetime:
        raise AssertionError("not called")

    monkeypatch.setattr(HISTORY_EVENT, "dt_parse", mock)
    install(stock=False)
    assert HISTORY_EVENT.dt_parse is mock
    uninstall()
    assert HISTORY_EVENT.dt_parse is mock


@pytest.mark.usefixtures("restore")
def test_install_and_uninstall_from_many_threads_end_consistent() -> None:
    barrier = threading.Barrier(8)

    def churn(i: int) -> None:
        barrier.wait(timeout=30)
        for _ in range(200):
            install(stock=False)
            if i % 2:
                uninstall()

    threads = [threading.Thread(target=churn, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    install(stock=False)
    assert sdk_globals() == [parse_like_dateutil, parse_like_dateutil]
    assert len(_timestamps._swapped) == len(SDK_TARGETS)
    uninstall()
    assert sdk_globals() == [dateutil_parse, dateutil_parse]
