"""Orchestration versions as the Durable host compares them (host.json ``versioning``).

The public face of ``durable_testkit._versions``: compare two versions the way
DTFx does, and read a function app's versioning settings, e.g. to decide in a
test which recorded histories a new deployment would still run.
"""
from __future__ import annotations

from ._versions import VersioningSettings, compare_versions, load_versioning

__all__ = ["VersioningSettings", "compare_versions", "load_versioning"]
