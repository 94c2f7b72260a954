"""Helpers in another module than the orchestrators that use them: the linter cannot
follow these reads, the determinism probe sees what they do."""
from __future__ import annotations

import os
import random
import uuid
from datetime import datetime
from typing import Iterable, List


def stamp() -> str:
    return datetime.now().isoformat()  # `from datetime import datetime`: freezegun patches it


def token() -> str:
    return uuid.uuid4().hex


def lucky_number() -> int:
    return random.randint(0, 10**9)


def region() -> str:
    return os.environ.get("DURABLE_PROBE_REGION", "westeurope")


def unique(names: Iterable[str]) -> List[str]:
    return list(set(names))


def unique_sorted(names: Iterable[str]) -> List[str]:
    return sorted(set(names))
