"""The durable-testkit CLI: show, and a serve smoke test in a subprocess."""
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

from durable_testkit.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEADLINE_SECONDS = 60


def test_show_renders_a_saved_history(capsys: pytest.CaptureFixture) -> None:
    assert main(["show", str(ROOT / "tests/unit/data/history_golden.json")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ProcessOrder [order-42]\n")
    assert "ExecutionStarted" in out


def test_show_missing_file_fails_cleanly(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    assert main(["show", str(tmp_path / "nope.json")]) == 1
    assert capsys.readouterr().err.startswith("durable-testkit show: ")


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
