"""Where the plugin's settings come from: ini options, ``--durable-app`` and the marker.

Each setting is taken from the closest ``@pytest.mark.durable_app`` that sets it
(test, then class, then module), then from ``--durable-app``, then from the ini
file, then from the library default.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Optional, final

import pytest

__all__ = ["DurableSettings", "pytest_addoption", "pytest_configure", "resolve_settings",
           "session_settings"]

MARKER = "durable_app"
INI_APP = "durable_app"
INI_START_TIME = "durable_start_time"

_MARKER_DOC = (
    "durable_app(app=None, *, assert_all_mocks_used=True, start_time=None, "
    "assert_all_faults_fired=True, determinism_probe=False): configure the "
    "durable_runtime and orchestration_scenario fixtures: the function app to load "
    "('pkg.module:attr', an app object or an app folder), whether unused mock_activity "
    "mocks fail the test at teardown, where virtual time starts (an aware datetime or "
    "ISO 8601 text), whether injected faults that never fired fail the test at "
    "teardown, and whether the determinism probe replays every episode under perturbation "
    "(as --durable-probe does). The closest marker that sets a value wins.")

_UNSET: Any = object()


@final
@dataclass(frozen=True)
class DurableSettings:
    """The settings one test runs with.

    Attributes:
        app: what ``InMemoryRuntime.from_app`` loads; None for an empty runtime.
        app_source: where ``app`` came from, for error messages.
        assert_all_mocks_used: fail at teardown if a mocked activity was never called.
        start_time: where virtual time starts; None for the library default.
        assert_all_faults_fired: fail at teardown if an injected fault never fired.
        determinism_probe: build runtimes with ``determinism_probe=True``.
    """

    app: Any = None
    app_source: str = "default"
    assert_all_mocks_used: bool = True
    start_time: Optional[datetime] = None
    assert_all_faults_fired: bool = True
    determinism_probe: bool = False


# Session-wide values read once from the command line and the ini file.
_SESSION_KEY = pytest.StashKey[DurableSettings]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("durable-testkit")
    group.addoption(
        "--durable-app", dest="durable_app", default=None, metavar="APP",
        help="function app the durable_runtime fixture loads ('pkg.module:attr' or an app "
             "folder); overrides the durable_app ini option, a durable_app marker overrides it")
    group.addoption(
        "--durable-probe", dest="durable_probe", action="store_true", default=False,
        help="build every durable_runtime with determinism_probe=True: replay each episode "
             "under a moved clock, reseeded random, other uuid4 values and a changed "
             "environment (and each history under other PYTHONHASHSEEDs), failing tests "
             "whose orchestrators decide differently")
    parser.addini(INI_APP, default="",
                  help="function app the durable_runtime fixture loads: 'pkg.module:attr' "
                       "or an app folder relative to the ini file")
    parser.addini(INI_START_TIME, default="",
                  help="where virtual time starts for durable_runtime, as timezone-aware "
                       "ISO 8601 (e.g. 2024-01-01T00:00:00Z)")


# azure-functions warns on every activity input the worker's converter decodes without an
# expected type. In Azure that lands in the worker's log; here the in-memory host runs the
# same converter inside the user's test session, so the plugin keeps it out of their report.
_CONVERTER_WARNING = ("ignore:azure.functions df_loads was called without expected_type"
                      ":DeprecationWarning")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", _MARKER_DOC)
    config.addinivalue_line("filterwarnings", _CONVERTER_WARNING)
    config.stash[_SESSION_KEY] = _session_settings(config)


def _session_settings(config: pytest.Config) -> DurableSettings:
    app: Any = None
    source = "default"
    ini_app = str(config.getini(INI_APP) or "").strip()
    if ini_app:
        app, source = _ini_relative(config, ini_app), f"the {INI_APP} ini option"
    cli_app = config.getoption("durable_app", None)
    if cli_app:
        app, source = cli_app, "--durable-app"
    start = None
    ini_start = str(config.getini(INI_START_TIME) or "").strip()
    if ini_start:
        where = f"{INI_START_TIME} = {ini_start!r}" + (
            f" in {config.inipath}" if config.inipath else "")
        try:
            start = parse_start_time(ini_start)
        except ValueError as exc:
            raise pytest.UsageError(f"{where}: {exc}") from None
    return DurableSettings(app=app, app_source=source, start_time=start,
                           determinism_probe=bool(config.getoption("durable_probe", False)))


def _ini_relative(config: pytest.Config, value: str) -> str:
    """An app folder in an ini file is relative to that file, as ``testpaths`` is."""
    if config.inipath is None or (":" in value and "/" not in value and os.sep not in value):
        return value
    candidate = Path(config.inipath).parent / value
    return str(candidate) if candidate.exists() else value


def parse_start_time(value: Any) -> datetime:
    """An aware datetime from a datetime or ISO 8601 text (``Z`` allowed)."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        text = value.strip()
        # datetime.fromisoformat takes "Z" only from Python 3.11 on.
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                "not an ISO 8601 date and time; write it like 2024-01-01T00:00:00Z") from None
    else:
        raise ValueError(f"expected a datetime or ISO 8601 text, not {type(value).__name__}")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(
            "has no timezone, and virtual time must be an aware instant (Durable Functions "
            "works in UTC); add one, e.g. 2024-01-01T00:00:00Z or 2024-01-01T00:00:00+00:00")
    return parsed


def _marker_values(app: Any = _UNSET, *, assert_all_mocks_used: Any = _UNSET,
                   start_time: Any = _UNSET, assert_all_faults_fired: Any = _UNSET,
                   determinism_probe: Any = _UNSET) -> dict[str, Any]:
    # The signature is the marker's: Python itself rejects unknown or extra arguments.
    return {"app": app, "assert_all_mocks_used": assert_all_mocks_used,
            "start_time": start_time, "assert_all_faults_fired": assert_all_faults_fired,
            "determinism_probe": determinism_probe}


def session_settings(config: pytest.Config) -> DurableSettings:
    """The session-wide settings (command line, then ini file), for session-level hooks."""
    return config.stash.get(_SESSION_KEY, DurableSettings())


def resolve_settings(item: pytest.Item) -> DurableSettings:
    """The settings for one test: closest marker per value, then command line, then ini."""
    base = item.config.stash.get(_SESSION_KEY, DurableSettings())
    chosen: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for node, mark in item.iter_markers_with_node(MARKER):  # closest node first
        try:
            values = _marker_values(*mark.args, **mark.kwargs)
        except TypeError as exc:
            args = ", ".join([repr(a) for a in mark.args]
                             + [f"{k}={v!r}" for k, v in mark.kwargs.items()])
            pytest.fail(f"@pytest.mark.{MARKER}({args}) on {node.nodeid}: {exc}. It takes "
                        f"{MARKER}(app=None, *, assert_all_mocks_used=True, start_time=None, "
                        "assert_all_faults_fired=True, determinism_probe=False).",
                        pytrace=False)
        for key, value in values.items():
            if value is not _UNSET and key not in chosen:
                chosen[key] = value
                sources[key] = f"@pytest.mark.{MARKER} on {node.nodeid}"
    start = base.start_time
    if "start_time" in chosen:
        try:
            start = (None if chosen["start_time"] is None
                     else parse_start_time(chosen["start_time"]))
        except ValueError as exc:
            pytest.fail(f"{sources['start_time']}: start_time={chosen['start_time']!r} {exc}",
                        pytrace=False)
    mocks = chosen.get("assert_all_mocks_used", base.assert_all_mocks_used)
    if not isinstance(mocks, bool):
        pytest.fail(f"{sources['assert_all_mocks_used']}: assert_all_mocks_used must be True "
                    f"or False, not {mocks!r}", pytrace=False)
    fired = chosen.get("assert_all_faults_fired", base.assert_all_faults_fired)
    if not isinstance(fired, bool):
        pytest.fail(f"{sources['assert_all_faults_fired']}: assert_all_faults_fired must be "
                    f"True or False, not {fired!r}", pytrace=False)
    probe = chosen.get("determinism_probe", base.determinism_probe)
    if not isinstance(probe, bool):
        pytest.fail(f"{sources['determinism_probe']}: determinism_probe must be True or False, "
                    f"not {probe!r}", pytrace=False)
    return DurableSettings(
        app=chosen.get("app", base.app),
        app_source=sources.get("app", base.app_source),
        assert_all_mocks_used=mocks,
        start_time=start,
        assert_all_faults_fired=fired,
        determinism_probe=probe,
    )
