"""durable-testkit: test Azure Durable Functions (Python) orchestrators in process.

An in-memory host plays the Durable extension's part: it feeds the real
``azure-functions-durable`` orchestrator handles with history JSON, acts on the
actions they return, and keeps time on a virtual clock.

Names are imported on first use (PEP 562), so importing a subpackage that needs
none of them (``durable_testkit.lint_rules``, the pytest plugin in a run that does
not use it) does not import the Azure SDK.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Dict, List

# public name -> the module that defines it
_EXPORTS: Dict[str, str] = {
    "ActivityCall": "status",
    "AppDiscoveryError": "errors",
    "AppFunctions": "app",
    "check_at_least_once": "fault_check",
    "check_histories": "replay",
    "check_history": "replay",
    "compare_versions": "versions",
    "recorded_version": "replay",
    "corpus_path": "importers",
    "Decision": "policy",
    "DecisionKind": "policy",
    "DEFAULT_START_TIME": "clock",
    "discover_app": "app",
    "Divergence": "status",
    "DeterminismProbeError": "errors",
    "DeterminismProbeWarning": "errors",
    "VersionMismatchError": "errors",
    "CoverageUnavailableError": "errors",
    "DurableTestkitError": "errors",
    "EventType": "history",
    "FaultCheckFailed": "errors",
    "FaultCheckReport": "fault_check",
    "FaultPoint": "fault_check",
    "FaultPointResult": "fault_check",
    "FunctionInfo": "app",
    "HistoryBuilder": "scenario",
    "HistoryEvent": "history",
    "HistoryFormatError": "errors",
    "HistoryImportError": "errors",
    "HostDefaultPolicy": "policy",
    "HttpHandlerMissing": "errors",
    "import_histories": "importers",
    "import_history": "importers",
    "import_to_corpus": "importers",
    "ImportOutcome": "importers",
    "InMemoryClient": "client",
    "InMemoryRuntime": "runtime",
    "InputFileError": "errors",
    "InstanceHistory": "history",
    "InvalidOperationError": "errors",
    "load_history": "history",
    "load_versioning": "versions",
    "next_actions": "scenario",
    "NonDeterminismError": "errors",
    "OrchestrationResult": "status",
    "OrchestrationRuntimeStatus": "status",
    "OrchestrationScenario": "scenario",
    "OrchestrationStuck": "errors",
    "PendingTask": "scenario",
    "PlanMismatch": "errors",
    "PlannedPolicy": "policy",
    "ProtocolError": "errors",
    "render_event": "history",
    "render_timeline": "history",
    "replay_episode": "replay",
    "replay_history": "replay",
    "ReplayCheck": "replay",
    "ReplayResult": "replay",
    "RunawayFunction": "errors",
    "RunawayOrchestrator": "errors",
    "SpinningOrchestrator": "errors",
    "DriveTimeout": "errors",
    "UnknownMockTarget": "errors",
    "FunctionLoadError": "errors",
    "PayloadRejected": "errors",
    "HostLimitExceeded": "errors",
    "LongRunningOrchestrator": "errors",
    "RuntimeStats": "runtime",
    "save_history": "history",
    "ScenarioError": "errors",
    "SchedulingPolicy": "policy",
    "SeededPolicy": "policy",
    "SerializationError": "errors",
    "TaskKind": "scenario",
    "TraceEntry": "policy",
    "UnknownFunctionError": "errors",
    "UnknownInstanceError": "errors",
    "UnknownRouteError": "errors",
    "VersioningSettings": "versions",
    "VirtualClock": "clock",
    "WorkKind": "policy",
    "WorkSubject": "policy",
}

__all__ = sorted(_EXPORTS, key=str.lower)


# Public submodules reached as attributes (``durable_testkit.faults.crash_episode(...)``).
_SUBMODULES = frozenset({"app", "client", "clock", "errors", "faults", "fault_check", "history",
                         "importers", "policy", "replay", "runtime", "scenario", "status",
                         "strategies", "versions"})


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        if name in _SUBMODULES:
            return importlib.import_module(f"{__name__}.{name}")
        raise AttributeError(f"module 'durable_testkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later reads skip this hook
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover - what type checkers and IDEs see
    from .app import AppFunctions, FunctionInfo, discover_app
    from .client import InMemoryClient
    from .clock import DEFAULT_START_TIME, VirtualClock
    from .errors import (AppDiscoveryError, DurableTestkitError, FaultCheckFailed,
                         HistoryFormatError,
                         HistoryImportError, HttpHandlerMissing, InputFileError, InvalidOperationError, NonDeterminismError,
                         OrchestrationStuck, ProtocolError, RunawayFunction, RunawayOrchestrator,
                         ScenarioError, SerializationError, UnknownFunctionError,
                         UnknownInstanceError, UnknownRouteError)
    from .errors import DriveTimeout, FunctionLoadError, SpinningOrchestrator, UnknownMockTarget
    from .errors import HostLimitExceeded, LongRunningOrchestrator, PayloadRejected
    from .fault_check import (FaultCheckReport, FaultPoint, FaultPointResult,
                              check_at_least_once)
    from .importers import (ImportOutcome, corpus_path, import_histories, import_history,
                            import_to_corpus)
    from .history import (EventType, HistoryEvent, InstanceHistory, load_history, render_event,
                          render_timeline, save_history)
    from .errors import (CoverageUnavailableError, DeterminismProbeError,
                         DeterminismProbeWarning, PlanMismatch, VersionMismatchError)
    from .policy import (Decision, DecisionKind, HostDefaultPolicy, PlannedPolicy,
                         SchedulingPolicy, SeededPolicy, TraceEntry, WorkKind, WorkSubject)
    from .replay import (ReplayCheck, ReplayResult, check_histories, check_history,
                         recorded_version, replay_episode, replay_history)
    from .runtime import InMemoryRuntime, RuntimeStats
    from .scenario import (HistoryBuilder, OrchestrationScenario, PendingTask, TaskKind,
                           next_actions)
    from .versions import VersioningSettings, compare_versions, load_versioning
    from .status import ActivityCall, Divergence, OrchestrationResult, OrchestrationRuntimeStatus
