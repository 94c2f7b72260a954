"""Entity messages from orchestrations (placeholder until entities land)."""
from __future__ import annotations

from typing import Any, Dict

from .errors import DurableTestkitError


def send_from_orchestration(rt: Any, inst: Any, slot: Any, stamp: str) -> Dict[str, Any]:
    raise DurableTestkitError(
        f"Orchestration '{inst.orch.name}' (instance '{inst.instance_id}') called or signalled "
        "an entity; entities are not supported by this version of durable-testkit yet.")
