"""DF111: threads, processes and asyncio concurrency."""
from __future__ import annotations

from .base import BannedCallRule, Invalid, Valid, orchestrator_example


class Concurrency(BannedCallRule):
    """``threading``, ``concurrent.futures``, ``multiprocessing`` and ``asyncio`` concurrency.

    Work started this way is invisible to the history and finishes in a different order each
    time. Fan out with ``yield context.task_all([...])`` (or ``task_any``) instead.
    """

    CODE = "DF111"
    NAME = "threads"
    MESSAGE = "`{call}` runs work outside the durable history: {advice}"
    ADVICE = "fan out with `yield context.task_all([...])`"
    PREFIXES = ("threading.", "_thread.", "concurrent.futures.", "multiprocessing.")
    NAMES = {
        f"asyncio.{n}": "" for n in ("run", "gather", "create_task", "ensure_future", "wait",
                                    "wait_for", "get_event_loop", "new_event_loop", "to_thread",
                                    "run_coroutine_threadsafe", "as_completed", "TaskGroup")
    }
    VALID = [Valid(orchestrator_example(
        'results = yield context.task_all([context.call_activity("A", i) for i in range(3)])\n'
        "return results"))]
    INVALID = [Invalid(orchestrator_example(
        "with ThreadPoolExecutor() as pool:\n    return list(pool.map(str, [1, 2]))",
        "from concurrent.futures import ThreadPoolExecutor\n"))]
