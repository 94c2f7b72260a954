"""What the runtime reports about an instance: frozen results built from the host's records.

``OrchestrationResult`` and ``InstanceHistory`` are values: they snapshot the
records at the moment of the query and never drive the host.
"""
from __future__ import annotations

import copy
from typing import Any, Dict, Iterable

from .. import _sdk
from .. import _wire as w
from ..history import InstanceHistory, _played_events
from ..status import Divergence, OrchestrationResult
from .records import Instance

__all__ = ["result", "typed_history"]


def result(inst: Instance) -> OrchestrationResult:
    """The instance's state now, as ``get_status`` reports it."""
    events = tuple(inst.execution.history)  # a snapshot; typed and validated only if read
    name, iid = inst.orchestrator, inst.instance_id
    nd = inst.failure_details
    return OrchestrationResult(
        instance_id=iid, name=name, runtime_status=inst.status,
        input=w.loads(inst.execution.input_text), output=_own(inst.output),
        custom_status=_own(inst.custom_status), error=inst.error, created_time=inst.created,
        last_updated_time=inst.updated, execution_id=inst.execution_id,
        history_source=lambda: typed_history(name, iid, events),
        divergence=None if nd is None else Divergence(nd.event_index, nd.expected, nd.actual,
                                                      nd.detail))


_IMMUTABLE = (str, int, float, bool, type(None))


def _own(value: Any) -> Any:
    """A copy the result alone holds: a test that edits ``result.output`` (sorts a list,
    pops a key) must not change what the next ``rt.status`` reports."""
    return value if type(value) in _IMMUTABLE else copy.deepcopy(value)


def typed_history(name: str, instance_id: str, events: Iterable[Dict[str, Any]]
                  ) -> InstanceHistory:
    """Wire events as an exported history: every event marked played.

    The host made these events, so they take the typed parse's fast path.
    """
    return InstanceHistory(orchestrator=name, instance_id=instance_id,
                           events=_played_events(events), sdk_version=_sdk.sdk_version())
