"""What the front ends (client, management API, loopback server, HTTP functions) need of a runtime.

They receive an ``InMemoryRuntime`` but type it as :class:`RuntimePort`, its
public operations, so they never import the runtime module (which imports
them lazily): no import cycle, and no reaching into private fields.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, List, Optional, Protocol

from ..status import OrchestrationResult
from .entities import EntityStatus

__all__ = ["RuntimePort"]


class RuntimePort(Protocol):
    server: Any  # the loopback server, once started

    @property
    def lock(self) -> Any: ...

    @property
    def app(self) -> Any: ...

    @property
    def now(self) -> datetime: ...

    @property
    def instance_ids(self) -> List[str]: ...

    def start(self, name: str, input: Any = None, instance_id: Optional[str] = None,
              version: Optional[str] = None) -> str: ...

    def raise_event(self, instance_id: str, event_name: str, data: Any = None) -> None: ...

    def terminate(self, instance_id: str, reason: str = "") -> None: ...

    def suspend(self, instance_id: str, reason: str = "") -> None: ...

    def resume(self, instance_id: str, reason: str = "") -> None: ...

    def purge(self, instance_id: str) -> int: ...

    def status(self, instance_id: str) -> OrchestrationResult: ...

    def run_until_idle(self) -> None: ...

    def advance(self, delta: timedelta) -> None: ...

    def signal_entity(self, entity_id: Any, operation_name: str, input: Any = None) -> None: ...

    def entity_state(self, entity_id: Any) -> Any: ...

    def entity_statuses(self) -> List[EntityStatus]: ...

    def client_binding(self) -> str: ...

    def close(self) -> None: ...
