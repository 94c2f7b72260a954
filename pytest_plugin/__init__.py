"""pytest plugin for durable-testkit (installed as ``durable_testkit.pytest_plugin``).

Loaded through the ``pytest11`` entry point. One module per concept:

- ``options``: the ``durable_app`` marker, the ``durable_app`` and
  ``durable_start_time`` ini options and ``--durable-app``;
- ``fixtures``: ``durable_runtime``, ``durable_client``, ``orchestration_scenario``;
- ``reports``: the "durable-testkit orchestrations" section of failure reports;
- ``faults``: the ``durable_faults`` marker and its teardown check (a plugin of its
  own, loaded through ``pytest_plugins`` below);
- ``histories``: the ``durable_histories`` corpus collected as tests, ``--durable-record``
  and ``--durable-replay-coverage`` (a plugin of its own too);
- ``exploration``: the ``durable_plan`` marker, which runs ``durable_runtime`` under a
  saved scheduling plan (a plugin of its own too);
- ``unfinished``: the ``durable_unfinished`` ini option, what teardown does about
  instances a test left running or waiting (a plugin of its own too).

pytest reads hooks and fixtures from this module, so they are re-exported here.
"""
from __future__ import annotations

from .fixtures import durable_client, durable_runtime, orchestration_scenario
from .options import DurableSettings, pytest_addoption, pytest_configure
from .reports import pytest_runtest_makereport

# The faults module has a pytest_configure of its own (its marker).
pytest_plugins = ["durable_testkit.pytest_plugin.faults",
                  "durable_testkit.pytest_plugin.histories",
                  "durable_testkit.pytest_plugin.exploration",
                  "durable_testkit.pytest_plugin.unfinished"]

__all__ = [
    "DurableSettings",
    "durable_client",
    "durable_runtime",
    "orchestration_scenario",
    "pytest_addoption",
    "pytest_configure",
    "pytest_runtest_makereport",
]
