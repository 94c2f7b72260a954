"""The ``durable_plan`` marker: run ``durable_runtime`` under a saved scheduling plan.

Exploration (``durable_testkit.strategies.host_schedules``) finds an ordering that
breaks a test; ``schedule.save("plans/name.json")`` keeps it, and
``@pytest.mark.durable_plan("plans/name.json")`` turns it into a regression test:
the fixture's runtime replays the plan's decisions exactly, so the test sees the
same history every run, without hypothesis.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import pytest

from durable_testkit.errors import DurableTestkitError
from durable_testkit.policy import PlannedPolicy

# pytest hides this module's frames in failure reports (--full-trace shows them):
# what the user needs is the line of their own code.
__tracebackhide__ = True

__all__ = ["MARKER", "pytest_configure", "planned_policy"]

MARKER = "durable_plan"

_MARKER_DOC = (
    "durable_plan(path): run the durable_runtime fixture under the scheduling plan saved at "
    "path (relative to the test file), as schedule.save(path) writes it from a "
    "durable_testkit.strategies.host_schedules example: the runtime replays its decisions "
    "exactly. The closest marker wins.")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", _MARKER_DOC)


def planned_policy(item: pytest.Item) -> Optional[PlannedPolicy]:
    """The policy of the test's closest ``durable_plan`` marker, or None."""
    found = next(iter(item.iter_markers_with_node(MARKER)), None)
    if found is None:
        return None
    node, mark = found
    if len(mark.args) != 1 or mark.kwargs or not isinstance(mark.args[0], (str, Path)):
        shown = ", ".join([repr(a) for a in mark.args]
                          + [f"{k}={v!r}" for k, v in mark.kwargs.items()])
        pytest.fail(f"@pytest.mark.{MARKER}({shown}) on {node.nodeid}: it takes one path, "
                    f"e.g. @pytest.mark.{MARKER}(\"plans/checkout.json\").", pytrace=False)
    path = Path(mark.args[0])
    if not path.is_absolute():
        path = Path(item.path).parent / path
    if not path.is_file():
        pytest.fail(f"@pytest.mark.{MARKER}({str(mark.args[0])!r}) on {node.nodeid}: no plan "
                    f"at {path} (the path is relative to the test file). Save one from a "
                    "failing exploration with schedule.save(path).", pytrace=False)
    try:
        return PlannedPolicy.load(path)
    except DurableTestkitError as exc:
        pytest.fail(f"@pytest.mark.{MARKER} on {node.nodeid}: {exc}", pytrace=False)
