"""A V2 app with an output decorator on an activity."""
import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def notify(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("enqueue", context.get_input()))


@app.activity_trigger(input_name="item")
@app.queue_output(arg_name="msg", queue_name="outbox", connection="AzureWebJobsStorage")
def enqueue(item: str, msg: func.Out[str]) -> str:
    msg.set(f"queued {item}")
    return "ok"
