"""A Durable 1.x style starter: the legacy orchestrationClient binding, and a starter that waits."""
import azure.durable_functions as df
import azure.functions as func


async def main(req: func.HttpRequest, starter: str) -> func.HttpResponse:
    client = df.DurableOrchestrationClient(starter)
    instance_id = await client.start_new(req.route_params["functionName"], None, req.get_json())
    return await client.wait_for_completion_or_create_check_status_response(
        req, instance_id, timeout_in_milliseconds=60_000, retry_interval_in_milliseconds=1_000)
