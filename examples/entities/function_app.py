"""A small V2 app: a counter entity, an orchestration that uses it, an HTTP starter."""
import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


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


@app.orchestration_trigger(context_name="context")
def count_visits(context: df.DurableOrchestrationContext):
    """Adds one visit per page to the site's counter and returns the new total."""
    site = df.EntityId("counter", context.get_input()["site"])
    for _ in context.get_input()["pages"]:
        context.signal_entity(site, "add", 1)
    return (yield context.call_entity(site, "get"))


@app.route(route="visits/{site}")
@app.durable_client_input(client_name="client")
async def visit(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    await client.signal_entity(df.EntityId("counter", req.route_params["site"]), "add", 1)
    return func.HttpResponse(status_code=202)
