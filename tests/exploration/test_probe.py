"""The determinism probe catches what the linter cannot see, and passes deterministic code."""
from __future__ import annotations

import warnings
from typing import Any

import pytest

from durable_testkit import InMemoryRuntime
from durable_testkit import OrchestrationRuntimeStatus as S
from durable_testkit.errors import DeterminismProbeError, DeterminismProbeWarning

import probe_orchestrators as po

ORCHESTRATORS = [name for name in vars(po) if name.endswith(("_direct", "_helper", "_good"))]


def runtime(probe: bool = True) -> InMemoryRuntime:
    rt = InMemoryRuntime(determinism_probe=probe)
    for name in ORCHESTRATORS:
        rt.register_orchestrator(name, getattr(po, name))
    rt.register_activity("echo", lambda value: value)
    return rt


@pytest.mark.parametrize("name, perturbation", [
    ("clock_direct", "wall clock +3 days"),
    ("clock_helper", "wall clock +3 days"),
    ("random_direct", "random reseeded"),
    ("random_helper", "random reseeded"),
    ("uuid_direct", "os.urandom/uuid.uuid4() returning other values"),
    ("uuid_helper", "os.urandom/uuid.uuid4() returning other values"),
    ("environ_direct", "environment variable DURABLE_PROBE_PATH set to"),
    ("environ_helper", "environment variable DURABLE_PROBE_REGION set to"),
])
def test_the_probe_names_what_the_orchestrator_read(name: str, perturbation: str) -> None:
    with pytest.raises(DeterminismProbeError) as caught:
        runtime().run(name, instance_id="probed-1")
    err = caught.value
    assert err.orchestrator == name and err.instance_id == "probed-1"
    assert err.episode == 0 and err.action_index == 0
    assert err.perturbation.startswith(perturbation)
    assert err.expected != err.actual and '"functionName": "echo"' in err.expected
    text = str(err)
    assert text.startswith(f"Orchestrator '{name}' (instance 'probed-1') is not "
                           f"deterministic: replaying episode 0 with {err.perturbation} "
                           "changed action 0.")
    assert "History:" in text and "ExecutionStarted" in text
    assert "context.current_utc_datetime" in text  # what to do


@pytest.mark.parametrize("name", ["set_direct", "set_helper"])
def test_set_iteration_is_caught_by_the_pythonhashseed_replay(name: str) -> None:
    with pytest.raises(DeterminismProbeError) as caught:
        runtime().run(name, instance_id="set-1")
    assert caught.value.perturbation.startswith("PYTHONHASHSEED=")
    assert "subprocess" in caught.value.perturbation
    assert "iteration order of a set" in str(caught.value)


@pytest.mark.parametrize("name", [n for n in ORCHESTRATORS if n.endswith("_good")])
def test_the_same_orchestrators_written_deterministically_pass(name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeterminismProbeWarning)  # nothing was skipped
        probed = runtime().run(name, {"region": "northeurope"}, instance_id="good-1")
    plain = runtime(probe=False).run(name, {"region": "northeurope"}, instance_id="good-1")
    assert probed.runtime_status == S.Completed
    # The probe does not change the run's outcome.
    assert probed.output == plain.output


def test_nothing_outside_the_replay_is_left_perturbed() -> None:
    import os
    import random

    state = random.getstate()
    environ, urandom = os.environ, os.urandom
    with pytest.raises(DeterminismProbeError):
        runtime().run("environ_direct")
    assert os.environ is environ and os.urandom is urandom
    assert random.getstate() == state


def test_no_fake_datetime_outlives_the_probe() -> None:
    # freezegun swaps FakeDatetime into every module that holds datetime; the host's
    # timestamp caches filled during the probe's replays must not hand it out afterwards.
    import datetime as dt

    runtime().run("clock_good", instance_id="fake-1")
    with pytest.raises(DeterminismProbeError):  # its message types the history, frozen
        runtime().run("clock_direct", instance_id="fake-1")
    def now(context):  # type: ignore[no-untyped-def]
        yield context.call_activity("echo", 1)
        return type(context.current_utc_datetime).__name__

    rt = runtime(probe=False)
    rt.register_orchestrator("now", now)
    assert rt.run("now", instance_id="fake-1").output == "datetime"
    stamps = {type(e.timestamp) for e in rt.history("fake-1").events}
    assert stamps == {dt.datetime}


def test_an_orchestrator_that_cannot_be_imported_skips_only_the_subprocess_check() -> None:
    def closure(context):  # defined in a function: a subprocess cannot import it
        return (yield context.call_activity("echo", sorted({"b", "a"})))

    rt = InMemoryRuntime(determinism_probe=True)
    rt.register_orchestrator("closure", closure)
    rt.register_activity("echo", lambda value: value)
    with pytest.warns(DeterminismProbeWarning, match="defined inside a function"):
        assert rt.run("closure").output == ["a", "b"]


def test_activities_are_never_perturbed_or_flagged() -> None:
    import random

    rt = runtime()
    rt.register_activity("echo", lambda value: [value, random.random()])
    result = rt.run("random_good", instance_id="r-1")
    assert result.runtime_status == S.Completed


def test_a_feature_flag_read_is_named_as_the_environment() -> None:
    rt = InMemoryRuntime(determinism_probe=True)
    rt.register_orchestrator("flag", po.flag_direct_branch)
    rt.register_activity("echo", lambda value: value)
    with pytest.raises(DeterminismProbeError) as caught:
        rt.run("flag", instance_id="f-1")
    assert "environment variable DURABLE_PROBE_FEATURE_X set to" in caught.value.perturbation
    assert "(unset in the run)" in caught.value.perturbation


@pytest.mark.parametrize("max_episodes", [30, 1000])
def test_the_probe_speaks_before_another_bound_stops_the_run(max_episodes: int) -> None:
    """Stopped by max_episodes (30), the probe still reports; in a long drive (1,000) it
    checks its episodes as it goes, long before the drive's end."""
    rt = InMemoryRuntime(determinism_probe=True, max_episodes=max_episodes)
    rt.register_orchestrator("monitor", po.clock_monitor_forever)
    rt.register_activity("echo", lambda value: value)
    with pytest.raises(DeterminismProbeError) as caught:
        rt.run("monitor", instance_id="m-1")
    assert caught.value.perturbation.startswith("wall clock")
    assert rt.history("m-1").events[-1].event_type.name == "OrchestratorCompleted"
    assert len(rt.activity_calls) < 70  # the probe checked within its first batch


def test_the_probe_is_off_by_default() -> None:
    assert runtime(probe=False).run("random_direct").runtime_status == S.Completed
