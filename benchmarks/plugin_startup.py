"""What the pytest plugin costs: at start-up, and per test that names a function app.

Two measurements, each in fresh pytest subprocesses on a generated project:

1. **Start-up without the plugin in use**: a project with one plain test, run with
   ``python -X importtime -m pytest --co -q``. Reports whether the Azure SDK was
   imported and the cumulative import time of the plugin and of ``azure.*``.
2. **Per test with a ``durable_app`` marker**: a 20-function V2 app and tests that
   alternate between ``@pytest.mark.durable_app("app")`` + ``durable_runtime`` and
   a bare ``durable_runtime`` (an empty runtime). A conftest hook sums each test's
   setup + call + teardown durations by kind, so both kinds are measured
   interleaved in one process. ``marked/bare`` is the per-test ratio; the issue's
   figure was about +30% (1.3) when every test discovered the app again. Each run
   is repeated with the session cache switched off (``no cache``: the plugin's
   discovery replaced by ``discover_app`` in the generated conftest), interleaved.

Usage::

    python benchmarks/plugin_startup.py [--tests 40] [--runs 3]

It prints figures; it is not a test (tests/plugin holds the assertions).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parent.parent

APP = '''
import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

{activities}

{orchestrators}

@app.entity_trigger(context_name="context")
def counter(context):
    context.set_state((context.get_state(lambda: 0) or 0) + 1)

@app.route(route="start/{{name}}")
@app.durable_client_input(client_name="client")
async def http_start(req, client):
    instance_id = await client.start_new(req.route_params["name"])
    return client.create_check_status_response(req, instance_id)
'''

ACTIVITY = '''
@app.activity_trigger(input_name="value")
def act{i}(value):
    return value + {i}
'''

ORCHESTRATOR = '''
@app.orchestration_trigger(context_name="context")
def orch{i}(context):
    value = yield context.call_activity("act{i}", context.get_input() or 0)
    return value
'''

CONFTEST = '''
import json, os
_sums = {"marked": [], "bare": []}
_current = {}

def pytest_runtest_logreport(report):
    kind = "marked" if "marked" in report.nodeid else "bare"
    _current[report.nodeid] = _current.get(report.nodeid, 0.0) + report.duration
    if report.when == "teardown":
        _sums[kind].append(_current.pop(report.nodeid))

if os.environ.get("PLUGIN_BENCH_NO_CACHE"):  # A/B: discover the app for every test
    from durable_testkit.pytest_plugin import fixtures as _fixtures

    def _discover(config, app):
        from durable_testkit.app import discover_app
        return discover_app(app)

    _fixtures.session_app = _discover


def pytest_sessionfinish(session):
    with open(os.environ["PLUGIN_BENCH_OUT"], "w") as f:
        json.dump(_sums, f)
'''

HEAD = '''
import pytest

def orch1(context):
    value = yield context.call_activity("act1", context.get_input() or 0)
    return value
'''

TEST = '''
@pytest.mark.durable_app("app")
def test_marked_{i}(durable_runtime):
    assert durable_runtime.run("orch1", 1).output == 2

def test_bare_{i}(durable_runtime):  # the same run, registered by hand: no app to discover
    durable_runtime.register_orchestrator("orch1", orch1)
    durable_runtime.register_activity("act1", lambda value: value + 1)
    assert durable_runtime.run("orch1", 1).output == 2
'''


def write_project(where: Path, tests: int) -> None:
    app = where / "app"
    app.mkdir()
    (app / "host.json").write_text('{"version": "2.0"}')
    (app / "function_app.py").write_text(APP.format(
        activities="\n".join(ACTIVITY.format(i=i) for i in range(1, 10)),
        orchestrators="\n".join(ORCHESTRATOR.format(i=i) for i in range(1, 10))))
    (where / "conftest.py").write_text(CONFTEST)
    (where / "test_app.py").write_text(HEAD + "\n".join(TEST.format(i=i) for i in range(tests)))


def pytest_cmd(*args: str) -> List[str]:
    return [sys.executable, *args, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "-W", "ignore::DeprecationWarning"]


def startup(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "test_plain.py").write_text("def test_one():\n    assert 1 + 1 == 2\n")
        rows = []
        for _ in range(runs):
            done = subprocess.run(pytest_cmd("-X", "importtime") + ["--co"], cwd=tmp,
                                  capture_output=True, text=True, timeout=300)
            rows.append(_import_times(done.stderr))
        plugin = statistics.median(r["plugin"] for r in rows)
        azure = statistics.median(r["azure"] for r in rows)
        loaded = any(r["azure_loaded"] for r in rows)
        print(f"start-up, one plain test (--co), median of {runs}: plugin import "
              f"{plugin * 1e3:.1f} ms, azure.* imported: {'yes' if loaded else 'no'} "
              f"({azure * 1e3:.1f} ms)")


def _import_times(stderr: str) -> Dict[str, float]:
    """Cumulative import times (s) of the plugin package and of top-level azure modules."""
    plugin = azure = 0.0
    loaded = False
    for line in stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if not m:
            continue
        cumulative, depth, name = int(m.group(1)) / 1e6, len(m.group(2)) - 1, m.group(3)
        if depth == 0 and name.split(".")[0] in ("durable_testkit", "pytest_plugin"):
            plugin += cumulative  # what loading the plugin imported, outermost imports only
        if name.startswith("azure.") or name == "azure":
            loaded = True
            if name in ("azure.functions", "azure.durable_functions"):
                azure = max(azure, cumulative)
    return {"plugin": plugin, "azure": azure, "azure_loaded": loaded}


def per_test(tests: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        write_project(where, tests)
        figures: Dict[str, Dict[str, List[float]]] = {
            mode: {"marked": [], "bare": []} for mode in ("cache", "no cache")}
        for _ in range(runs):
            for mode, kinds in figures.items():  # A/B interleaved, run by run
                out = where / "out.json"
                env = dict(os.environ, PLUGIN_BENCH_OUT=str(out))
                if mode == "no cache":
                    env["PLUGIN_BENCH_NO_CACHE"] = "1"
                done = subprocess.run(pytest_cmd(), cwd=tmp, env=env, capture_output=True,
                                      text=True, timeout=600)
                if done.returncode != 0:
                    raise SystemExit(done.stdout[-3000:] + done.stderr[-3000:])
                sums = json.loads(out.read_text())
                for kind in ("marked", "bare"):
                    kinds[kind].append(statistics.median(sums[kind]))
        print(f"per test, {tests} marked + {tests} bare tests interleaved, medians of {runs} "
              "runs (setup + call + teardown):")
        for mode, kinds in figures.items():
            m, b = statistics.median(kinds["marked"]), statistics.median(kinds["bare"])
            print(f"  {mode:<9} marked {m * 1e3:6.2f} ms, bare {b * 1e3:6.2f} ms, "
                  f"marked/bare {m / b:.2f}, marked - bare {(m - b) * 1e3:+.2f} ms")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tests", type=int, default=40, help="tests of each kind")
    ap.add_argument("--runs", type=int, default=3, help="pytest runs per measurement")
    args = ap.parse_args()
    startup(args.runs)
    per_test(args.tests, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
