"""Shared fixtures for the import tests: the golden folder and its orchestrators."""
from __future__ import annotations

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

DATA = os.path.join(HERE, "data")


@pytest.fixture
def data() -> str:
    return DATA
