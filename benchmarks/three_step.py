"""A 3-activity chain test, end to end, alone in the process: where its time goes.

Each test builds an ``InMemoryRuntime``, registers the orchestrator and the
activity, runs the chain, reads the output and closes the runtime, as a short
pytest test does. Printed per test (medians, after a warm-up): each phase, the
time inside the SDK's handle, and the run without it (the host's share). With
``--no-guard`` the runtime runs with ``function_timeout=0, episode_timeout=0``:
no worker thread, so the difference is what the guard's hand-off costs.

Usage::

    python benchmarks/three_step.py [--tests 600] [--no-guard]

A script that prints figures, not a test. ``peers.py`` runs the same test next to
durabletask (whose idle threads share the process there).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import azure.durable_functions as df  # noqa: E402

from durable_testkit import InMemoryRuntime  # noqa: E402


def chain(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    value = context.get_input() or 0
    for _ in range(3):
        value = yield context.call_activity("inc", value)
    return value


def inc(value: int) -> int:
    return value + 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tests", type=int, default=600)
    ap.add_argument("--no-guard", action="store_true",
                    help="function_timeout=0, episode_timeout=0 (no worker thread)")
    args = ap.parse_args()
    options: Dict[str, Any] = (dict(function_timeout=0, episode_timeout=0)
                               if args.no_guard else {})
    clock = time.perf_counter
    phases: Dict[str, List[float]] = {k: [] for k in (
        "runtime", "register", "run", "inside the SDK", "run outside the SDK", "close",
        "whole test")}
    warm = max(1, args.tests // 6)
    for i in range(args.tests + warm):
        t0 = clock()
        rt = InMemoryRuntime(**options)
        t1 = clock()
        rt.register_orchestrator("chain", df.Orchestrator.create(chain))
        rt.register_activity("inc", inc)
        t2 = clock()
        output = rt.run("chain", 0).output
        t3 = clock()
        rt.close()
        t4 = clock()
        if output != 3:
            raise SystemExit(f"wrong output {output!r}")
        if i < warm:
            continue
        sdk = rt.stats.sdk_seconds
        for name, value in (("runtime", t1 - t0), ("register", t2 - t1), ("run", t3 - t2),
                            ("inside the SDK", sdk), ("run outside the SDK", t3 - t2 - sdk),
                            ("close", t4 - t3), ("whole test", t4 - t0)):
            phases[name].append(value)
    print(f"3-step chain test, {args.tests} tests"
          f"{' without the guard' if args.no_guard else ''}, medians in ms per test:")
    for name, values in phases.items():
        print(f"  {name:<20} {statistics.median(values) * 1e3:7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
