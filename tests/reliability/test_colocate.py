"""A guard hand-off binds both threads to one CPU only while it lasts, and gives every set back."""
from __future__ import annotations

import os
import threading

import pytest

from durable_testkit import _colocate
from durable_testkit._guard import Guard

linux_smp = pytest.mark.skipif(
    _colocate._getcpu is None or len(os.sched_getaffinity(0)) < 2,
    reason="needs Linux sched_setaffinity and two CPUs")


@linux_smp
def test_the_callers_affinity_is_back_after_a_drive() -> None:
    before = os.sched_getaffinity(0)
    assert Guard().drive(lambda: 42) == 42
    assert os.sched_getaffinity(0) == before


@linux_smp
def test_user_code_on_the_worker_and_the_threads_it_starts_get_every_cpu() -> None:
    before = os.sched_getaffinity(0)
    seen = {}

    def job() -> None:
        seen["worker"] = os.sched_getaffinity(0)
        t = threading.Thread(target=lambda: seen.setdefault("child", os.sched_getaffinity(0)))
        t.start()
        t.join(timeout=30)

    Guard().drive(job)
    assert seen["worker"] == before
    assert seen["child"] == before


@linux_smp
def test_the_affinity_comes_back_when_the_drive_raises() -> None:
    before = os.sched_getaffinity(0)

    def boom() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError):
        Guard().drive(boom)
    assert os.sched_getaffinity(0) == before


@linux_smp
def test_a_caller_bound_to_one_cpu_is_left_alone() -> None:
    before = os.sched_getaffinity(0)
    one = {min(before)}
    # A worker made while the caller is bound would inherit its CPU (Linux threads do):
    # have an idle one in the pool first (it stays IDLE_SECONDS), made with every CPU.
    Guard().drive(lambda: None)
    os.sched_setaffinity(0, one)
    try:
        assert _colocate.bind_for_hand_off(threading.current_thread()) is None
        assert Guard().drive(lambda: os.sched_getaffinity(0)) == before  # worker untouched
        assert os.sched_getaffinity(0) == one
    finally:
        os.sched_setaffinity(0, before)
