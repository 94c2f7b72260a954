"""Orchestration versions: DTFx's comparison, host.json settings, the host, and replay by version."""
from __future__ import annotations

import asyncio
import json
from importlib.metadata import version as installed
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from _corpus_apps import V1, V2_GATED, V2_UNGATED, record, write_app
from durable_testkit import InMemoryRuntime, NonDeterminismError, OrchestrationStuck
from durable_testkit._versions import (VersioningSettings, compare_versions, folder_version,
                                       load_versioning, version_problem)
from durable_testkit.cli import main
from durable_testkit.errors import AppDiscoveryError, VersionMismatchError
from durable_testkit.history import load_history, save_history
from durable_testkit.replay import check_histories, replay_history


def _sdk_at_least(*wanted: int) -> bool:
    parts = tuple(int(p) for p in installed("azure-functions-durable").split(".")[:3])
    return parts >= wanted


needs_context_version = pytest.mark.skipif(
    not _sdk_at_least(1, 3, 3), reason="context.version exists from azure-functions-durable 1.3.3")
needs_start_new_version = pytest.mark.skipif(
    not _sdk_at_least(1, 5, 0), reason="start_new(version=) exists from azure-functions-durable 1.5.0")


# ------------------------------------------------------------------ comparison
@pytest.mark.parametrize("a, b, sign", [
    # DTFx's own table (Test/DurableTask.Core.Tests/VersionSettingsTests.cs)
    ("1.0.0", "1.0.0", 0), ("1.1.0", "1.0.0", 1), ("1.0.0", "1.1.0", -1),
    ("1", "1", 0), ("2", "1", 1), ("1", "2", -1), ("", "1", -1), ("1", "", 1), ("", "", 0),
    # null and blank are unversioned; System.Version quirks; the string fallback
    (None, "", 0), (None, "0.1", -1), ("  ", None, 0),
    ("1.0", "1.0.0", -1),  # System.Version: a missing build number is -1
    ("1.10", "1.9", 1),  # numeric, component by component
    ("10", "9", -1),  # one component is not a System.Version: ordinal text
    ("V2", "v2", 0), ("2025-01-01", "2024-12-31", 1), ("1.0-beta", "1.0", 1),
])
def test_compare_versions_follows_dtfx(a: str, b: str, sign: int) -> None:
    result = compare_versions(a, b)
    assert (result > 0) - (result < 0) == sign


@given(st.one_of(st.none(), st.text(max_size=8), st.from_regex(r"\d{1,3}(\.\d{1,3}){0,3}")),
       st.one_of(st.none(), st.text(max_size=8), st.from_regex(r"\d{1,3}(\.\d{1,3}){0,3}")))
def test_compare_versions_is_antisymmetric(a: str, b: str) -> None:
    assert (compare_versions(a, b) > 0) == (compare_versions(b, a) < 0)
    assert compare_versions(a, a) == 0


def test_strict_matches_exact_text_and_current_or_older_compares() -> None:
    strict = VersioningSettings("2.0", "Strict")
    assert version_problem(strict, "2.0") is None
    assert "Strict" in (version_problem(strict, "2.00") or "")  # text, not numbers
    older = VersioningSettings("2.0")
    assert version_problem(older, "1.0") is None and version_problem(older, None) is None
    assert "newer than the worker's version '2.0'" in (version_problem(older, "2.1") or "")
    assert version_problem(VersioningSettings(None), "9.9") is None  # no defaultVersion: off
    assert version_problem(VersioningSettings("1.0", "None"), "9.9") is None


# ------------------------------------------------------------------ host.json
def test_host_json_settings_are_read_case_insensitively_with_comments(tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text(
        '{\n  // the versioning settings\n  "Extensions": {"DurableTask": {\n'
        '    "defaultVersion": "2.0", /* rolled out in May */\n'
        '    "VersionMatchStrategy": "strict", "versionFailureStrategy": "FAIL"}}}\n',
        encoding="utf-8")
    settings = load_versioning(tmp_path)
    assert settings is not None
    assert (settings.default_version, settings.match_strategy, settings.failure_strategy) == \
        ("2.0", "Strict", "Fail")


def test_host_json_defaults_and_absent_settings(tmp_path: Path) -> None:
    assert load_versioning(tmp_path) is None  # no host.json
    (tmp_path / "host.json").write_text('{"version": "2.0"}', encoding="utf-8")
    assert load_versioning(tmp_path) is None
    (tmp_path / "host.json").write_text(
        json.dumps({"extensions": {"durableTask": {"defaultVersion": "1.0"}}}), encoding="utf-8")
    assert load_versioning(tmp_path) == VersioningSettings(
        "1.0", "CurrentOrOlder", "Reject", source=str(tmp_path / "host.json"))


def test_an_unknown_strategy_is_refused_with_the_allowed_values(tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text(json.dumps(
        {"extensions": {"durableTask": {"defaultVersion": "1", "versionMatchStrategy": "Newest"}}}),
        encoding="utf-8")
    with pytest.raises(AppDiscoveryError, match="versionMatchStrategy is 'Newest'; it must be "
                                                "one of None, Strict, CurrentOrOlder"):
        load_versioning(tmp_path)


def test_folder_version_needs_the_orchestrator_folder_above() -> None:
    assert folder_version("h/process_order/1.0/a.json", "process_order") == "1.0"
    assert folder_version("h/Process_Order/1.0/a.json", "process_order") == "1.0"
    assert folder_version("h/process_order/unversioned/a.json", "process_order") is None
    assert folder_version("tmp/1.0/a.json", "process_order") is None


# ------------------------------------------------------------------ the host
def _echo_version(context):  # type: ignore[no-untyped-def]
    result = yield context.call_activity("echo", context.version)
    return result


def _parent(context):  # type: ignore[no-untyped-def]
    child = yield context.call_sub_orchestrator("echo_version", None)
    return [context.version, child]


@pytest.fixture
def rt() -> InMemoryRuntime:
    runtime = InMemoryRuntime()
    runtime.register_orchestrator("echo_version", _echo_version)
    runtime.register_orchestrator("parent", _parent)
    runtime.register_activity("echo", lambda v: v)
    return runtime


@needs_context_version
def test_start_sets_the_version_the_orchestrator_reads(rt: InMemoryRuntime) -> None:
    assert rt.run("echo_version", version="1.5").output == "1.5"
    assert rt.run("echo_version").output is None
    iid = rt.start("echo_version", version="3")
    rt.wait(iid)
    assert rt.history(iid).events[1].version == "3"


@needs_context_version
@needs_start_new_version
def test_the_client_passes_its_version_through_the_management_api(rt: InMemoryRuntime) -> None:
    iid = asyncio.run(rt.client.start_new("echo_version", None, None, version="2.5"))
    assert rt.wait(iid).output == "2.5"


@needs_context_version
def test_default_version_applies_to_new_instances_and_sub_orchestrations(
        rt: InMemoryRuntime) -> None:
    rt.versioning = VersioningSettings("2.0")
    assert rt.run("parent").output == ["2.0", "2.0"]
    assert rt.run("echo_version", version="1.0").output == "1.0"  # older: still runs


def test_reject_leaves_a_newer_instance_pending_and_says_why(rt: InMemoryRuntime) -> None:
    rt.versioning = VersioningSettings("2.0")
    iid = rt.start("echo_version", version="3.0")
    rt.run_until_idle()
    assert rt.status(iid).runtime_status.name == "Pending"
    assert rt.activity_calls == []
    with pytest.raises(OrchestrationStuck, match=r"version '3.0' is newer than the worker's "
                                                 r"version '2.0' .*Reject abandons its work"):
        rt.wait(iid)
    rt.versioning = VersioningSettings("3.0")  # a newer worker picks it up
    rt.raise_event(iid, "nudge")  # abandoned work items are retried on the next message
    assert rt.wait(iid).output == "3.0"


def test_fail_fails_the_instance_without_running_its_code(rt: InMemoryRuntime) -> None:
    rt.versioning = VersioningSettings("2.0", failure_strategy="Fail")
    result = rt.run("echo_version", version="3.0")
    assert result.runtime_status.name == "Failed"
    assert result.output == "Orchestration version did not comply with Worker Versioning"
    completed = [e.to_wire() for e in rt.history(result.instance_id).events][-2]
    assert completed["FailureDetails"]["ErrorType"] == "VersionMismatch"
    assert rt.activity_calls == []


def test_strict_refuses_an_older_version_too(rt: InMemoryRuntime) -> None:
    rt.versioning = VersioningSettings("2.0", "Strict", "Fail")
    assert rt.run("echo_version", version="1.0").runtime_status.name == "Failed"
    assert rt.run("echo_version").runtime_status.name == "Completed"  # gets 2.0


def test_from_app_reads_host_json(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app", V1, {"defaultVersion": "4.2"})
    with InMemoryRuntime.from_app(str(app)) as runtime:
        assert runtime.versioning is not None and runtime.versioning.default_version == "4.2"
        iid = runtime.start("process_order", {"id": 1})
        runtime.wait(iid)
        assert runtime.history(iid).events[1].version == "4.2"


# ------------------------------------------------------------------ replay by version
@pytest.fixture
def old_histories(tmp_path: Path) -> list[Path]:
    v1 = write_app(tmp_path / "v1", V1, {"defaultVersion": "1.0"})
    return [record(v1, tmp_path / "histories", instance_id="done"),
            record(v1, tmp_path / "histories", instance_id="waiting", finish=False)]


@needs_context_version
def test_a_gated_orchestrator_replays_old_histories_and_an_ungated_one_breaks_them(
        tmp_path: Path, old_histories: list[Path]) -> None:
    gated = write_app(tmp_path / "gated", V2_GATED, {"defaultVersion": "2.0"})
    assert [c.status for c in check_histories(str(gated), old_histories)] == ["ok", "ok"]
    ungated = write_app(tmp_path / "ungated", V2_UNGATED, {"defaultVersion": "2.0"})
    checks = check_histories(str(ungated), old_histories)
    assert [c.status for c in checks] == ["diverged", "diverged"]
    error = checks[0].error
    assert isinstance(error, NonDeterminismError)
    assert (error.event_index, error.expected, error.actual) == (
        6, "activity 'charge' #1", "activity 'apply_discount' #1")


@needs_context_version
def test_new_histories_replay_against_the_gated_code_too(tmp_path: Path) -> None:
    gated = write_app(tmp_path / "gated", V2_GATED, {"defaultVersion": "2.0"})
    new = record(gated, tmp_path / "histories", instance_id="new")
    assert load_history(new).events[1].version == "2.0"  # type: ignore[attr-defined]
    assert check_histories(str(gated), [new])[0].status == "ok"
    # ...and the ungated old code would diverge on them:
    v1 = write_app(tmp_path / "v1", V1, {"defaultVersion": "2.0"})
    assert check_histories(str(v1), [new])[0].status == "diverged"


def _strip_version(path: Path, into: Path) -> Path:
    doc = json.loads(path.read_text(encoding="utf-8"))
    for event in doc["events"]:
        if event["EventType"] == 0:
            event["Version"] = None
    into.parent.mkdir(parents=True, exist_ok=True)
    into.write_text(json.dumps(doc), encoding="utf-8")
    return into


@needs_context_version
def test_a_history_that_lost_its_version_takes_the_folder_or_the_option(
        tmp_path: Path, old_histories: list[Path]) -> None:
    gated = write_app(tmp_path / "gated", V2_GATED, {"defaultVersion": "2.0"})
    # Replayed as unversioned (None): the gate sends it down the 1.0 path anyway.
    in_folder = _strip_version(old_histories[0], tmp_path / "c" / "process_order" / "1.0" / "a.json")
    check = check_histories(str(gated), [in_folder])[0]
    assert (check.status, check.version) == ("ok", "1.0")
    loose = _strip_version(old_histories[0], tmp_path / "loose.json")
    assert check_histories(str(gated), [loose])[0].version is None
    # Told it was a 2.0 instance, the gated code takes the new path: a divergence.
    check = check_histories(str(gated), [loose], version="2.0")[0]
    assert (check.status, check.version) == ("diverged", "2.0")


def test_a_history_newer_than_the_code_is_refused_or_failed_as_host_json_says(
        tmp_path: Path) -> None:
    gated = write_app(tmp_path / "gated", V2_GATED, {"defaultVersion": "2.0"})
    new = record(gated, tmp_path / "histories", instance_id="new")
    old_code = write_app(tmp_path / "old", V1, {"defaultVersion": "1.0"})
    check = check_histories(str(old_code), [new])[0]
    assert (check.ok, check.status) == (True, "refused")
    assert "not replayed: version '2.0' is newer than the worker's version '1.0'" in check.message
    failing = write_app(tmp_path / "failing", V1, {"defaultVersion": "1.0",
                                                   "versionFailureStrategy": "Fail"})
    check = check_histories(str(failing), [new])[0]
    assert (check.ok, check.status) == (False, "version-failed")
    assert isinstance(check.error, VersionMismatchError)
    with pytest.raises(VersionMismatchError, match="Deploying this code would fail it"):
        check_histories(str(failing), [new], raise_on_failure=True)


def test_replay_history_takes_versioning_settings_directly(tmp_path: Path) -> None:
    rt = InMemoryRuntime()
    rt.register_orchestrator("echo_version", _echo_version)
    rt.register_activity("echo", lambda v: v)
    iid = rt.start("echo_version", version="5.0")
    rt.wait(iid)
    path = tmp_path / "h.json"
    save_history(rt.export_history(iid), path)
    result = replay_history(_echo_version, path, versioning=VersioningSettings("4.0"))
    assert result.refused is not None and result.actions == ()
    assert replay_history(_echo_version, path).version == "5.0"


def test_the_cli_takes_version_and_exits_1_on_a_divergence(
        tmp_path: Path, old_histories: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    gated = write_app(tmp_path / "gated", V2_GATED, {"defaultVersion": "2.0"})
    loose = _strip_version(old_histories[0], tmp_path / "loose.json")
    assert main(["replay", str(gated), str(loose)]) == 0
    assert main(["replay", str(gated), str(loose), "--version", "2.0"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"ok   {loose} (process_order): replays cleanly")
    assert out[1] == (f"FAIL {loose} (process_order): no longer replays (history event 6): "
                      "expected activity 'charge' #1; actual activity 'apply_discount' #1")
    assert out[2].startswith("    Non-deterministic replay of orchestrator 'process_order'")
