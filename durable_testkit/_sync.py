"""Running user coroutines (async activities, async HTTP functions) from the host's sync code."""
from __future__ import annotations

import asyncio
import threading
from typing import Any, Dict, Optional

# pytest hides this module's frames in failure reports (--full-trace shows them):
# what the user needs is the line of their own code.
__tracebackhide__ = True


async def as_coroutine(awaitable: Any) -> Any:
    """Wrap any awaitable, since loops and asyncio.run take only coroutines."""
    return await awaitable


def run_sync(awaitable: Any, loop: Optional[asyncio.AbstractEventLoop] = None,
             thread_name: str = "durable-testkit") -> Any:
    """Run ``awaitable`` to completion and return its result (or raise its exception).

    With no loop running in this thread, it runs on ``loop`` (or a fresh one). Called
    from inside a running loop (an async test driving the runtime), that loop is busy
    and cannot be re-entered, so the coroutine runs on a loop of its own in a helper
    thread while this one waits.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        if loop is not None:
            return loop.run_until_complete(as_coroutine(awaitable))
        return asyncio.run(as_coroutine(awaitable))
    box: Dict[str, Any] = {}

    def runner() -> None:
        try:
            box["value"] = asyncio.run(as_coroutine(awaitable))
        except BaseException as exc:  # handed back to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=runner, name=thread_name)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")
