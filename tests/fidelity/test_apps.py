"""What real apps use: legacy bindings, output bindings, broken folders, host.json's hub name."""
from __future__ import annotations

import json
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from durable_testkit import AppDiscoveryError, InMemoryRuntime

APPS = Path(__file__).resolve().parent.parent / "apps"


@pytest.fixture
def v1() -> InMemoryRuntime:
    rt = InMemoryRuntime.from_app(APPS / "fidelity_v1")
    yield rt
    rt.close()


def test_an_orchestration_client_starter_that_waits_answers_on_virtual_time(v1) -> None:
    response = v1.http("POST", "/api/orchestrators/Verify", '"+15550100"')
    # The starter waits up to 60 s, polling every second, on virtual time: still Running.
    assert response.status_code == 202
    payload = json.loads(response.get_body())
    assert v1.now - v1.status(payload["id"]).created_time == timedelta(seconds=60)
    # The 180 s timer fires on the next drive: the verification timed out.
    assert v1.wait(payload["id"]).output == "timed out"


def test_output_bindings_are_passed_and_what_was_set_is_visible(v1) -> None:
    iid = v1.start("Verify", "+15550100")
    v1.run_until_idle()
    call = v1.activity_calls[0]
    assert call.name == "SendChallenge" and call.result == "4242"
    assert json.loads(call.outputs["message"]) == {"body": "Your code is 4242",
                                                   "to": "+15550100"}
    v1.raise_event(iid, "Answer", "4242")
    assert v1.wait(iid).output is True


def test_a_v1_folder_that_fails_to_import_leaves_the_rest_loaded(v1) -> None:
    assert "Broken" in v1.app.functions and "Verify" in v1.app.functions

    def calls_broken(context):
        return (yield context.call_activity("Broken", 1))

    v1.register_orchestrator("calls_broken", calls_broken)
    error = v1.run("calls_broken").error or ""
    assert "FunctionLoadError: Function 'Broken' could not be loaded" in error
    assert "No module named 'a_module_that_is_not_installed'" in error


def test_the_task_hub_name_comes_from_host_json(v1) -> None:
    assert json.loads(v1.client_binding())["taskHubName"] == "FidelityHub"
    response = v1.http("POST", "/api/orchestrators/Verify", '"+15550100"')
    assert "taskHub=FidelityHub" in json.loads(response.get_body())["statusQueryGetUri"]


def test_v2_output_decorators(tmp_path: Path) -> None:
    rt = InMemoryRuntime.from_app(APPS / "fidelity_v2" / "function_app.py")
    assert rt.run("notify", "order-7").output == "ok"
    assert rt.activity_calls[0].outputs == {"msg": "queued order-7"}


def test_a_v2_app_that_fails_to_import_fails_as_a_whole_naming_file_and_line(
        tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text("{}")
    script = tmp_path / "function_app.py"
    script.write_text(textwrap.dedent("""\
        import azure.durable_functions as df
        app = df.DFApp()
        SETTINGS = {}
        TIMEOUT = SETTINGS["timeout"]
        """))
    with pytest.raises(AppDiscoveryError) as info:
        InMemoryRuntime.from_app(tmp_path)
    assert f"{script}, line 4" in str(info.value) and "KeyError" in str(info.value)


def test_an_entity_function_with_an_output_binding_gets_it_and_its_values_are_kept(v1) -> None:
    import azure.durable_functions as df

    entity = df.EntityId("AuditedCounter", "k")
    v1.signal_entity(entity, "add", 2)
    v1.run_until_idle()
    v1.signal_entity(entity, "add", 3)
    v1.run_until_idle()
    assert v1.entity_state(entity) == 5
    status, = v1.entity_statuses()
    assert [json.loads(batch["audit"]) for batch in status.outputs] == [
        {"entity": "AuditedCounter", "batch": "2"}, {"entity": "AuditedCounter", "batch": "5"}]
