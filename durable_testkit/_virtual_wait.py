"""The SDK client's own waits, played on virtual time while ``rt.http`` runs a function.

``DurableOrchestrationClient.wait_for_completion_or_create_check_status_response``
polls ``get_status`` and sleeps between polls (``asyncio.sleep``, timed with
``time.time``, both imported into the client's module). In Azure the host
runs the orchestration meanwhile. Status queries never run work here (they
answer with the state at that moment, as in Azure), so while a test's
``rt.http(...)`` call runs an HTTP function, those two names in the client's
module are swapped: ``time()`` reads the virtual clock and ``sleep(s)`` drives
the runtime ``s`` seconds of virtual time forward. The starter then answers
exactly as it would in Azure, without sleeping. ``durable-testkit serve`` runs on
real time and does not swap them.

This touches an SDK internal (two module attributes); it is documented in
docs/runtime.md ("Queries never block").
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, Iterator, List

from . import _sdk
from ._host.ports import RuntimePort

# pytest hides this module's frames in failure reports (--full-trace shows them):
# what the user needs is the line of their own code.
__tracebackhide__ = True

__all__ = ["sdk_waits_on_virtual_time"]

_lock = threading.Lock()
_active: List[RuntimePort] = []  # innermost last; the stand-ins serve it
_saved: List[Any] = []


async def _virtual_sleep(seconds: float, result: Any = None) -> Any:
    rt = _active[-1] if _active else None
    if rt is not None and seconds > 0:
        rt.advance(timedelta(seconds=seconds))
    return result


def _virtual_time() -> float:
    rt = _active[-1] if _active else None
    if rt is None:  # pragma: no cover - only reachable between unpatch steps
        import time

        return time.time()
    return rt.now.timestamp()


@contextmanager
def sdk_waits_on_virtual_time(rt: RuntimePort) -> Iterator[None]:
    """Within the block, the SDK client's poll loop waits on ``rt``'s virtual time."""
    module = _sdk.client_module()
    with _lock:
        if not _active:
            _saved[:] = [getattr(module, "sleep", None), getattr(module, "time", None)]
            module.sleep = _virtual_sleep
            module.time = _virtual_time
        _active.append(rt)
    try:
        yield
    finally:
        with _lock:
            _active.remove(rt)
            if not _active:
                module.sleep, module.time = _saved
