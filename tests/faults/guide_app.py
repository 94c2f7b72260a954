"""docs/faults.md's checkout as a V2 function app, for the pytest marker sample."""
import azure.durable_functions as df

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def checkout(context: df.DurableOrchestrationContext):
    order = context.get_input()
    receipt = yield context.call_activity("charge", {"amount": order["total"]})
    yield context.call_activity("ship", order["items"])
    return receipt


@app.activity_trigger(input_name="payment")
def charge(payment: dict) -> dict:
    return {"charged": payment["amount"]}


@app.activity_trigger(input_name="items")
def ship(items: list) -> int:
    return len(items)
