"""Clock stand-ins left in place still answer while the interpreter tears modules down.

An abandoned activity never ends its patch, so ``time.time`` may still be the
stand-in at exit, when module globals are set to None; logging then calls it
(aiohttp's ``__del__`` warnings did, and printed a TypeError at the end of a run).
"""
from __future__ import annotations

import time

import pytest

from durable_testkit._host import activity_clock as clock


@pytest.mark.parametrize("name", ["_REAL_TIME", "_REAL_TIME_NS", "_REAL_SLEEP", "_local"])
def test_stand_ins_work_with_the_module_globals_cleared(monkeypatch: pytest.MonkeyPatch,
                                                        name: str) -> None:
    monkeypatch.setattr(clock, name, None)
    assert abs(clock._fake_time() - time.time()) < 60
    assert abs(clock._fake_time_ns() - time.time_ns()) < 60 * 10 ** 9
    clock._fake_sleep(0)
