"""The fixtures: each builds a library object from the test's settings and tears it down.

All the work is in ``durable_testkit``; these only configure, record the object
for failure reports (``item.stash``) and check expectations at teardown.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional

import pytest

from durable_testkit.errors import AppDiscoveryError

from ._apps import session_app
from ._stash import did_not_pass, involved
from .options import MARKER, DurableSettings, parse_start_time, resolve_settings

if TYPE_CHECKING:  # pragma: no cover - the SDK is imported when a fixture first runs
    from durable_testkit.app import AppFunctions
    from durable_testkit.runtime import InMemoryRuntime

# pytest hides this module's frames in failure reports (--full-trace shows them):
# what the user needs is the line of their own code.
__tracebackhide__ = True

__all__ = ["durable_client", "durable_runtime", "orchestration_scenario",
           "unused_mocks_message"]


def unused_mocks_message(names: List[str], nodeid: str) -> str:
    """The teardown failure for mocks no orchestration called."""
    listed = ", ".join(repr(n) for n in names)
    return (
        f"{nodeid}: {len(names)} mocked activit{'y was' if len(names) == 1 else 'ies were'} "
        f"never called: {listed}.\n"
        "A mock nothing calls usually means the orchestration took another path than the "
        "test expects, or the name is misspelt (activity names are matched without regard "
        "to case).\n"
        "If the mock is deliberately optional, opt out for this test, class or module with "
        f"@pytest.mark.{MARKER}(assert_all_mocks_used=False).")


def _load_error(settings: DurableSettings, exc: Exception) -> str:
    return (f"durable-testkit could not load the function app {settings.app!r} "
            f"(set by {settings.app_source}):\n{exc}")


def _build_runtime(config: pytest.Config, settings: DurableSettings, policy: Any = None
                   ) -> InMemoryRuntime:
    # Imported on first use: a session whose tests never ask for the fixture pays no
    # import of the Azure SDK.
    from durable_testkit.runtime import InMemoryRuntime

    kwargs: Dict[str, Any] = dict(start_time=settings.start_time, policy=policy,
                                  determinism_probe=settings.determinism_probe)
    if settings.app is None:
        return InMemoryRuntime(**kwargs)
    try:
        # Discovered once per session per app (and again when its folder changes).
        return InMemoryRuntime.from_app(session_app(config, settings.app), **kwargs)
    except AppDiscoveryError as exc:
        pytest.fail(_load_error(settings, exc), pytrace=False)


@pytest.fixture
def durable_runtime(request: pytest.FixtureRequest) -> Iterator[InMemoryRuntime]:
    """A fresh ``InMemoryRuntime`` loaded with the test's function app.

    The app comes from the closest ``@pytest.mark.durable_app``, ``--durable-app`` or
    the ``durable_app`` ini option (none: an empty runtime); virtual time starts at
    the marker's ``start_time`` or the ``durable_start_time`` ini option. At teardown
    the test fails if a ``mock_activity`` mock was never called (opt out with
    ``@pytest.mark.durable_app(assert_all_mocks_used=False)``) or an injected fault
    (``@pytest.mark.durable_faults(...)``, ``rt.inject``) never fired (opt out with
    ``assert_all_faults_fired=False``).
    """
    item = request.node
    settings = resolve_settings(item)
    from .exploration import planned_policy  # @pytest.mark.durable_plan(path)

    rt = _build_runtime(request.config, settings, planned_policy(item))
    involved(item).runtimes.append(rt)
    # Imported here: faults is a plugin pytest imports itself (pytest_plugins), and
    # importing it first would cost it assertion rewriting.
    from .faults import inject_marked_faults, unfired_faults_message

    try:
        inject_marked_faults(item, rt)  # @pytest.mark.durable_faults(...)
        yield rt
        # A test that failed, skipped or xfailed has its outcome; unmet expectations would
        # only report it twice. Every unmet one is reported at once, not the first alone.
        concluded = did_not_pass(item)
        unmet: List[str] = []
        if settings.assert_all_mocks_used and not concluded and rt.unused_mocks:
            unmet.append(unused_mocks_message(rt.unused_mocks, item.nodeid))
        if settings.assert_all_faults_fired and not concluded and rt.unfired_faults:
            unmet.append(unfired_faults_message(rt.unfired_faults, item.nodeid))
        # Instances left running or waiting: durable_unfinished = warn | fail | ignore.
        from .unfinished import check_unfinished

        unfinished = check_unfinished(item, rt, concluded)
        if unfinished:
            unmet.append(unfinished)
        if unmet:
            pytest.fail("\n\n".join(unmet), pytrace=False)
        # --durable-record=DIR. Imported here: histories is a plugin pytest imports itself
        # (pytest_plugins), and importing it first would cost it assertion rewriting.
        from .histories import record_histories

        record_histories(item, rt)
    finally:
        rt.close()


@pytest.fixture
def durable_client(durable_runtime: InMemoryRuntime) -> Any:
    """The async client bound to ``durable_runtime`` (``rt.client``): pass it to starters."""
    return durable_runtime.client


@pytest.fixture
def orchestration_scenario(request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """A factory of ``OrchestrationScenario`` drivers.

    ``orchestration_scenario(orchestrator, input=None, *, instance_id=None,
    start_time=None)``: ``orchestrator`` is a generator function, or the name of an
    orchestrator of the test's function app. ``start_time`` defaults to the test's.
    """
    item = request.node
    settings = resolve_settings(item)
    record = involved(item)
    apps: List[AppFunctions] = []  # looked up on first use by name

    def resolve(name: str) -> Any:
        if settings.app is None:
            pytest.fail(
                f"orchestration_scenario({name!r}): an orchestrator given by name is looked "
                f"up in the test's function app, and none is set. Set the {MARKER} ini "
                f"option, pass --durable-app, use @pytest.mark.{MARKER}('pkg.module:app'), "
                "or pass the orchestrator function itself.", pytrace=False)
        if not apps:
            try:
                apps.append(session_app(request.config, settings.app))
            except AppDiscoveryError as exc:
                pytest.fail(_load_error(settings, exc), pytrace=False)
        return apps[0].get(name, "orchestrator").user_function

    def make(orchestrator: Any, input: Any = None, *, instance_id: Optional[str] = None,
             start_time: Any = None) -> Any:
        from durable_testkit.scenario import OrchestrationScenario  # imported when used

        if isinstance(orchestrator, str):
            orchestrator = resolve(orchestrator)
        start = settings.start_time if start_time is None else parse_start_time(start_time)
        scenario = OrchestrationScenario(orchestrator, input=input, instance_id=instance_id,
                                         start_time=start)
        record.scenarios.append(scenario)
        return scenario

    yield make
    for scenario in record.scenarios:
        close = getattr(scenario, "close", None)
        if callable(close):
            close()
