"""An async test (pytest-asyncio) calling the app's HTTP starter itself with the client."""
import json

import azure.functions as func
import pytest

from conftest import skip_if_unbuilt

pytest.importorskip("pytest_asyncio", reason="the async example needs pytest-asyncio")


# --8<-- [start:async-starter]
@pytest.mark.asyncio
async def test_starter_called_directly_with_the_client(durable_runtime, small_order):
    with skip_if_unbuilt("the durable client (rt.client)"):
        client = durable_runtime.client
    start_order = durable_runtime.app.get("start_order").user_function
    request = func.HttpRequest("POST", "http://localhost/api/orders", headers={},
                               body=json.dumps(small_order).encode())

    response = await start_order(request, client)

    assert response.status_code == 202
    assert durable_runtime.wait("A-100").output["status"] == "completed"
# --8<-- [end:async-starter]
