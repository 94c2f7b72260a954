"""The samples of docs/faults.md, run as tests (test_faults_docs.py checks the copies match)."""
from __future__ import annotations

from datetime import timedelta

import azure.durable_functions as df
import pytest

from durable_testkit import FaultCheckFailed, InMemoryRuntime, check_at_least_once, faults

# A payment provider the activities talk to: a list of charges, keyed when a key is given.
CHARGES = []


def charge(payment):
    CHARGES.append(payment["amount"])
    return {"charged": payment["amount"]}


def checkout(context: df.DurableOrchestrationContext):
    order = context.get_input()
    receipt = yield context.call_activity("charge", {"amount": order["total"]})
    yield context.call_activity("ship", order["items"])
    return receipt


def ship(items):
    return len(items)


def make_runtime():
    CHARGES.clear()
    rt = InMemoryRuntime()
    rt.register_orchestrator("checkout", checkout)
    rt.register_activity("charge", charge)
    rt.register_activity("ship", ship)
    return rt


ORDER = {"total": 30, "items": ["book"]}


def test_a_crash_after_the_charge_charges_twice():
    rt = make_runtime()
    fault = rt.inject(faults.crash_after_activity("charge"))
    result = rt.run("checkout", ORDER)

    assert result.output == {"charged": 30}  # the orchestration is none the wiser
    assert fault.fired == 1
    assert CHARGES == [30, 30]  # but the customer paid twice
    assert [(c.name, c.recorded, c.fault) for c in rt.activity_calls] == [
        ("charge", False, "crash_after_activity"),  # ran; its completion was lost
        ("charge", True, None),                     # the same work item, run again
        ("ship", True, None),
    ]


def test_when_and_times():
    rt = make_runtime()
    rt.inject(faults.duplicate_activity("ship"))                        # the first ship
    rt.inject(faults.crash_after_activity("charge", when=2))            # the second charge
    rt.inject(faults.fail_activity("ship", TimeoutError, when=lambda c: c.attempt == 1,
                                   times=3))                            # a predicate
    rt.inject(faults.delay_activity("charge", timedelta(minutes=5)))    # races timers
    rt.inject(faults.crash_episode("checkout", when=1))                 # its first episode
    assert [f.fired for f in rt.faults] == [0, 0, 0, 0, 0]


def test_check_at_least_once_finds_the_double_charge():
    def check(result, rt):
        assert CHARGES == [30], f"charged {CHARGES}"

    with pytest.raises(FaultCheckFailed) as caught:
        check_at_least_once(make_runtime, "checkout", ORDER, check=check)

    assert caught.value.fault == "faults.crash_after_activity('charge', when=1)"


# The fix: the orchestration passes a key that is the same on every run of this step,
# and the activity (or the provider behind it) charges once per key.
PAID = {}


def charge_once(payment):
    key = payment["idempotency_key"]
    if key not in PAID:
        CHARGES.append(payment["amount"])
        PAID[key] = {"charged": payment["amount"]}
    return PAID[key]


def checkout_once(context: df.DurableOrchestrationContext):
    order = context.get_input()
    key = f"{context.instance_id}:charge"  # deterministic: the same on every replay
    receipt = yield context.call_activity(
        "charge", {"amount": order["total"], "idempotency_key": key})
    yield context.call_activity("ship", order["items"])
    return receipt


def make_idempotent_runtime():
    CHARGES.clear()
    PAID.clear()
    rt = InMemoryRuntime()
    rt.register_orchestrator("checkout", checkout_once)
    rt.register_activity("charge", charge_once)
    rt.register_activity("ship", ship)
    return rt


def test_the_idempotency_key_makes_the_effect_exactly_once():
    def check(result, rt):
        assert result.output == {"charged": 30}
        assert CHARGES == [30]

    report = check_at_least_once(make_idempotent_runtime, "checkout", ORDER, check=check)

    assert report.passed
    assert len(report.results) == 7  # 2 activities x 2 faults, 3 episodes


@pytest.mark.durable_app("guide_app:app")  # the marker sample, with the app it runs on
@pytest.mark.durable_faults(faults.crash_after_activity("charge"))
def test_checkout_survives_a_crash(durable_runtime):
    result = durable_runtime.run("checkout", {"total": 30, "items": ["book"]})
    assert result.output == {"charged": 30}
