"""Per-call cost of the SDK's timestamp parse: dateutil versus ``_timestamps.parse_like_dateutil``.

Prints the median per-call time of each, measured in this one run, and their
ratio, for the shapes the host and the extension write. ``--chain N`` also times
an N-step activity chain on ``InMemoryRuntime`` with the stock SDK path and with
``_timestamps.install()``, which is where the per-call figure matters: the SDK
re-parses every event's timestamp on every episode.

Usage::

    python benchmarks/timestamps.py             # per-call medians
    python benchmarks/timestamps.py --chain 200 # plus a 200-step chain, stock vs installed

A script that prints figures, not a timed test; it always exits 0.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, List

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dateutil.parser import parse as dateutil_parse  # noqa: E402

from durable_testkit import _timestamps  # noqa: E402

SAMPLES = {
    "host (6 digits, Z)": "2024-05-01T10:00:00.123456Z",
    ".NET (7 digits, Z)": "2024-05-01T10:00:00.1234567Z",
    "offset -04:00": "2024-05-01T06:00:00.123-04:00",
    "no fraction": "2024-05-01T10:00:00Z",
}


def median_per_call(fn: Callable[[str], Any], text: str, calls: int, rounds: int) -> float:
    times: List[float] = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            fn(text)
        times.append((time.perf_counter() - start) / calls)
    return statistics.median(times)


def per_call(rounds: int) -> None:
    print(f"{'shape':<20} {'dateutil us':>12} {'cached us':>10} {'first us':>9} {'ratio':>8}")
    for label, text in SAMPLES.items():
        stock = median_per_call(dateutil_parse, text, 200, rounds)
        ours = median_per_call(_timestamps.parse_like_dateutil, text, 20000, rounds)

        def first(text: str) -> Any:  # a cache miss every call: the fast path alone
            _timestamps._cache.clear()
            return _timestamps.parse_like_dateutil(text)

        miss = median_per_call(first, text, 2000, rounds)
        print(f"{label:<20} {stock * 1e6:>12.2f} {ours * 1e6:>10.3f} {miss * 1e6:>9.2f} "
              f"{stock / ours:>7.0f}x")


def chain(steps: int) -> None:
    import azure.durable_functions as df

    from durable_testkit import InMemoryRuntime

    def orchestrator(context: df.DurableOrchestrationContext) -> Any:
        total = 0
        for i in range(steps):
            total += yield context.call_activity("add_one", i)
        return total

    def run() -> float:
        rt = InMemoryRuntime()
        rt.register_orchestrator("chain", orchestrator)
        rt.register_activity("add_one", lambda n: n + 1)
        start = time.perf_counter()
        result = rt.run("chain", None)
        elapsed = time.perf_counter() - start
        assert result.output == sum(range(1, steps + 1)), result
        return elapsed

    was = _timestamps.installed()
    try:
        _timestamps.uninstall()
        stock = run()
        _timestamps.install(stock=False)
        fast = run()
    finally:
        _timestamps.uninstall()
        if was:
            _timestamps.install(stock=False)
    print(f"\nchain of {steps} activities: stock {stock:.2f} s, installed {fast:.2f} s, "
          f"{stock / fast:.1f}x faster")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="timing rounds (median shown)")
    parser.add_argument("--chain", type=int, default=0, metavar="N",
                        help="also time an N-step chain on InMemoryRuntime, stock vs installed")
    args = parser.parse_args()
    per_call(args.rounds)
    if args.chain:
        chain(args.chain)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
