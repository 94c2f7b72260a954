"""A V2 (decorator) Durable Functions app used as a test fixture.

Functions: http_start (HTTP starter with a durable client), health (plain HTTP),
hello_sequence and fan_out_fan_in (orchestrators), say_hello (activity renamed with
activity=), get_work_items and process_item (activities), counter (entity), and
the blueprint in report_blueprint.py (nightly_report + build_report).
"""
import azure.durable_functions as df
import azure.functions as func

from report_blueprint import bp

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(bp)


@app.route(route="orchestrators/{functionName}")
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    body = req.get_json() if req.get_body() else None
    instance_id = await client.start_new(req.route_params["functionName"], None, body)
    return client.create_check_status_response(req, instance_id)


@app.route(route="health", methods=["GET"])
def health(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("ok")


@app.orchestration_trigger(context_name="context")
def hello_sequence(context: df.DurableOrchestrationContext):
    results = []
    for city in ("Tokyo", "Seattle", "London"):
        results.append((yield context.call_activity("say_hello", city)))
    return results


@app.activity_trigger(input_name="city", activity="say_hello")
def say_hello_activity(city: str) -> str:
    return f"Hello {city}!"


@app.orchestration_trigger(context_name="context")
def fan_out_fan_in(context: df.DurableOrchestrationContext):
    items = yield context.call_activity("get_work_items", context.get_input())
    results = yield context.task_all([context.call_activity("process_item", i) for i in items])
    return sum(results)


@app.activity_trigger(input_name="count")
def get_work_items(count) -> list:
    return list(range(1, (count or 5) + 1))


@app.activity_trigger(input_name="item")
def process_item(item: int) -> int:
    return item * 2


@app.entity_trigger(context_name="context")
def counter(context: df.DurableEntityContext):
    value = context.get_state(lambda: 0)
    operation = context.operation_name
    if operation == "add":
        value += context.get_input()
    elif operation == "reset":
        value = 0
    elif operation == "get":
        context.set_result(value)
    context.set_state(value)
