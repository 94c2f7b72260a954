"""``InMemoryClient``: the SDK's own ``DurableOrchestrationClient``, wired to the runtime.

The SDK client builds URLs from its binding and hands them to three transport
functions it keeps as instance attributes (``_post_async_request``,
``_get_async_request``, ``_delete_async_request``). We swap only those for
calls straight into :func:`durable_testkit._management_api.handle`, so every
client method runs the SDK's own code (URL building, status-code handling,
payload encoding), with no sockets and no event-loop state.

The one override is :meth:`InMemoryClient.wait_for_completion_or_create_check_status_response`:
the SDK's version sleeps in real time between polls; ours polls on virtual time.
"""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Dict, List, Optional, cast, final
from urllib.parse import urlsplit

from . import _management_api as api
from ._host.ports import RuntimePort
from ._sdk import azure_functions as func
from ._sdk import durable_functions as df
from .status import OrchestrationRuntimeStatus as Status

# pytest hides this module's frames in failure reports (--full-trace shows them):
# what the user needs is the line of their own code.
__tracebackhide__ = True

__all__ = ["InMemoryClient"]


@final
class InMemoryClient(df.DurableOrchestrationClient):  # type: ignore[misc]  # the SDK is untyped
    """A ``df.DurableOrchestrationClient`` whose HTTP calls go straight to an InMemoryRuntime.

    Get it as ``rt.client``. Its binding's URLs use the placeholder origin
    ``http://localhost:7071`` (where ``func start`` listens); check-status
    responses built from a request use the request's origin, as in Azure.

    Errors the runtime raises while serving a call (for example
    :class:`~durable_testkit.errors.HttpHandlerMissing` while a status query runs
    ready work) propagate to the caller instead of becoming a 500 response.

    Args:
        rt: the :class:`~durable_testkit.InMemoryRuntime` to drive.
    """

    def __init__(self, rt: RuntimePort) -> None:
        super().__init__(api.binding_json(api.PLACEHOLDER_ORIGIN, api.PLACEHOLDER_RPC_ORIGIN,
                                          task_hub=api.task_hub(rt)))
        self._rt = rt
        self._post_async_request = self._post
        self._get_async_request = self._get
        self._delete_async_request = self._delete

    # -- transport: same signatures and return shapes as models/utils/http_utils.py --------
    async def _post(self, url: str, data: Any = None, trace_parent: Optional[str] = None,
                    trace_state: Optional[str] = None,
                    function_invocation_id: Optional[str] = None) -> List[Any]:
        # aiohttp's json=data: None sends no body at all, anything else is json.dumps(data).
        body = None if data is None else json.dumps(data)
        headers = {"Content-Type": "application/json"} if body is not None else {}
        return self._call("POST", url, body, headers)

    async def _get(self, url: str, function_invocation_id: Optional[str] = None) -> List[Any]:
        status, data = self._call("GET", url, None, {})
        return [status, "" if data is None else data]

    async def _delete(self, url: str,
                      function_invocation_id: Optional[str] = None) -> List[Any]:
        return self._call("DELETE", url, None, {})

    def _call(self, method: str, url: str, body: Optional[str],
              headers: Dict[str, str]) -> List[Any]:
        parts = urlsplit(url)
        status, _, text = api.handle(self._rt, method, parts.path, parts.query, body,
                                     headers=headers, origin=api.PLACEHOLDER_ORIGIN,
                                     raise_errors=True)
        # response.json(content_type=None): an empty body reads as None.
        return [status, json.loads(text) if text.strip() else None]

    # -- the one override ---------------------------------------------------------------------
    async def wait_for_completion_or_create_check_status_response(
            self, request: Any, instance_id: str, timeout_in_milliseconds: int = 10000,
            retry_interval_in_milliseconds: int = 1000) -> func.HttpResponse:
        """Wait on virtual time, then answer as the SDK does.

        Polls every ``retry_interval_in_milliseconds`` of *virtual* time, running
        ready work and firing due timers between polls, for at most
        ``timeout_in_milliseconds`` of virtual time; nothing sleeps. The answer
        is the SDK's: 200 with the output when Completed, 200 with the status
        when Terminated or Canceled, 500 with the status when Failed, else the
        202 check-status response. The virtual clock ends on the last poll, so
        a test sees the time the real host would have taken.
        """
        if retry_interval_in_milliseconds > timeout_in_milliseconds:
            raise Exception(f'Total timeout {timeout_in_milliseconds} (ms) should be bigger than '
                            f'retry timeout {retry_interval_in_milliseconds} (ms)')
        api.drive_until(self._rt, instance_id,
                        timedelta(milliseconds=timeout_in_milliseconds),
                        timedelta(milliseconds=max(retry_interval_in_milliseconds, 1)))
        status = await self.get_status(instance_id)
        if status.runtime_status == Status.Completed:
            return cast(func.HttpResponse, self._create_http_response(200, status.output))
        if status.runtime_status in (Status.Canceled, Status.Terminated):
            return cast(func.HttpResponse, self._create_http_response(200, status.to_json()))
        if status.runtime_status == Status.Failed:
            return cast(func.HttpResponse, self._create_http_response(500, status.to_json()))
        return cast(func.HttpResponse, self.create_check_status_response(request, instance_id))
