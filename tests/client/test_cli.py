"""The durable-testkit CLI: show and replay on good and hostile files, and a serve smoke test."""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from _client_support import APPS

from durable_testkit import InMemoryRuntime
from durable_testkit.cli import main
from durable_testkit.history import InstanceHistory, load_history, save_history

ROOT = Path(__file__).resolve().parents[2]
DEADLINE_SECONDS = 60


def test_show_renders_a_saved_history(capsys: pytest.CaptureFixture) -> None:
    assert main(["show", str(ROOT / "tests/unit/data/history_golden.json")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ProcessOrder [order-42]\n")
    assert "ExecutionStarted" in out


def test_show_missing_file_fails_cleanly(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    assert main(["show", str(tmp_path / "nope.json")]) == 1
    assert capsys.readouterr().err == f"durable-testkit show: {tmp_path / 'nope.json'}: no such file\n"


GOLDEN = ROOT / "tests/unit/data/history_golden.json"
posix_only = pytest.mark.skipif(os.name != "posix", reason="FIFOs and /dev/zero")


def run_cli(*args: str, env: "dict[str, str] | None" = None) -> subprocess.CompletedProcess:
    """The CLI in a subprocess, bounded: a regression that blocks fails instead of hanging."""
    full_env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "durable_testkit", *args], capture_output=True,
                          text=True, timeout=DEADLINE_SECONDS, env=full_env, cwd=str(ROOT))


@pytest.mark.skipif(sys.version_info < (3, 11),
                    reason="the integer-digits limit error is worded differently before 3.11")
def test_show_reports_each_bad_file_in_one_line_and_goes_on(
        capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 5000 + "]" * 5000, encoding="utf-8")
    huge = tmp_path / "huge.json"
    huge.write_text("[" + "9" * 5000 + "]", encoding="utf-8")
    stamp = tmp_path / "stamp.json"
    doc = json.loads(GOLDEN.read_text(encoding="utf-8"))
    doc["events"][0]["Timestamp"] = "0001-01-01T00:00:00+14:00"
    stamp.write_text(json.dumps(doc), encoding="utf-8")
    assert main(["show", str(deep), str(tmp_path), str(huge), str(stamp), str(GOLDEN)]) == 1
    captured = capsys.readouterr()
    err = captured.err.splitlines()
    assert err == [
        f"durable-testkit show: {deep}: not readable JSON: arrays or objects nested too deeply "
        f"for Python's JSON parser (the limit is about {sys.getrecursionlimit()} levels); no "
        "history nests like that",
        f"durable-testkit show: {tmp_path}: is a directory, not a regular history file",
        f"durable-testkit show: {huge}: not readable JSON: Exceeds the limit (4300 digits) for "
        "integer string conversion: value has 5000 digits; use sys.set_int_max_str_digits() to "
        "increase the limit",
        f"durable-testkit show: {stamp}, event 0: OrchestratorStarted: bad Timestamp: "
        "'0001-01-01T00:00:00+14:00' is outside what a Python datetime can hold in UTC "
        "(0001-01-01 to 9999-12-31)",
    ]
    assert captured.out.startswith("ProcessOrder [order-42]\n")  # the good file still shown


@posix_only
def test_show_refuses_a_fifo_and_dev_zero_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    proc = run_cli("show", str(fifo), "/dev/zero", str(GOLDEN))
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"durable-testkit show: {fifo}: is a FIFO (named pipe), not a regular history file",
        "durable-testkit show: /dev/zero: is a character device, not a regular history file",
    ]
    assert proc.stdout.startswith("ProcessOrder [order-42]\n")


def test_show_prints_lone_surrogates_escaped(capsys: pytest.CaptureFixture,
                                             tmp_path: Path) -> None:
    golden = load_history(GOLDEN)
    odd = tmp_path / "odd.json"
    save_history(InstanceHistory(orchestrator="Odd\udc80", instance_id="i\ud800",
                                 events=golden.events), odd)
    assert main(["show", str(odd)]) == 0
    assert capsys.readouterr().out.startswith("Odd\\udc80 [i\\ud800]\n")
    # and through a real, strict UTF-8 stdout
    proc = run_cli("show", str(odd), env={"PYTHONIOENCODING": "utf-8:strict"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Odd\\udc80 [i\\ud800]\n")


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as info:
        main(["show"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2


# ------------------------------------------------------------------ replay

APP_SOURCE = """
import azure.durable_functions as df
app = df.DFApp()
@app.orchestration_trigger(context_name='context')
def orch(context):
    a = yield context.call_activity('A', 1)
    b = yield context.call_activity('B', a)
    return [a, b]
"""


def chain(context: object) -> object:
    a = yield context.call_activity("A", 1)  # type: ignore[attr-defined]
    b = yield context.call_activity("B", a)  # type: ignore[attr-defined]
    return [a, b]


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    rt = InMemoryRuntime()
    rt.register_orchestrator("orch", chain)
    rt.mock_activity("A", return_value=10)
    rt.mock_activity("B", return_value=20)
    path = tmp_path / "good.json"
    save_history(rt.export_history(rt.run("orch", instance_id="i-1").instance_id), path)
    return path


def with_first_result(recorded: Path, result: str, name: str) -> Path:
    doc = json.loads(recorded.read_text(encoding="utf-8"))
    next(e for e in doc["events"] if e["EventType"] == 5)["Result"] = result
    path = recorded.with_name(name)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_replay_blames_the_file_the_sdk_cannot_decode_and_checks_the_rest(
        capsys: pytest.CaptureFixture, tmp_path: Path, recorded: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(APP_SOURCE, encoding="utf-8")
    not_json = with_first_result(recorded, "not json{", "not-json.json")
    deep = with_first_result(recorded, "[" * 5000 + "]" * 5000, "deep.json")
    envelope = with_first_result(recorded, json.dumps(
        {"__class__": "Nope", "__module__": "no_such_module_xyz", "__data__": "{}"}),
        "envelope.json")
    missing = tmp_path / "missing.json"
    files = [not_json, deep, envelope, missing, tmp_path, recorded]
    assert main(["replay", str(app), *map(str, files)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" ")[:2] for line in lines] == [
        ["FAIL", str(f)] for f in files[:-1]] + [["ok", ""]]
    assert lines[0].startswith(f"FAIL {not_json} (orch): the SDK raised JSONDecodeError")
    assert lines[1].startswith(f"FAIL {deep} (orch): the SDK raised RecursionError")
    # The host refuses the envelope before the SDK's codec sees it (tests/reliability).
    assert lines[2].startswith(f"FAIL {envelope} (orch): A payload asks to rebuild "
                               "no_such_module_xyz.Nope")
    assert "its module is not imported" in lines[2]
    assert "no such file" in lines[3] and "is a directory" in lines[4]
    assert lines[5] == f"ok   {recorded} (orch): replays cleanly (finished)"


@posix_only
def test_replay_refuses_a_fifo_without_blocking(tmp_path: Path, recorded: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(APP_SOURCE, encoding="utf-8")
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    proc = run_cli("replay", str(app), str(fifo), str(recorded))
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(f"FAIL {fifo} (?): ") and "is a FIFO (named pipe)" in lines[0]
    assert lines[1] == f"ok   {recorded} (orch): replays cleanly (finished)"


def test_replay_with_an_app_that_cannot_load_is_a_usage_error(
        capsys: pytest.CaptureFixture, tmp_path: Path, recorded: Path) -> None:
    assert main(["replay", str(tmp_path / "no-app"), str(recorded)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("durable-testkit replay: ") and err.count("\n") == 1


def test_serve_smoke() -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        [sys.executable, "-m", "durable_testkit", "serve", str(APPS / "v2_app"), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=str(ROOT))
    lines: "queue.Queue[str]" = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l) for l in proc.stdout], daemon=True).start()
    deadline = time.monotonic() + DEADLINE_SECONDS
    seen = []
    try:
        origin = None
        while origin is None:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            seen.append(line)
            if line.startswith("Listening on "):
                origin = line.split()[-1]
        assert any("http_start: [ALL]" in l for l in seen), seen
        request = urllib.request.Request(f"{origin}/api/orchestrators/fan_out_fan_in",
                                         data=b"3", method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 202
            status_url = json.loads(response.read())["statusQueryGetUri"]
        assert status_url.startswith(origin)
        body = None
        while time.monotonic() < deadline:  # bounded polling of the loopback server
            with urllib.request.urlopen(status_url, timeout=10) as response:
                body = json.loads(response.read())
            if body["runtimeStatus"] == "Completed":
                break
        assert body is not None and body["output"] == 12
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    while not lines.empty():
        seen.append(lines.get())
    text = "".join(seen)
    assert "fan_out_fan_in [" in text and "Completed output=12" in text
    assert "Stopping." in text
