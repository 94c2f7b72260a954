"""durable-testkit next to durabletask-python's in-memory test backend, same workflows.

Why this exists: issue 11 asks whether a test on durable-testkit costs less than the
same test on the nearest peer, durabletask-python's ``durabletask.testing``
(``InMemoryOrchestrationBackend``). Both sides run equivalent generator orchestrators
and trivial activities in ONE process, interleaved (each repetition runs every
scenario on both tools, and the tool that goes first alternates between repetitions,
so drift in machine load falls on both). Figures are medians over the repetitions;
the ratio is durable-testkit's median / durabletask's median (below 1.0: durable-testkit
is faster).

The two tools do different work for the "same" workflow, which is the point of the
comparison, not a flaw in it:

- durable-testkit drives the real azure-functions-durable SDK's handle: every episode
  the SDK parses the whole history JSON and replays the generator from the start.
- durabletask's backend is a gRPC server in this process; its worker (a background
  thread with its own asyncio loop) receives each work item over loopback gRPC as
  protobuf, replays the generator over the history, and answers over gRPC; the client
  waits on the backend over gRPC as well.

durabletask side, set up once per process the way its docs' fixtures do (backend and
worker started once, every orchestrator registered before ``worker.start()``), then
timed per run: ``schedule_new_orchestration`` + ``wait_for_orchestration_completion`` +
``get_output``. Its loggers are given a silent ``logging.Logger`` (by default it logs
every work item at INFO to stderr, which would only slow it down). The backend binds
127.0.0.1 on an ephemeral port (its own ``start()`` binds ``[::]:50051``) and is stopped
at the end.

The "3-step test" row is a whole test, end to end, timed in batches:

- durable-testkit: ``InMemoryRuntime()``, register the orchestrator and the activity,
  ``rt.run`` a 3-activity chain, read ``.output``, ``rt.close()``.
- durabletask, two ways (a worker takes no new registrations once started, so a test
  that registers its own functions needs its own worker): ``shared``: backend and
  worker shared by the session, per test only schedule + wait + output (the cheapest a
  durabletask test can be); ``fresh``: backend, worker and client started and stopped
  per test (what durable-testkit's row does: everything).

Usage::

    python benchmarks/peers.py                 # full run (about 2 minutes here)
    python benchmarks/peers.py --quick         # smaller sizes, 3 repetitions
    python benchmarks/peers.py --repeats 9

durabletask needs Python 3.10+ (``pip install durabletask`` or ``pip install -e .[bench]``);
without it the script prints durable-testkit's figures only and says so. It prints
figures and always exits 0; it is not a test.
"""
from __future__ import annotations

import argparse
import gc
import logging
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Generator, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import azure.durable_functions as df  # noqa: E402

from durable_testkit import InMemoryRuntime  # noqa: E402

# The targets: durable-testkit / durabletask at most this, per scenario.
TARGET_RATIO = {"chain-300": 0.8, "fan-out-1000": 0.2}
TARGET_3STEP_MS = 0.6
WAIT_SECONDS = 600.0  # bound on one durabletask run (a hang fails the script, not CI)


# ------------------------------------------------------------ durable-testkit side
def tk_chain(context: df.DurableOrchestrationContext) -> Generator[Any, Any, int]:
    n = context.get_input()
    value = 0
    for _ in range(n):
        value = yield context.call_activity("inc", value)
    return value


def tk_fan_out(context: df.DurableOrchestrationContext) -> Generator[Any, Any, int]:
    n = context.get_input()
    results = yield context.task_all([context.call_activity("double", i) for i in range(n)])
    return sum(results)


def tk_inc(value: int) -> int:
    return value + 1


def tk_double(value: int) -> int:
    return value * 2


def tk_runtime(name: str, orchestrator: Callable[..., Any]) -> InMemoryRuntime:
    rt = InMemoryRuntime()
    rt.register_orchestrator(name, df.Orchestrator.create(orchestrator))
    rt.register_activity("inc", tk_inc)
    rt.register_activity("double", tk_double)
    return rt


TK_ORCHESTRATORS = {"chain": tk_chain, "fan-out": tk_fan_out}


@dataclass
class Sample:
    seconds: float  # wall clock
    cpu: float  # process CPU time, every thread (durabletask's gRPC and worker threads too)
    sdk_seconds: float = 0.0  # durable-testkit: time inside the SDK's handle


class Timer:
    """Wall and process CPU time of a block (CPU time is less swayed by a loaded machine)."""

    def __enter__(self) -> "Timer":
        gc.collect()
        self.cpu0, self.wall0 = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.wall = time.perf_counter() - self.wall0
        self.cpu = time.process_time() - self.cpu0


def tk_run(kind: str, n: int, expected: Any) -> Sample:
    rt = tk_runtime(kind, TK_ORCHESTRATORS[kind])
    try:
        with Timer() as t:
            result = rt.run(kind, n)
            output = result.output
        if output != expected:
            raise SystemExit(f"durable-testkit {kind}({n}): wrong output {output!r} "
                             f"({result.runtime_status})")
        return Sample(t.wall, t.cpu, rt.stats.sdk_seconds)
    finally:
        rt.close()


_three_step_sdk = [0.0]  # seconds inside the SDK's handle, summed over 3-step tests


def tk_three_step_test() -> None:
    """One whole test: runtime, registration, a 3-activity chain, the output."""
    rt = InMemoryRuntime()
    rt.register_orchestrator("chain", df.Orchestrator.create(tk_chain))
    rt.register_activity("inc", tk_inc)
    output = rt.run("chain", 3).output
    rt.close()
    _three_step_sdk[0] += rt.stats.sdk_seconds
    if output != 3:
        raise SystemExit(f"durable-testkit 3-step test: wrong output {output!r}")


# ------------------------------------------------------------ durabletask side
class DurableTask:
    """durabletask's in-memory backend, a worker and a client, on 127.0.0.1 only."""

    def __init__(self) -> None:
        # Imported here: durabletask is optional (and 3.10+).
        from durabletask import client, task, worker
        from durabletask.testing import InMemoryOrchestrationBackend

        self.client_mod, self.task_mod, self.worker_mod = client, task, worker
        self.backend_cls = InMemoryOrchestrationBackend
        self.logger = logging.Logger("durabletask-bench-silent")
        self.logger.setLevel(logging.CRITICAL + 1)  # its stop() logs a cancelled stream
        self.logger.addHandler(logging.NullHandler())
        when_all = task.when_all

        def inc(ctx: Any, value: int) -> int:
            return value + 1

        def double(ctx: Any, value: int) -> int:
            return value * 2

        def chain(ctx: Any, n: int) -> Any:
            value = 0
            for _ in range(n):
                value = yield ctx.call_activity(inc, input=value)
            return value

        def fan_out(ctx: Any, n: int) -> Any:
            results = yield when_all([ctx.call_activity(double, input=i) for i in range(n)])
            return sum(results)

        self.activities = [inc, double]
        self.orchestrators: Dict[str, Callable[..., Any]] = {"chain": chain,
                                                              "fan-out": fan_out}
        self.backend, self.address = self.start_backend()
        self.worker = self.start_worker(self.address)
        self.client = self.new_client(self.address)

    # -- set-up and tear-down --------------------------------------------------------
    def start_backend(self) -> Tuple[Any, str]:
        import grpc
        from concurrent import futures

        import durabletask.internal.orchestrator_service_pb2_grpc as stubs

        backend = self.backend_cls()
        # What InMemoryOrchestrationBackend.start() does, bound to loopback on an
        # ephemeral port instead of [::]:50051.
        backend._shutdown_event.clear()
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=10))
        add_servicer: Any = stubs.add_TaskHubSidecarServiceServicer_to_server
        add_servicer(backend, server)
        port = server.add_insecure_port("127.0.0.1:0")
        if not port:
            raise SystemExit("durabletask backend: could not bind 127.0.0.1")
        server.start()
        backend._server = server
        return backend, f"127.0.0.1:{port}"

    def start_worker(self, address: str) -> Any:
        worker: Any = self.worker_mod.TaskHubGrpcWorker(host_address=address,
                                                        logger=self.logger)
        for fn in self.orchestrators.values():
            worker.add_orchestrator(fn)
        for fn in self.activities:
            worker.add_activity(fn)
        worker.start()
        return worker

    def new_client(self, address: str) -> Any:
        return self.client_mod.TaskHubGrpcClient(host_address=address, logger=self.logger)

    def close(self) -> None:
        self.client.close()
        self.worker.stop()
        self.backend.stop()

    # -- runs ------------------------------------------------------------------------
    def run_on(self, client: Any, kind: str, n: int) -> Any:
        instance_id = client.schedule_new_orchestration(self.orchestrators[kind], input=n)
        state = client.wait_for_orchestration_completion(instance_id, timeout=WAIT_SECONDS)
        if state is None:
            raise SystemExit(f"durabletask {kind}({n}): no state after {WAIT_SECONDS} s")
        if state.runtime_status != self.client_mod.OrchestrationStatus.COMPLETED:
            raise SystemExit(f"durabletask {kind}({n}): {state.runtime_status} "
                             f"{state.failure_details}")
        return state.get_output()

    def run(self, kind: str, n: int, expected: Any) -> Sample:
        with Timer() as t:
            output = self.run_on(self.client, kind, n)
        if output != expected:
            raise SystemExit(f"durabletask {kind}({n}): wrong output {output!r}")
        return Sample(t.wall, t.cpu)

    def three_step_shared(self) -> None:
        if self.run_on(self.client, "chain", 3) != 3:
            raise SystemExit("durabletask 3-step (shared): wrong output")

    def three_step_fresh(self) -> None:
        backend, address = self.start_backend()
        try:
            worker = self.start_worker(address)
            client = self.new_client(address)
            try:
                output = self.run_on(client, "chain", 3)
            finally:
                client.close()
                worker.stop()
        finally:
            backend.stop()
        if output != 3:
            raise SystemExit("durabletask 3-step (fresh): wrong output")


def load_durabletask() -> Tuple[Optional[DurableTask], str]:
    if sys.version_info < (3, 10):
        return None, "durabletask needs Python 3.10+: durabletask's side skipped"
    try:
        import durabletask  # noqa: F401
        from durabletask.testing import InMemoryOrchestrationBackend  # noqa: F401
    except ImportError as exc:
        return None, (f"durabletask not installed ({exc}): durabletask's side skipped; "
                      f"`pip install durabletask` or `pip install -e .[bench]` to compare")
    # gRPC honours http(s)_proxy: keep the loopback channel off any proxy.
    no_proxy = os.environ.get("no_grpc_proxy", "")
    if "127.0.0.1" not in no_proxy:
        os.environ["no_grpc_proxy"] = ",".join(p for p in (no_proxy, "127.0.0.1") if p)
    return DurableTask(), f"durabletask {_version('durabletask')}"


# ------------------------------------------------------------ measuring
def per_test(fn: Callable[[], None], batch: int) -> Sample:
    """Wall and CPU seconds per call of ``fn``, over one batch."""
    _three_step_sdk[0] = 0.0
    with Timer() as t:
        for _ in range(batch):
            fn()
    return Sample(t.wall / batch, t.cpu / batch, _three_step_sdk[0] / batch)


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: str
    n: int
    expected: Any


def scenarios(quick: bool) -> List[Scenario]:
    chains = (10, 30, 100) if quick else (10, 100, 300)
    fans = (100, 300) if quick else (100, 1000)
    return ([Scenario(f"chain-{n}", "chain", n, n) for n in chains]
            + [Scenario(f"fan-out-{n}", "fan-out", n, n * (n - 1)) for n in fans])


def median(xs: List[float]) -> float:
    return statistics.median(xs)


def machine_line() -> str:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cpus, load avg "
            f"{load}; python {platform.python_version()}; azure-functions-durable "
            f"{_version('azure-functions-durable')}; durable-testkit {_version('durable-testkit')}")


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=None,
                    help="interleaved repetitions (default 5, quick 3)")
    ap.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    ap.add_argument("--batch", type=int, default=50,
                    help="tests per 3-step sample, in-process variants (default 50)")
    ap.add_argument("--fresh-batch", type=int, default=2,
                    help="tests per 3-step sample, durabletask fresh per test (default 2)")
    args = ap.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 5)

    print(f"machine: {machine_line()}", flush=True)
    dt, dt_line = load_durabletask()
    print(dt_line, flush=True)

    # Warm both sides (imports, first-use caches, the gRPC channel) outside the timings.
    tk_run("chain", 3, 3)
    tk_run("fan-out", 3, 6)
    tk_three_step_test()
    if dt is not None:
        dt.run("chain", 3, 3)
        dt.run("fan-out", 3, 6)

    tk: Dict[str, List[Sample]] = {}
    peer: Dict[str, List[Sample]] = {}
    three_variants: List[Tuple[str, Callable[[], None], int]] = []
    if dt is not None:
        three_variants = [("shared", dt.three_step_shared, args.batch),
                          ("fresh", dt.three_step_fresh, args.fresh_batch)]
    three: Dict[str, List[Sample]] = {"tk": []}
    three.update({name: [] for name, _, _ in three_variants})
    try:
        for rep in range(repeats):
            tk_first = rep % 2 == 0
            for sc in scenarios(args.quick):
                for side in ("tk", "dt") if tk_first else ("dt", "tk"):
                    if side == "tk":
                        tk.setdefault(sc.name, []).append(tk_run(sc.kind, sc.n, sc.expected))
                    elif dt is not None:
                        peer.setdefault(sc.name, []).append(dt.run(sc.kind, sc.n, sc.expected))
            sides: List[Tuple[str, Callable[[], None], int]] = [
                ("tk", tk_three_step_test, args.batch)] + three_variants
            for name, fn, batch in sides if tk_first else list(reversed(sides)):
                three[name].append(per_test(fn, batch))
            print(f"  repetition {rep + 1}/{repeats} done", file=sys.stderr, flush=True)
    finally:
        if dt is not None:
            dt.close()

    def wall(xs: List[Sample]) -> float:
        return median([x.seconds for x in xs])

    def cpu(xs: List[Sample]) -> float:
        return median([x.cpu for x in xs])

    print(f"\n{repeats} interleaved repetitions, medians in ms; ratio = durable-testkit / "
          f"durabletask (< 1: durable-testkit faster), on wall time ('ratio') and on process "
          f"CPU time ('cpu ratio'); 'tk in sdk' = share of durable-testkit's wall time inside "
          f"the SDK's handle")
    header = (f"{'scenario':<14} {'testkit':>9} {'dtask':>9} {'ratio':>6} {'target':>7} "
              f"{'met':>4} {'tk cpu':>9} {'dt cpu':>9} {'cpu ratio':>9} {'tk in sdk':>9}")
    print(header)
    print("-" * len(header))
    for sc in scenarios(args.quick):
        a, a_cpu = wall(tk[sc.name]), cpu(tk[sc.name])
        share = median([x.sdk_seconds / x.seconds for x in tk[sc.name]])
        target = TARGET_RATIO.get(sc.name)
        t_text = "" if target is None else f"<={target}"
        if sc.name in peer:
            b, b_cpu = wall(peer[sc.name]), cpu(peer[sc.name])
            ratio = a / b
            met = "" if target is None else ("yes" if ratio <= target else "no")
            peer_text = (f"{b * 1e3:>9.1f} {ratio:>6.2f} {t_text:>7} {met:>4} "
                         f"{a_cpu * 1e3:>9.1f} {b_cpu * 1e3:>9.1f} {a_cpu / b_cpu:>9.2f}")
        else:
            peer_text = (f"{'-':>9} {'-':>6} {t_text:>7} {'-':>4} {a_cpu * 1e3:>9.1f} "
                         f"{'-':>9} {'-':>9}")
        print(f"{sc.name:<14} {a * 1e3:>9.1f} {peer_text} {share:>9.0%}")

    a3, a3_cpu = wall(three["tk"]), cpu(three["tk"])
    sdk3 = median([x.sdk_seconds for x in three["tk"]])
    verdict = "met" if a3 * 1e3 < TARGET_3STEP_MS else "missed"
    print(f"\n3-step chain test, end to end, ms per test (median of {repeats} batches; "
          f"wall / process CPU)")
    print(f"  durable-testkit (runtime + register + run + output + close): {a3 * 1e3:.3f} / "
          f"{a3_cpu * 1e3:.3f} ms (target < {TARGET_3STEP_MS} ms: {verdict}); inside the "
          f"SDK's handle (4 episodes): {sdk3 * 1e3:.3f} ms")
    labels = {"shared": "durabletask, backend + worker shared by the session",
              "fresh": "durabletask, backend + worker + client per test"}
    for name, samples in three.items():
        if name == "tk":
            continue
        b3, b3_cpu = wall(samples), cpu(samples)
        print(f"  {labels[name]}: {b3 * 1e3:.3f} / {b3_cpu * 1e3:.3f} ms (durable-testkit / "
              f"this: {a3 / b3:.3g} wall, {a3_cpu / b3_cpu:.3g} cpu)")
    if dt is None:
        print(f"  ({dt_line})")
    print(f"\nmachine at the end: {machine_line()}")
    return 0


def _version(dist: str) -> str:
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
