"""Replaying recorded histories against current code, without running activities."""
from __future__ import annotations

import pytest

from durable_testkit import InMemoryRuntime, NonDeterminismError, save_history
from durable_testkit.replay import replay_episode, replay_history


def v1(context):
    a = yield context.call_activity("A", 1)
    b = yield context.call_activity("B", a)
    return [a, b]


def v2_renamed(context):
    a = yield context.call_activity("A", 1)
    b = yield context.call_activity("C", a)
    return [a, b]


def v3_new_input_only(context):
    a = yield context.call_activity("A", 100)
    b = yield context.call_activity("b", a)  # names compare case-insensitively
    return [a, b]


@pytest.fixture
def recorded(tmp_path):
    rt = InMemoryRuntime()
    rt.register_orchestrator("orch", v1)
    rt.mock_activity("A", return_value=10)
    rt.mock_activity("B", return_value=20)
    iid = rt.run("orch", instance_id="i-1").instance_id
    path = tmp_path / "orch.json"
    save_history(rt.export_history(iid), path)
    return path


def test_the_same_code_replays_cleanly_without_running_activities(recorded) -> None:
    result = replay_history(v1, recorded)
    assert result.is_done and result.output == [10, 20] and result.new_work == ()


def test_a_renamed_activity_is_reported_with_the_hosts_text_and_the_timeline(recorded) -> None:
    with pytest.raises(NonDeterminismError) as info:
        replay_history(v2_renamed, recorded)
    err = info.value
    assert err.instance_id == "i-1" and err.orchestrator == "orch"
    assert "scheduled an activity task with sequence number 1 named 'B'" in str(err)
    assert "instead scheduled an activity task named 'C'" in str(err)
    assert err.expected == "activity 'B' #1" and err.actual == "activity 'C' #1"
    assert ">" in err.timeline


def test_inputs_and_name_case_are_not_compared_as_in_dtfx(recorded) -> None:
    assert replay_history(v3_new_input_only, recorded).output == [10, 20]


def test_one_episode_replays_to_the_same_actions(recorded) -> None:
    second = replay_episode(v1, recorded, 1)
    assert [a["functionName"] for a in second.actions] == ["A", "B"]
    assert second.new_work == ("activity 'B' #1",)
    assert replay_episode(v1, recorded, 1).actions == second.actions


def test_cli_replay_checks_stored_histories_against_an_app(tmp_path, capsys) -> None:
    from durable_testkit.cli import main

    app = tmp_path / "app_v1.py"
    app.write_text(
        "import azure.durable_functions as df\n"
        "app = df.DFApp()\n"
        "@app.orchestration_trigger(context_name='context')\n"
        "def orch(context):\n"
        "    a = yield context.call_activity('A', 1)\n"
        "    b = yield context.call_activity('B', a)\n"
        "    return [a, b]\n")
    changed = tmp_path / "app_v2.py"
    changed.write_text(app.read_text().replace("'B', a", "'C', a"))
    rt = InMemoryRuntime()
    rt.register_orchestrator("orch", v1)
    rt.mock_activity("A", return_value=10)
    rt.mock_activity("B", return_value=20)
    history = tmp_path / "orch.json"
    save_history(rt.export_history(rt.run("orch", instance_id="i-1").instance_id), history)

    assert main(["replay", str(app), str(history)]) == 0
    assert "ok   " in capsys.readouterr().out
    assert main(["replay", str(changed), str(history)]) == 1
    out = capsys.readouterr().out
    # One line per file, then the divergence beneath it.
    assert out.startswith(f"FAIL {history} (orch): no longer replays (history event ")
    assert "\n    Non-deterministic replay of orchestrator 'orch'" in out
    assert main(["replay", str(tmp_path / "missing"), str(history)]) == 2
