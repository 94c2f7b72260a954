"""One orchestrator driven step by step: the test decides every result and every instant."""
from datetime import timedelta


# --8<-- [start:scenario]
def test_large_order_step_by_step(orchestration_scenario, large_order):
    sc = orchestration_scenario("order_workflow", large_order)  # by name, from durable_app

    [reserve] = sc.start()
    assert reserve.name == "reserve_inventory"

    [charge] = sc.complete("reserve_inventory", {
        "order_id": "B-200", "reserved": True, "missing": [], "items": large_order["items"]})
    assert (charge.name, charge.input["amount"]) == ("charge_payment", 1200.0)

    [retry_timer] = sc.fail("charge_payment", ConnectionError("provider timeout"))
    assert retry_timer.retry_of == "charge_payment"
    [charge_again] = sc.fire_timers()
    assert charge_again.attempt == 2

    timeout, approval = sc.complete("charge_payment", {"payment_id": "pay-1", "amount": 1200.0})
    assert (timeout.kind, approval.name) == ("timer", "ManagerApproval")
    assert timeout.fire_at - sc.now == timedelta(hours=24)
    assert sc.custom_status == "awaiting approval"

    assert sc.advance(timedelta(hours=2)) == []  # nothing happens before the manager answers
    [shipping] = sc.raise_event("ManagerApproval", {"approved": True})
    assert shipping.kind == "sub_orchestration"

    [counted] = sc.complete_sub_orchestration("ship_order", ["track-lamp"])
    assert (counted.kind, counted.instance_id) == ("entity_signal", "@orders_processed@all")
    assert sc.is_done
    assert sc.output == {"order_id": "B-200", "status": "completed",
                         "payment_id": "pay-1", "tracking": ["track-lamp"]}
# --8<-- [end:scenario]
