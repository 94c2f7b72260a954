"""The HTTP starter, invoked as the worker would invoke it, on the in-memory host."""
import json

from conftest import skip_if_unbuilt


# --8<-- [start:http]
def test_post_order_starts_the_workflow(durable_runtime, small_order):
    with skip_if_unbuilt("the HTTP layer (rt.http)"):
        response = durable_runtime.http("POST", "/api/orders", body=small_order)

    assert response.status_code == 202
    assert json.loads(response.get_body())["id"] == "A-100"
    assert durable_runtime.wait("A-100").output["status"] == "completed"
# --8<-- [end:http]
