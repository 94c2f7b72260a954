"""Shared pieces for the plugin's pytester tests: a small V2 app and an ini file."""
from __future__ import annotations

import textwrap
from typing import Callable

import pytest

# The plugin imports the SDK and the runtime only when a fixture first runs. Import them
# here, before any pytester run: an in-process run restores sys.modules afterwards, and
# a module first imported inside one run would be imported again, with new classes, by
# the next.
import durable_testkit.app  # noqa: F401,E402
import durable_testkit.runtime  # noqa: F401,E402
import durable_testkit.scenario  # noqa: F401,E402

SAMPLE_APP = '''
import azure.durable_functions as df

app = df.DFApp()
REPLAYS = {"flaky": 0}


@app.orchestration_trigger(context_name="context")
def hello(context):
    name = context.get_input() or "World"
    greeting = yield context.call_activity("greet", name)
    return greeting


@app.orchestration_trigger(context_name="context")
def chain(context):
    total = 0
    for i in range(context.get_input()):
        yield context.call_activity("greet", str(i))
        total += 1
    return total


@app.orchestration_trigger(context_name="context")
def flaky(context):
    # Schedules another activity when replayed: a non-deterministic orchestrator.
    REPLAYS["flaky"] += 1
    first = "greet" if REPLAYS["flaky"] == 1 else "shout"
    yield context.call_activity(first, "a")
    yield context.call_activity("greet", "b")
    return "done"


@app.activity_trigger(input_name="name")
def greet(name: str) -> str:
    return f"Hello {name}!"


@app.activity_trigger(input_name="name")
def shout(name: str) -> str:
    return name.upper()
'''

OTHER_APP = '''
import azure.durable_functions as df

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def other(context):
    return "other"
    yield
'''


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester folder holding ``sample_app.py`` and ``other_app.py`` on ``sys.path``."""
    pytester.makepyfile(sample_app=SAMPLE_APP, other_app=OTHER_APP)
    pytester.syspathinsert()
    return pytester


def _make_ini(pytester: pytest.Pytester, **options: str) -> None:
    lines = "\n".join(f"{k} = {v}" for k, v in options.items())
    pytester.makeini("[pytest]\n" + textwrap.dedent(lines) + "\n")


@pytest.fixture
def make_ini() -> Callable[..., None]:
    """``make_ini(pytester, key=value, ...)`` writes a ``[pytest]`` ini file.

    A fixture rather than an import: every test folder's conftest is a module named
    ``conftest``, so importing from it depends on collection order.
    """
    return _make_ini
