"""The order workflow end to end on the in-memory host, with the app's own activities."""
from datetime import timedelta

from function_app import ORDERS_PROCESSED


# --8<-- [start:happy-path]
def test_small_order_is_charged_shipped_and_counted(durable_runtime, small_order):
    result = durable_runtime.run("order_workflow", small_order)

    assert result.runtime_status.value == "Completed"
    assert result.output == {
        "order_id": "A-100", "status": "completed", "payment_id": "pay-A-100",
        "tracking": ["track-A-100-book", "track-A-100-lamp"]}
    durable_runtime.run_until_idle()  # let the entity take the signal
    assert durable_runtime.entity_state(ORDERS_PROCESSED) == 1
# --8<-- [end:happy-path]


def test_out_of_stock_order_stops_before_payment(durable_runtime, small_order):
    small_order["items"].append({"sku": "desk", "qty": 5, "price": 300.0})

    result = durable_runtime.run("order_workflow", small_order)

    assert result.output == {"order_id": "A-100", "status": "out_of_stock", "missing": ["desk"]}
    assert [call.name for call in durable_runtime.activity_calls] == ["reserve_inventory"]


# --8<-- [start:fan-out]
def test_each_line_item_ships_in_parallel(durable_runtime):
    order = {"order_id": "F-1", "customer": "c-1",
             "items": [{"sku": sku, "qty": 1, "price": 5.0} for sku in ("book", "lamp", "desk")]}

    result = durable_runtime.run("order_workflow", order)

    shipped = [call.input["sku"] for call in durable_runtime.activity_calls
               if call.name == "ship_item"]
    assert sorted(shipped) == ["book", "desk", "lamp"]
    assert result.output["tracking"] == ["track-F-1-book", "track-F-1-lamp", "track-F-1-desk"]
    # All three ran in one virtual instant: nothing waited for anything else.
    assert durable_runtime.now == durable_runtime.status(result.instance_id).created_time
# --8<-- [end:fan-out]


# --8<-- [start:approval]
def test_large_order_waits_for_the_manager(durable_runtime, large_order):
    instance_id = durable_runtime.start("order_workflow", large_order)

    durable_runtime.advance(timedelta(hours=3))  # virtual time: returns at once
    status = durable_runtime.status(instance_id)
    assert status.runtime_status.value == "Running"
    assert status.custom_status == "awaiting approval"

    durable_runtime.raise_event(instance_id, "ManagerApproval", {"approved": True})
    result = durable_runtime.wait(instance_id)

    assert result.output["status"] == "completed"
    assert result.last_updated_time - result.created_time == timedelta(hours=3)
# --8<-- [end:approval]


def test_rejected_order_is_refunded_and_released(durable_runtime, large_order):
    instance_id = durable_runtime.start("order_workflow", large_order)
    durable_runtime.advance(timedelta(minutes=5))
    durable_runtime.raise_event(instance_id, "ManagerApproval", {"approved": False})

    result = durable_runtime.wait(instance_id)

    assert result.output == {"order_id": "B-200", "status": "rejected"}
    assert [c.name for c in durable_runtime.activity_calls][-2:] == [
        "refund_payment", "release_inventory"]


# --8<-- [start:timeout]
def test_unapproved_order_times_out_after_a_day(durable_runtime, large_order):
    instance_id = durable_runtime.start("order_workflow", large_order)

    durable_runtime.advance(timedelta(hours=23, minutes=59))
    assert durable_runtime.status(instance_id).runtime_status.value == "Running"

    durable_runtime.advance(timedelta(minutes=1))
    result = durable_runtime.status(instance_id)
    assert result.output == {"order_id": "B-200", "status": "approval_timed_out"}
    assert durable_runtime.now.isoformat() == "2024-03-02T09:00:00+00:00"
# --8<-- [end:timeout]


def test_wait_skips_straight_to_the_timeout(durable_runtime, large_order):
    result = durable_runtime.run("order_workflow", large_order)

    assert result.output["status"] == "approval_timed_out"
    assert result.last_updated_time - result.created_time == timedelta(hours=24)
