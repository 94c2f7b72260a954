"""durable-testkit: test Azure Durable Functions (Python) orchestrators in process.

An in-memory host plays the Durable extension's part: it feeds the real
``azure-functions-durable`` orchestrator handles with history JSON, acts on the
actions they return, and keeps time on a virtual clock.
"""
from __future__ import annotations

from .app import AppFunctions, FunctionInfo, discover_app
from .client import InMemoryClient
from .clock import DEFAULT_START_TIME, VirtualClock
from .errors import (AppDiscoveryError, DurableTestkitError, HistoryFormatError,
                     HttpHandlerMissing, InvalidOperationError, NonDeterminismError,
                     OrchestrationStuck, RunawayFunction, RunawayOrchestrator, SerializationError,
                     UnknownFunctionError, UnknownInstanceError, UnknownRouteError)
from .history import (EventType, HistoryEvent, InstanceHistory, load_history, render_event,
                      render_timeline, save_history)
from .replay import ReplayCheck, ReplayResult, check_histories, replay_episode, replay_history
from .policy import Decision, HostDefaultPolicy, SchedulingPolicy, SeededPolicy
from .runtime import InMemoryRuntime, RuntimeStats
from .scenario import (HistoryBuilder, OrchestrationScenario, PendingTask, ScenarioError,
                       next_actions)
from .status import ActivityCall, Divergence, OrchestrationResult, OrchestrationRuntimeStatus

__all__ = [
    "ActivityCall",
    "AppDiscoveryError",
    "AppFunctions",
    "Decision",
    "DEFAULT_START_TIME",
    "Divergence",
    "check_histories",
    "discover_app",
    "DurableTestkitError",
    "EventType",
    "FunctionInfo",
    "HistoryBuilder",
    "HistoryEvent",
    "HistoryFormatError",
    "HostDefaultPolicy",
    "HttpHandlerMissing",
    "InMemoryClient",
    "InMemoryRuntime",
    "InstanceHistory",
    "InvalidOperationError",
    "load_history",
    "next_actions",
    "NonDeterminismError",
    "OrchestrationResult",
    "OrchestrationRuntimeStatus",
    "OrchestrationScenario",
    "OrchestrationStuck",
    "PendingTask",
    "render_event",
    "render_timeline",
    "replay_episode",
    "replay_history",
    "ReplayCheck",
    "ReplayResult",
    "RunawayFunction",
    "RunawayOrchestrator",
    "RuntimeStats",
    "save_history",
    "ScenarioError",
    "SchedulingPolicy",
    "SeededPolicy",
    "SerializationError",
    "UnknownFunctionError",
    "UnknownInstanceError",
    "UnknownRouteError",
    "VirtualClock",
]
