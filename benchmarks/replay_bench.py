"""Stored-history replay against the SDK's own handle time for the same history.

A 300-step activity chain runs on ``InMemoryRuntime`` and its history is saved
to a file (``save_history``). Then, interleaved, run by run:

* ``replay``: ``check_histories(app, [file])`` -- load the file, replay it through
  the SDK's handle, compare, build the ``ReplayCheck`` (what ``durable-testkit
  replay`` does per file);
* ``handle``: the bare SDK handle called on the context JSON the replay handed it
  (captured once), i.e. the SDK's own parse and generator replay: the floor.

It prints the median of each and ``replay / handle`` (target <= 1.2), on wall time
and on process CPU time (which leaves out the VM's steal time), plus the profile of
the host's share with ``--profile``.

``--typed-history N`` also runs an N-activity fan-out and times ``rt.history()``
(the typed history every test reads) per 1,000 events, interleaved: the checked
parse every event took before (``_parse_event_checked``, what files and user
input still get when the fast path declines) against the host's fast path. A
script that prints figures, not a test.

Usage::

    python benchmarks/replay_bench.py [--steps 300] [--runs 15] [--profile]
                                      [--typed-history 10000]
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import json
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import azure.durable_functions as df  # noqa: E402

from durable_testkit import InMemoryRuntime, check_histories, save_history  # noqa: E402

TARGET = 1.2

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    value = 0
    for _ in range(context.get_input()):
        value = yield context.call_activity("inc", value)
    return value


@app.activity_trigger(input_name="value")
def inc(value: int) -> int:
    return value + 1


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    results = yield context.task_all([context.call_activity("inc", i)
                                      for i in range(context.get_input())])
    return sum(results)


def typed_history_figures(width: int, runs: int) -> None:
    """rt.history() per 1,000 events: the checked parse of every event against the fast path."""
    from durable_testkit import _sdk
    from durable_testkit.history import InstanceHistory, _parse_event_checked

    rt = InMemoryRuntime.from_app(app)
    try:
        started = time.perf_counter()
        result = rt.run("fan_out", width)
        ran = time.perf_counter() - started
        assert result.output == width * (width + 1) // 2, result
        iid = result.instance_id
        wire = rt.history(iid).to_wire()

        def checked() -> InstanceHistory:  # what rt.history() did before the fast path
            return InstanceHistory(orchestrator="fan_out", instance_id=iid,
                                   events=tuple(_parse_event_checked(dict(e, IsPlayed=True),
                                                                     i, None)
                                                for i, e in enumerate(wire)),
                                   sdk_version=_sdk.sdk_version())

        def fast() -> InstanceHistory:
            return rt.history(iid)

        assert checked() == fast() and checked().to_wire() == fast().to_wire()
        slow_runs, fast_runs = [], []
        for _ in range(runs):  # interleaved A/B
            slow_runs.append(timed(checked))
            fast_runs.append(timed(fast))
    finally:
        rt.close()
    per = 1000 / len(wire) * 1e3  # seconds for the history -> ms per 1,000 events
    slow, quick = statistics.median(slow_runs), statistics.median(fast_runs)
    print(f"rt.history() of a {width}-activity fan-out ({len(wire)} events; the run took "
          f"{ran * 1e3:.0f} ms), {runs} interleaved runs: checked parse {slow * per:.2f} ms "
          f"per 1,000 events ({slow * 1e3:.0f} ms), fast path {quick * per:.2f} ms per "
          f"1,000 events ({quick * 1e3:.0f} ms), {slow / quick:.1f}x")


def record(steps: int, where: Path) -> Path:
    rt = InMemoryRuntime.from_app(app)
    try:
        result = rt.run("chain", steps)
        assert result.output == steps, result
        path = where / "chain.json"
        save_history(rt.export_history(result.instance_id), path)
        return path
    finally:
        rt.close()


def worker_handle() -> Any:
    """The handle the worker calls for ``chain`` (what the V2 decorator built)."""
    return chain._function.get_user_function()  # type: ignore[attr-defined]


def capture_context(path: Path) -> str:
    """The context JSON the replay hands the SDK's handle (captured by a wrapper)."""
    seen: List[str] = []
    handle = worker_handle()

    def spy(context: str) -> str:
        seen.append(context)
        return handle(context)

    spy.orchestrator_function = handle.orchestrator_function  # type: ignore[attr-defined]
    from durable_testkit import replay_history

    replay_history(spy, path)
    # The floor is the SDK's time on what the extension sends, compact JSON, whatever
    # spacing the replay hands on (a saved file's own text keeps its indentation).
    return json.dumps(json.loads(seen[0]), separators=(",", ":"), ensure_ascii=False)


def timed(fn: Callable[[], Any]) -> float:
    return timed_both(fn)[0]


def timed_both(fn: Callable[[], Any]) -> Tuple[float, float]:
    """(wall seconds, process CPU seconds) of one call.

    CPU time leaves out what the VM's neighbours take (steal), which swings the wall
    clock here by 2x between runs; the replay runs on the calling thread, so the
    process's CPU time is its time.
    """
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--profile", action="store_true", help="cProfile of one replay")
    ap.add_argument("--typed-history", type=int, default=0, metavar="N",
                    help="also time rt.history() for an N-activity fan-out")
    args = ap.parse_args()
    if args.typed_history:
        typed_history_figures(args.typed_history, args.runs)
    with tempfile.TemporaryDirectory() as tmp:
        path = record(args.steps, Path(tmp))
        context = capture_context(path)
        handle = worker_handle()

        def replay() -> None:
            (check,) = check_histories(app, [path])
            assert check.ok, check.message

        replay()  # warm: imports, discovery, the timestamp cache of the first run
        handle(context)
        replays: List[Tuple[float, float]] = []
        handles: List[Tuple[float, float]] = []
        for i in range(args.runs):  # interleaved A/B, the first of each pair alternating
            pair = [lambda: replays.append(timed_both(replay)),
                    lambda: handles.append(timed_both(lambda: handle(context)))]
            for run in pair if i % 2 == 0 else pair[::-1]:
                run()
        for label, k in (("wall", 0), ("CPU", 1)):
            r = statistics.median(x[k] for x in replays)
            h = statistics.median(x[k] for x in handles)
            ratios = sorted(a[k] / b[k] for a, b in zip(replays, handles))
            print(f"{args.steps}-step chain, {path.stat().st_size // 1024} KiB history, "
                  f"{args.runs} interleaved runs, {label} time: replay {r * 1e3:.1f} ms, bare "
                  f"handle {h * 1e3:.1f} ms, ratio of medians {r / h:.2f}, median ratio "
                  f"{ratios[len(ratios) // 2]:.2f} (target <= {TARGET})")
        if args.profile:
            prof = cProfile.Profile()
            prof.enable()
            replay()
            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
