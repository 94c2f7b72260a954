"""Orchestrators for the determinism probe tests, at module level so the probe's
PYTHONHASHSEED subprocess can import them by module:qualname."""
from __future__ import annotations

import os
import random
import uuid
from datetime import datetime, timedelta, timezone

import probe_helpers as helpers

NAMES = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]


# -- not deterministic, read directly -----------------------------------------------------
def clock_direct(context):
    today = datetime.now(timezone.utc).date().isoformat()
    return (yield context.call_activity("echo", f"report for {today}"))


def random_direct(context):
    return (yield context.call_activity("echo", random.randint(0, 10**9)))


def uuid_direct(context):
    return (yield context.call_activity("echo", str(uuid.uuid4())))


def set_direct(context):
    results = []
    for name in {"alpha", "beta", "gamma", "delta", "epsilon", "zeta"}:
        results.append((yield context.call_activity("echo", name)))
    return results


def environ_direct(context):
    path = os.getenv("DURABLE_PROBE_PATH", "old")
    return (yield context.call_activity(f"echo", f"{path} path"))


# -- not deterministic, through helpers in another module ---------------------------------
def clock_helper(context):
    return (yield context.call_activity("echo", helpers.stamp()))


def random_helper(context):
    return (yield context.call_activity("echo", helpers.lucky_number()))


def uuid_helper(context):
    return (yield context.call_activity("echo", helpers.token()))


def set_helper(context):
    tasks = [context.call_activity("echo", n) for n in helpers.unique(NAMES)]
    return (yield context.task_all(tasks))


def environ_helper(context):
    return (yield context.call_activity("echo", helpers.region()))


# -- the same, deterministic ---------------------------------------------------------------
def clock_good(context):
    deadline = context.current_utc_datetime + timedelta(hours=1)
    yield context.create_timer(deadline)
    return (yield context.call_activity("echo", context.current_utc_datetime.isoformat()))


def random_good(context):
    rng = random.Random(context.instance_id)  # seeded from the instance: the same each replay
    return (yield context.call_activity("echo", rng.randint(0, 10**9)))


def uuid_good(context):
    return (yield context.call_activity("echo", str(context.new_guid())))


def set_good(context):
    tasks = [context.call_activity("echo", n) for n in helpers.unique_sorted(NAMES)]
    return (yield context.task_all(tasks))


def environ_good(context):
    region = (context.get_input() or {}).get("region", "westeurope")
    return (yield context.call_activity("echo", region))


def everything_good(context):
    """Timers, a fan-out, an event and a sub-orchestration, all deterministic."""
    first = yield context.call_activity("echo", context.current_utc_datetime.isoformat())
    tasks = [context.call_activity("echo", n) for n in sorted({"b", "a", "c"})]
    fanned = yield context.task_all(tasks)
    yield context.create_timer(context.current_utc_datetime + timedelta(minutes=5))
    child = yield context.call_sub_orchestrator("uuid_good")
    return [first, fanned, child, str(context.new_guid())]


# -- not deterministic, then stopped by another of the host's bounds -----------------------
def flag_direct_branch(context):
    """A feature flag read as a truth value: unset in the run, 'set' under either probe
    variant, so only a comparison with the run's own environment names it."""
    if os.getenv("DURABLE_PROBE_FEATURE_X"):
        return (yield context.call_activity("echo", "new path"))
    return (yield context.call_activity("echo", "old path"))


def clock_monitor_forever(context):
    """Reads the wall clock every episode and never finishes: the host stops it first."""
    while True:
        stamp = datetime.now(timezone.utc).date().isoformat()
        yield context.call_activity("echo", stamp)
        yield context.create_timer(context.current_utc_datetime + timedelta(minutes=5))
