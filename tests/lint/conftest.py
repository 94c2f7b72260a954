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
