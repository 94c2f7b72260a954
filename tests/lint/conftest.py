"""Shared helpers for the durable-lint tests."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def app_copy(tmp_path: Path):
    """Copy a fixture app into tmp_path (so fixes can write) and return its folder."""

    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(FIXTURES / name, target)
        return target

    return copy


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch) -> None:
    """CLI runs cache analyses; keep that cache out of the user's home during tests."""
    monkeypatch.setenv("DURABLE_LINT_CACHE_DIR", str(tmp_path_factory.mktemp("lint-cache")))
