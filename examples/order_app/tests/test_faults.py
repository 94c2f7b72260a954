"""Faults: failing activities, retries on virtual time, a failing sub-orchestration."""
from datetime import timedelta

import pytest


# --8<-- [start:retry]
def test_payment_succeeds_on_the_second_try(durable_runtime, small_order):
    durable_runtime.mock_activity("charge_payment", side_effect=[
        ConnectionError("payment provider unavailable"),
        {"payment_id": "pay-retry", "amount": 85.0},
    ])

    result = durable_runtime.run("order_workflow", small_order)

    assert result.output["status"] == "completed"
    charges = [c for c in durable_runtime.activity_calls if c.name == "charge_payment"]
    assert [c.attempt for c in charges] == [1, 2]
    assert isinstance(charges[0].exception, ConnectionError)
    # The retry waited first_retry_interval (30 s) of virtual time, not of yours.
    assert result.last_updated_time - result.created_time == timedelta(seconds=30)
# --8<-- [end:retry]


# --8<-- [start:payment-failure]
def test_declined_payment_releases_the_reservation(durable_runtime, small_order):
    durable_runtime.mock_activity("charge_payment", side_effect=ValueError("card declined"))

    result = durable_runtime.run("order_workflow", small_order)

    assert result.runtime_status.value == "Completed"  # the orchestrator handled it
    assert result.output["status"] == "payment_failed"
    assert "card declined" in result.output["reason"]
    names = [c.name for c in durable_runtime.activity_calls]
    assert names.count("charge_payment") == 3  # PAYMENT_RETRY.max_number_of_attempts
    assert names[-1] == "release_inventory"
# --8<-- [end:payment-failure]


# --8<-- [start:sub-orchestration-failure]
def test_failed_shipment_is_left_for_a_person(durable_runtime, small_order):
    def ship_item(line):
        if line["sku"] == "lamp":
            raise RuntimeError("carrier rejected the parcel")
        return f"track-{line['sku']}"

    durable_runtime.mock_activity("ship_item", side_effect=ship_item)

    result = durable_runtime.run("order_workflow", small_order)

    assert result.output["status"] == "shipping_failed"
    assert "carrier rejected the parcel" in result.output["reason"]
    shipping = durable_runtime.status(f"{result.instance_id}:shipping")
    assert shipping.runtime_status.value == "Failed"
# --8<-- [end:sub-orchestration-failure]


# --8<-- [start:optional-mock]
@pytest.mark.durable_app(assert_all_mocks_used=False)
def test_a_refund_mock_may_stay_unused(durable_runtime, small_order):
    # Without the marker this test would fail at teardown: refund_payment is never called.
    durable_runtime.mock_activity("refund_payment", return_value={"refunded": "n/a"})

    result = durable_runtime.run("order_workflow", small_order)

    assert result.output["status"] == "completed"
    assert durable_runtime.unused_mocks == ["refund_payment"]
# --8<-- [end:optional-mock]
