"""What the determinism probe costs: the same runs with ``determinism_probe`` off and on.

The probe replays every episode twice more (clock +3 days / -3 days, each with
``random``, ``os.urandom`` and the environment perturbed) inside one freezegun
session per drive (``wait``/``run_until_idle``), and each finished instance once
more per ``PYTHONHASHSEED`` in two long-lived subprocesses. The subprocesses'
start-up (an interpreter and the SDK import) is paid once per process; the
benchmark warms them up first and reports it separately.

Usage::

    python benchmarks/probe.py            # prints medians and the on/off ratio
    python benchmarks/probe.py --quick    # one small round (smoke run)

A script that prints figures, not a timed test; it always exits 0.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from durable_testkit import InMemoryRuntime  # noqa: E402


def chain(context: Any) -> Any:
    total = 0
    for i in range(context.get_input()):
        total += yield context.call_activity("inc", i)
    return total


def fan_out(context: Any) -> Any:
    tasks = [context.call_activity("inc", i) for i in range(context.get_input())]
    return sum((yield context.task_all(tasks)))


def _scenarios() -> Any:
    # Registered from this module imported by name, not __main__: the probe's
    # PYTHONHASHSEED subprocess imports orchestrators by module:qualname.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import probe as module

    return {"chain": module.chain, "fan-out": module.fan_out}


def _run(fn: Callable[..., Any], size: int, probe: bool) -> float:
    rt = InMemoryRuntime(determinism_probe=probe)
    rt.register_orchestrator("o", fn)
    rt.register_activity("inc", lambda i: i + 1)
    started = time.perf_counter()
    rt.run("o", size)
    return time.perf_counter() - started


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    ap.add_argument("--repeats", type=int, default=None, help="runs per median (default 7)")
    args = ap.parse_args(argv)
    repeats = args.repeats or (2 if args.quick else 7)
    sizes = [10] if args.quick else [10, 50]
    warm = time.perf_counter()
    scenarios = _scenarios()
    _run(scenarios["chain"], 1, True)  # starts the PYTHONHASHSEED subprocesses and freezegun's cache
    print(f"first probed run (subprocess start-up, freezegun's module scan): "
          f"{time.perf_counter() - warm:.2f} s")
    print(f"{'scenario':<10} {'size':>5} {'off (ms)':>10} {'on (ms)':>10} {'ratio':>7} "
          f"{'per episode (ms)':>17}")
    for name, fn in scenarios.items():
        for size in sizes:
            off = statistics.median(_run(fn, size, False) for _ in range(repeats))
            on = statistics.median(_run(fn, size, True) for _ in range(repeats))
            episodes = size + 1 if name == "chain" else 2
            print(f"{name:<10} {size:>5} {off * 1000:>10.1f} {on * 1000:>10.1f} "
                  f"{on / off:>7.1f} {(on - off) * 1000 / episodes:>17.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
