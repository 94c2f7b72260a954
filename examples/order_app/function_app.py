"""An order workflow as a Durable Functions V2 app, tested in ``tests/``.

POST /api/orders starts ``order_workflow`` for the JSON order in the body:

1. reserve the items (``reserve_inventory``); an out-of-stock order stops here;
2. charge the customer (``charge_payment``), retried on failure; if every try
   fails, the reservation is released and the order fails;
3. orders of ``APPROVAL_LIMIT`` or more wait for a manager's ``ManagerApproval``
   event for at most ``APPROVAL_TIMEOUT``; a rejection or silence refunds the
   payment and releases the reservation;
4. the ``ship_order`` sub-orchestration ships each line item (``ship_item``) in
   parallel; if it fails, the order is marked for a person to follow up;
5. the ``orders_processed`` entity counts the order.
"""
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

APPROVAL_LIMIT = 1000
APPROVAL_TIMEOUT = timedelta(hours=24)
PAYMENT_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=30_000,
                                max_number_of_attempts=3)
ORDERS_PROCESSED = df.EntityId("orders_processed", "all")

# Stand-ins for the warehouse and the payment provider a real app would call.
STOCK = {"book": 10, "lamp": 3, "desk": 1}


# ------------------------------------------------------------------ HTTP starter
@app.route(route="orders", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_order(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    order = req.get_json()
    instance_id = await client.start_new("order_workflow", order.get("order_id"), order)
    return client.create_check_status_response(req, instance_id)


# ------------------------------------------------------------------ orchestrator
@app.orchestration_trigger(context_name="context")
def order_workflow(context: df.DurableOrchestrationContext):
    order = context.get_input()
    total = sum(line["qty"] * line["price"] for line in order["items"])

    reservation = yield context.call_activity("reserve_inventory", order)
    if not reservation["reserved"]:
        return {"order_id": order["order_id"], "status": "out_of_stock",
                "missing": reservation["missing"]}

    try:
        payment = yield context.call_activity_with_retry(
            "charge_payment", PAYMENT_RETRY,
            {"order_id": order["order_id"], "customer": order["customer"], "amount": total})
    except Exception as error:
        yield context.call_activity("release_inventory", reservation)
        return {"order_id": order["order_id"], "status": "payment_failed",
                "reason": str(error)}

    if total >= APPROVAL_LIMIT:
        context.set_custom_status("awaiting approval")
        deadline = context.current_utc_datetime + APPROVAL_TIMEOUT
        timeout = context.create_timer(deadline)
        approval = context.wait_for_external_event("ManagerApproval")
        winner = yield context.task_any([approval, timeout])
        if winner == approval:
            timeout.cancel()
            decision = approval.result or {}
            approved = bool(decision.get("approved"))
        else:
            approved = False
        if not approved:
            yield context.call_activity("refund_payment", payment)
            yield context.call_activity("release_inventory", reservation)
            status = "rejected" if winner == approval else "approval_timed_out"
            return {"order_id": order["order_id"], "status": status}

    context.set_custom_status("shipping")
    try:
        tracking = yield context.call_sub_orchestrator(
            "ship_order", {"order_id": order["order_id"], "items": order["items"]},
            f"{context.instance_id}:shipping")
    except Exception as error:
        # Paid and approved: a person follows up rather than the workflow refunding.
        return {"order_id": order["order_id"], "status": "shipping_failed",
                "reason": str(error)}
    context.signal_entity(ORDERS_PROCESSED, "add", 1)
    return {"order_id": order["order_id"], "status": "completed",
            "payment_id": payment["payment_id"], "tracking": tracking}


@app.orchestration_trigger(context_name="context")
def ship_order(context: df.DurableOrchestrationContext):
    shipment = context.get_input()
    tracking = yield context.task_all([
        context.call_activity("ship_item", {"order_id": shipment["order_id"], **line})
        for line in shipment["items"]])
    return tracking


# ------------------------------------------------------------------ activities
@app.activity_trigger(input_name="order")
def reserve_inventory(order: dict) -> dict:
    missing = [line["sku"] for line in order["items"]
               if STOCK.get(line["sku"], 0) < line["qty"]]
    return {"order_id": order["order_id"], "reserved": not missing, "missing": missing,
            "items": order["items"]}


@app.activity_trigger(input_name="reservation")
def release_inventory(reservation: dict) -> None:
    return None


@app.activity_trigger(input_name="charge")
def charge_payment(charge: dict) -> dict:
    return {"payment_id": f"pay-{charge['order_id']}", "amount": charge["amount"]}


@app.activity_trigger(input_name="payment")
def refund_payment(payment: dict) -> dict:
    return {"refunded": payment["payment_id"]}


@app.activity_trigger(input_name="line")
def ship_item(line: dict) -> str:
    return f"track-{line['order_id']}-{line['sku']}"


# ------------------------------------------------------------------ entity
@app.entity_trigger(context_name="context")
def orders_processed(context: df.DurableEntityContext):
    count = context.get_state(lambda: 0)
    if context.operation_name == "add":
        count += context.get_input()
    elif context.operation_name == "get":
        context.set_result(count)
    context.set_state(count)
