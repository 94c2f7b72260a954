"""Strict replay: what the host's check (kinds and names only) lets through, on request."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

import pytest

from durable_testkit import InMemoryRuntime, NonDeterminismError, save_history
from durable_testkit.history import EventType
from durable_testkit.cli import main
from durable_testkit.replay import check_histories, replay_history


def recorded(tmp_path: Path, orchestrator: Callable[..., Any], **activities: Any) -> Path:
    rt = InMemoryRuntime()
    rt.register_orchestrator("orch", orchestrator)
    rt.register_orchestrator("child", child)
    for name, value in activities.items():
        rt.mock_activity(name, return_value=value)
    iid = rt.run("orch", {"n": 1}, instance_id="i-1").instance_id
    path = tmp_path / "orch.json"
    save_history(rt.export_history(iid), path)
    return path


def child(context):  # type: ignore[no-untyped-def]
    return context.get_input()
    yield  # a generator


def charge(context):  # type: ignore[no-untyped-def]
    total = yield context.call_activity("Charge", {"amount": 10, "currency": "USD"})
    return total


def charge_eur(context):  # type: ignore[no-untyped-def]
    total = yield context.call_activity("Charge", {"amount": 10, "currency": "EUR"})
    return total


def charge_reordered_keys(context):  # type: ignore[no-untyped-def]
    total = yield context.call_activity("Charge", {"currency": "USD", "amount": 10})
    return total


def charge_lower(context):  # type: ignore[no-untyped-def]
    total = yield context.call_activity("charge", {"amount": 10, "currency": "USD"})
    return total


def test_an_input_change_passes_the_hosts_check_and_fails_strict_mode(tmp_path: Path) -> None:
    path = recorded(tmp_path, charge, Charge=10)
    assert replay_history(charge_eur, path).is_done  # what Azure would do: no complaint
    with pytest.raises(NonDeterminismError) as info:
        replay_history(charge_eur, path, strict=True)
    error = info.value
    assert error.event_index == 2
    assert error.expected == 'activity \'Charge\' #0 with input {"amount": 10, "currency": "USD"}'
    assert error.actual == 'activity \'Charge\' #0 with input {"amount": 10, "currency": "EUR"}'
    text = str(error)
    assert "Strict replay: activity 'Charge' #0 is called with another input" in text
    assert "Azure/durabletask#443" in text and "History:" in text
    assert not text.startswith("Non-Deterministic workflow detected")  # not the host's text


def test_inputs_compare_as_json_not_as_text(tmp_path: Path) -> None:
    path = recorded(tmp_path, charge, Charge=10)
    assert replay_history(charge_reordered_keys, path, strict=True).is_done
    assert replay_history(charge, path, strict=True).strict


def without_inputs(path: Path, *keys: str) -> Path:
    """The history as Azure stores it by default: scheduling events without ``keys``.

    DTFx records TaskScheduled / SubOrchestrationInstanceCreated inputs only with
    host.json storeInputsInOrchestrationHistory (off by default).
    """
    import json

    data = json.loads(path.read_text())
    for event in data["events"]:
        if event["EventType"] in (EventType.TaskScheduled,
                                  EventType.SubOrchestrationInstanceCreated):
            for key in keys:
                event.pop(key, None)
    out = path.with_name("stored-by-default.json")
    out.write_text(json.dumps(data))
    return out


def test_strict_mode_skips_inputs_the_history_never_recorded(tmp_path: Path) -> None:
    path = without_inputs(recorded(tmp_path, charge, Charge=10), "Input")
    assert replay_history(charge, path, strict=True).is_done
    assert replay_history(charge_eur, path, strict=True).is_done  # nothing to compare with
    with pytest.raises(NonDeterminismError, match="is named 'charge' now"):
        replay_history(charge_lower, path, strict=True)  # what *is* recorded still counts


def sub_with_id(context):  # type: ignore[no-untyped-def]
    result = yield context.call_sub_orchestrator("child", [1, 2], "child-of-i-1")
    return result


def test_strict_mode_skips_a_sub_orchestration_id_the_history_never_recorded(
        tmp_path: Path) -> None:
    path = recorded(tmp_path, sub_with_id)
    assert replay_history(sub_with_id, path, strict=True).is_done
    bare = without_inputs(path, "Input", "InstanceId")
    assert replay_history(sub_with_id, bare, strict=True).is_done


def test_strict_mode_compares_names_exactly(tmp_path: Path) -> None:
    path = recorded(tmp_path, charge, Charge=10)
    assert replay_history(charge_lower, path).is_done  # the host ignores case
    with pytest.raises(NonDeterminismError, match="is named 'charge' now, 'Charge' in history"):
        replay_history(charge_lower, path, strict=True)


def wait_an_hour(context):  # type: ignore[no-untyped-def]
    yield context.create_timer(context.current_utc_datetime + timedelta(hours=1))
    return "ok"


def wait_two_hours(context):  # type: ignore[no-untyped-def]
    yield context.create_timer(context.current_utc_datetime + timedelta(hours=2))
    return "ok"


def test_strict_mode_compares_timer_fire_times(tmp_path: Path) -> None:
    path = recorded(tmp_path, wait_an_hour)
    assert replay_history(wait_two_hours, path).is_done
    with pytest.raises(NonDeterminismError) as info:
        replay_history(wait_two_hours, path, strict=True)
    assert "timer #0 fires at another time" in str(info.value)
    assert info.value.expected == "timer #0 firing at 2024-01-01T01:00:00.000000Z"
    assert info.value.actual == "timer #0 firing at 2024-01-01T02:00:00.000000Z"


def sub(context):  # type: ignore[no-untyped-def]
    result = yield context.call_sub_orchestrator("child", [1, 2])
    return result


def sub_new_input(context):  # type: ignore[no-untyped-def]
    result = yield context.call_sub_orchestrator("child", [1, 2, 3])
    return result


def test_strict_mode_compares_sub_orchestration_inputs(tmp_path: Path) -> None:
    path = recorded(tmp_path, sub)
    assert replay_history(sub_new_input, path).is_done
    with pytest.raises(NonDeterminismError, match="sub-orchestration 'child' #0 is called "
                                                  "with another input"):
        replay_history(sub_new_input, path, strict=True)


def signal(context):  # type: ignore[no-untyped-def]
    import azure.durable_functions as df

    context.signal_entity(df.EntityId("counter", "a"), "add", 1)
    yield context.call_activity("Done", None)
    return "ok"


def signal_other_key(context):  # type: ignore[no-untyped-def]
    import azure.durable_functions as df

    context.signal_entity(df.EntityId("counter", "b"), "add", 1)
    yield context.call_activity("Done", None)
    return "ok"


def signal_other_amount(context):  # type: ignore[no-untyped-def]
    import azure.durable_functions as df

    context.signal_entity(df.EntityId("counter", "a"), "add", 5)
    yield context.call_activity("Done", None)
    return "ok"


def counter(context):  # type: ignore[no-untyped-def]
    context.set_state((context.get_state(lambda: 0)) + context.get_input())


def test_strict_mode_compares_entity_targets_and_inputs(tmp_path: Path) -> None:
    rt = InMemoryRuntime()
    rt.register_orchestrator("orch", signal)
    rt.register_entity("counter", counter)
    rt.mock_activity("Done", return_value=None)
    path = tmp_path / "e.json"
    save_history(rt.export_history(rt.run("orch", instance_id="e-1").instance_id), path)
    assert replay_history(signal_other_key, path).is_done
    assert replay_history(signal, path, strict=True).is_done
    with pytest.raises(NonDeterminismError, match="goes to another entity or operation"):
        replay_history(signal_other_key, path, strict=True)
    with pytest.raises(NonDeterminismError, match="'add' #0 on @counter@a is sent another input"):
        replay_history(signal_other_amount, path, strict=True)


def test_check_histories_and_the_cli_take_strict(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = recorded(tmp_path, charge, Charge=10)
    app = tmp_path / "app.py"
    app.write_text(
        "import azure.durable_functions as df\napp = df.DFApp()\n"
        "@app.orchestration_trigger(context_name='context')\n"
        "def orch(context):\n"
        "    total = yield context.call_activity('Charge', {'amount': 10, 'currency': 'EUR'})\n"
        "    return total\n", encoding="utf-8")
    assert check_histories(str(app), [path])[0].ok
    check = check_histories(str(app), [path], strict=True)[0]
    assert (check.ok, check.status) == (False, "diverged")
    assert isinstance(check.error, NonDeterminismError)
    with pytest.raises(NonDeterminismError):
        check_histories(str(app), [path], strict=True, raise_on_failure=True)
    assert main(["replay", str(app), str(path)]) == 0
    assert main(["replay", "--strict", str(app), str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"ok   {path} (orch): replays cleanly (finished)"
    assert out[1].startswith(f"FAIL {path} (orch): no longer replays (history event 2): "
                             "expected activity 'Charge' #0 with input")
