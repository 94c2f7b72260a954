"""Host overhead of ``InMemoryRuntime``: total time / time inside the SDK's handle.

The SDK's handle (``df.Orchestrator.create(fn)(context_json)``) is the floor any
tool built on the SDK pays: it parses the whole history and replays the
generator every episode. Everything else -- building the context JSON, reading
the answer, the extension-side replay, scheduling, running trivial activities,
timers -- is the host's overhead. Targets (issue 11), total / sdk: chains and
monitors <= 1.1, fan-out of 1,000 and 10,000 <= 1.2; and a per-episode host cost
that follows the new events, not the history (``--lengths``).

Each scenario runs at two sizes (chain 100 and 200, fan-out 1,000 and 10,000,
monitors 250 and 500): the last table divides the per-episode host cost at the
larger size by the one at the smaller (~1.0: it follows the new events; about
the size ratio: it follows the whole history), and the same for the SDK's own.

Usage::

    python benchmarks/host_overhead.py            # full run, prints the table
    python benchmarks/host_overhead.py --quick    # small smoke run
    python benchmarks/host_overhead.py --check    # exit 1 if any ratio is over its target
    python benchmarks/host_overhead.py --profile monitor-timer   # host-only cProfile
    python benchmarks/host_overhead.py --lengths 100 500 1000 2000  # host ms/episode vs length
    python benchmarks/host_overhead.py --only fan-out --no-guard    # ablations: --no-guard, --no-gc

This is a script that prints figures, not a timed test. Without ``--check`` it
always exits 0.
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import azure.durable_functions as df  # noqa: E402

from durable_testkit import InMemoryRuntime  # noqa: E402



# ---------------------------------------------------------------- orchestrators
def chain(context: df.DurableOrchestrationContext):
    n = context.get_input()
    value = 0
    for _ in range(n):
        value = yield context.call_activity("inc", value)
    return value


def fan_out_fan_in(context: df.DurableOrchestrationContext):
    n = context.get_input()
    tasks = [context.call_activity("double", i) for i in range(n)]
    results = yield context.task_all(tasks)
    return sum(results)


def monitor_timer(context: df.DurableOrchestrationContext):
    n = context.get_input()
    for _ in range(n):
        yield context.create_timer(context.current_utc_datetime + timedelta(minutes=1))
    return n


def monitor_timer_activity(context: df.DurableOrchestrationContext):
    n = context.get_input()
    healthy = 0
    for i in range(n):
        ok = yield context.call_activity("check", i)
        healthy += 1 if ok else 0
        yield context.create_timer(context.current_utc_datetime + timedelta(minutes=1))
    return healthy


def inc(value: int) -> int:
    return value + 1


def double(value: int) -> int:
    return value * 2


def check(value: int) -> bool:
    return True


@dataclass(frozen=True)
class Scenario:
    name: str
    orchestrator: Callable[..., Any]
    sizes: Tuple[int, int]  # the sizes (the monitors: halved, see --full)
    expected: Callable[[int], Any]
    target: float  # the ceiling for total / sdk
    repeats: int = 5  # default runs per size (monitors: their SDK cost is quadratic, minutes)
    full_sizes: Optional[Tuple[int, int]] = None  # --full


SCENARIOS = [
    Scenario("chain", chain, (100, 200), lambda n: n, 1.1),
    Scenario("fan-out", fan_out_fan_in, (1000, 10000), lambda n: n * (n - 1), 1.2, repeats=3),
    # The SDK's own cost per episode grows with the history (it replays every event, every
    # episode), so the monitors' SDK time is quadratic: by default they run (250, 500);
    # --full runs (500, 1,000).
    Scenario("monitor-timer", monitor_timer, (250, 500), lambda n: n, 1.1, repeats=1,
             full_sizes=(500, 1000)),
    Scenario("monitor-timer+act", monitor_timer_activity, (250, 500), lambda n: n, 1.1,
             repeats=1, full_sizes=(500, 1000)),
]


#: Ablations (--no-guard, --no-gc): what a part of the host costs, by running without it.
_ABLATE: Dict[str, bool] = {"guard": False, "gc": False}


def make_runtime(scenario: Scenario) -> InMemoryRuntime:
    # The larger monitor with an activity runs 2,001 episodes; stay clear of the runaway limit.
    # The monitors run for minutes: no real-time bound on rt.run here.
    unguarded: Dict[str, Any] = (dict(function_timeout=0, episode_timeout=0)
                                 if _ABLATE["guard"] else {})
    rt = InMemoryRuntime(max_episodes=100_000, drive_timeout=None, **unguarded)
    rt.register_orchestrator(scenario.name, df.Orchestrator.create(scenario.orchestrator))
    rt.register_activity("inc", inc)
    rt.register_activity("double", double)
    rt.register_activity("check", check)
    return rt


@contextmanager
def inside_handle(enter: Callable[[], None], leave: Callable[[], None]) -> Iterator[None]:
    """Call ``enter``/``leave`` around the work of every stock handle call.

    The handle itself is not wrapped: the host hands the stock ``Orchestrator.create``
    handle (and only it) the context already parsed, so a wrapper would be sent text
    and measure another path; ``from_json`` is left alone for the same reason. The
    handle builds a ``DurableOrchestrationContext`` and runs ``Orchestrator.handle``;
    timing from the first's ``__init__`` to the second's end covers all of it but a
    ``getattr`` (and, on the text path, the ``json.loads`` before ``__init__``).
    """
    ctx_cls, orch_cls = df.DurableOrchestrationContext, df.Orchestrator
    own_init, own_handle = ctx_cls.__dict__["__init__"], orch_cls.__dict__["handle"]

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        enter()
        try:
            own_init(self, *args, **kwargs)
        except BaseException:
            leave()
            raise

    def handle(self: Any, context: Any) -> str:
        try:
            return own_handle(self, context)
        finally:
            leave()

    ctx_cls.__init__ = init  # type: ignore[method-assign]
    orch_cls.handle = handle  # type: ignore[method-assign]
    try:
        yield
    finally:
        ctx_cls.__init__ = own_init  # type: ignore[method-assign]
        orch_cls.handle = own_handle  # type: ignore[method-assign]


@dataclass
class Run:
    episodes: int
    events: int
    total: float
    sdk: float
    activity: float
    handle: float  # the bare handle call, timed by this script (rt.stats.sdk_seconds also
    #                covers the host's json.loads of the answer and the watchdog)

    @property
    def ratio(self) -> float:
        return self.total / self.sdk

    @property
    def host_per_episode(self) -> float:
        return (self.total - self.sdk) / self.episodes

    @property
    def sdk_per_episode(self) -> float:
        return self.sdk / self.episodes


def run_once(scenario: Scenario, size: int) -> Run:
    spent = [0.0]
    clock = time.perf_counter
    began = [0.0]

    def enter() -> None:
        began[0] = clock()

    def leave() -> None:
        spent[0] += clock() - began[0]

    rt = make_runtime(scenario)
    gc.collect()
    if _ABLATE["gc"]:
        gc.disable()
    try:
        with inside_handle(enter, leave):
            started = time.perf_counter()
            result = rt.run(scenario.name, size)
            total = time.perf_counter() - started
    finally:
        gc.enable()
    if result.output != scenario.expected(size):
        raise SystemExit(f"{scenario.name}({size}): wrong output {result.output!r} "
                         f"({result.runtime_status})")
    stats = rt.stats
    events = len(rt.history(result.instance_id).events)  # outside the timed region
    rt.close()
    return Run(stats.episodes, events, total, stats.sdk_seconds, stats.activity_seconds,
               spent[0])


def measure(scenario: Scenario, size: int, repeats: int) -> List[Run]:
    return [run_once(scenario, size) for _ in range(repeats)]


def median_run(runs: List[Run]) -> Run:
    """The run with the median overhead ratio (so its columns are consistent)."""
    ordered = sorted(runs, key=lambda r: r.ratio)
    return ordered[(len(ordered) - 1) // 2]


# ---------------------------------------------------------------- profiling
def profile_host(scenario: Scenario, size: int, top: int) -> None:
    """cProfile of one run with the profiler switched off inside the SDK's handle.

    What is left is the host's share (plus the profiler's own overhead, which
    inflates small functions): sorted by tottime.
    """
    prof = cProfile.Profile()
    sdk_prof = cProfile.Profile()

    def enter() -> None:
        prof.disable()
        sdk_prof.enable()

    def leave() -> None:
        sdk_prof.disable()
        prof.enable()

    rt = make_runtime(scenario)
    started = time.perf_counter()
    with inside_handle(enter, leave):
        prof.enable()
        rt.run(scenario.name, size)
        prof.disable()
    total = time.perf_counter() - started
    st = rt.stats
    print(f"# {scenario.name}({size}): {st.episodes} episodes, total {total:.3f}s under the "
          f"profiler, sdk {st.sdk_seconds:.3f}s, activities {st.activity_seconds:.3f}s")
    for title, p in (("host only (profiler off inside the SDK handle)", prof),
                     ("inside the SDK handle only", sdk_prof)):
        out = io.StringIO()
        stats = pstats.Stats(p, stream=out)
        stats.sort_stats("tottime").print_stats(top)
        print(f"\n## {title}: {stats.total_tt:.3f}s profiled")  # type: ignore[attr-defined]
        print("\n".join(line for line in out.getvalue().splitlines()
                        if line.strip() and not line.startswith("   Ordered")))


# ---------------------------------------------------------------- table
def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f}"


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, one repeat (smoke run)")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 if any median overhead ratio exceeds its scenario's target "
                         "(issue 11: chains and monitors 1.1, fan-out 1.2)")
    ap.add_argument("--repeats", type=int, default=None,
                    help="runs per size (default 5, monitors 1, quick 1)")
    ap.add_argument("--full", action="store_true",
                    help="run the monitors at 500 and 1,000 iterations (very slow)")
    ap.add_argument("--only", action="append", default=[],
                    help="run only this scenario (repeatable): "
                         + ", ".join(s.name for s in SCENARIOS))
    ap.add_argument("--profile", metavar="SCENARIO",
                    help="print a host-only cProfile of one scenario instead of the table")
    ap.add_argument("--size", type=int, help="size for --profile (default: the issue's size)")
    ap.add_argument("--top", type=int, default=25, help="rows per profile")
    ap.add_argument("--lengths", nargs="*", type=int, metavar="N",
                    help="host ms per episode of a chain at each length (default 100 500 "
                         "1000 2000; one run each, the SDK's time is quadratic in N)")
    ap.add_argument("--no-guard", action="store_true",
                    help="ablation: run without the guard's worker thread and arming "
                         "(function_timeout=0, episode_timeout=0)")
    ap.add_argument("--no-gc", action="store_true",
                    help="ablation: the cyclic garbage collector off while each run is timed")
    args = ap.parse_args(argv)
    _ABLATE.update(guard=args.no_guard, gc=args.no_gc)

    by_name: Dict[str, Scenario] = {s.name: s for s in SCENARIOS}
    if args.lengths is not None:
        return chain_lengths(by_name["chain"], args.lengths or [100, 500, 1000, 2000],
                             args.repeats or 1)
    if args.profile:
        scenario = by_name[args.profile]
        profile_host(scenario, args.size or scenario.sizes[0], args.top)
        return 0

    scenarios = [by_name[n] for n in args.only] if args.only else SCENARIOS
    scale = 10 if args.quick else 1

    header = (f"{'scenario':<18} {'size':>5} {'episodes':>8} {'events':>7} {'total s':>8} "
              f"{'sdk s':>8} {'act s':>6} {'handle':>8} {'ratio':>6} {'best':>6} {'t/h':>5} "
              f"{'host ms/ep':>10} "
              f"{'sdk ms/ep':>9} {'runs':>4} target")
    print(f"python {sys.version.split()[0]}, azure-functions-durable {_sdk_version()}; "
          f"'runs' per row, columns from the median-ratio run, 'best' the lowest ratio")
    print(header)
    print("-" * len(header))
    over: List[str] = []
    growth = []
    for scenario in scenarios:
        sizes = scenario.full_sizes if args.full and scenario.full_sizes else scenario.sizes
        sizes = (max(2, sizes[0] // scale), max(2, sizes[1] // scale))
        repeats = args.repeats or (1 if args.quick else scenario.repeats)
        rows = []
        for size in sizes:
            runs = measure(scenario, size, repeats)
            med = median_run(runs)
            best = min(r.ratio for r in runs)
            rows.append(med)
            if med.ratio > scenario.target:
                over.append(f"{scenario.name} {size}: {med.ratio:.2f} > {scenario.target}")
            print(f"{scenario.name:<18} {size:>5} {med.episodes:>8} {med.events:>7} "
                  f"{med.total:>8.3f} {med.sdk:>8.3f} {med.activity:>6.3f} {med.handle:>8.3f} "
                  f"{med.ratio:>6.2f} {best:>6.2f} {med.total / med.handle:>5.2f} "
                  f"{fmt_ms(med.host_per_episode):>10} "
                  f"{fmt_ms(med.sdk_per_episode):>9} {len(runs):>4} "
                  f"{'<= ' if med.ratio <= scenario.target else '> '}{scenario.target}",
                  flush=True)
        growth.append((scenario.name, sizes[1] / sizes[0],
                       rows[1].host_per_episode / rows[0].host_per_episode,
                       rows[1].sdk_per_episode / rows[0].sdk_per_episode))
    print()
    print("per-episode cost at the larger size / at the smaller (1.0 = follows the new events;"
          " the size ratio = follows the history)")
    print(f"{'scenario':<18} {'sizes x':>8} {'host':>8} {'sdk':>8}")
    for name, size_g, host_g, sdk_g in growth:
        print(f"{name:<18} {size_g:>8.1f} {host_g:>8.2f} {sdk_g:>8.2f}")
    print("\ntargets (total / sdk): " + ("all met" if not over else "OVER: " + "; ".join(over)))
    if args.check and over:
        return 1
    return 0


def chain_lengths(scenario: Scenario, lengths: List[int], repeats: int) -> int:
    """How the host's cost per episode grows with the history (target: within 1.5x)."""
    print(f"chain: host ms per episode by length ({repeats} run(s) each, median)")
    print(f"{'length':>6} {'events':>7} {'total s':>8} {'sdk s':>8} {'host ms/ep':>10} "
          f"{'sdk ms/ep':>9} {'ratio':>6}")
    per_episode = []
    for n in lengths:
        runs = measure(scenario, n, repeats)
        med = sorted(runs, key=lambda r: r.host_per_episode)[(len(runs) - 1) // 2]
        per_episode.append(med.host_per_episode)
        print(f"{n:>6} {med.events:>7} {med.total:>8.3f} {med.sdk:>8.3f} "
              f"{fmt_ms(med.host_per_episode):>10} {fmt_ms(med.sdk_per_episode):>9} "
              f"{med.ratio:>6.2f}", flush=True)
    spread = max(per_episode) / min(per_episode)
    print(f"\nhost ms/episode, largest / smallest: {spread:.2f} (target <= 1.5)")
    return 0


def _sdk_version() -> str:
    try:
        from importlib.metadata import version

        return version("azure-functions-durable")
    except Exception:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
