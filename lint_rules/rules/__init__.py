"""The rules of durable-lint, one class per module; ``RULES`` lists them in code order."""
from __future__ import annotations

from .base import Invalid, Rule, Valid
from .df001_parse_error import ParseError
from .df002_unused_suppression import UnusedSuppression
from .df100_banned_by_config import ConfiguredBannedCall
from .df101_wall_clock_datetime import WallClockDatetime
from .df102_wall_clock_time import WallClockTime
from .df103_random_uuid import RandomUuid
from .df104_random import RandomNumbers
from .df105_unordered_iteration import UnorderedIteration
from .df106_environment import EnvironmentRead
from .df107_file_io import FileSystemAccess
from .df108_network_and_processes import NetworkAccess
from .df109_global_state import GlobalState
from .df110_sleep import Sleep
from .df111_threads import Concurrency
from .df112_replay_logging import ReplayLogging
from .df201_async_orchestrator import AsyncOrchestrator
from .df202_never_yields import NeverYields
from .df203_task_not_yielded import TaskNotYielded
from .df204_non_task_yield import NonTaskYield
from .df205_missing_yield_from import MissingYieldFrom
from .df207_handler_around_yield import HandlerAroundYield
from .df208_work_after_continue_as_new import WorkAfterContinueAsNew
from .df209_unbounded_loop import UnboundedLoop
from .df210_uncancelled_timer import UncancelledTimer
from .df301_unknown_activity import UnknownActivity
from .df302_unknown_sub_orchestrator import UnknownSubOrchestrator
from .df303_not_an_activity import NotAnActivity
from .df304_extra_binding import ExtraBinding
from .df305_context_name import ContextNameMismatch

RULES: tuple[type[Rule], ...] = (
    ParseError, UnusedSuppression, ConfiguredBannedCall, WallClockDatetime, WallClockTime,
    RandomUuid, RandomNumbers, UnorderedIteration, EnvironmentRead, FileSystemAccess,
    NetworkAccess, GlobalState, Sleep, Concurrency, ReplayLogging, AsyncOrchestrator, NeverYields,
    TaskNotYielded, NonTaskYield, MissingYieldFrom, HandlerAroundYield, WorkAfterContinueAsNew,
    UnboundedLoop, UncancelledTimer, UnknownActivity, UnknownSubOrchestrator, NotAnActivity,
    ExtraBinding, ContextNameMismatch,
)
RULES_BY_CODE: dict[str, type[Rule]] = {rule.CODE: rule for rule in RULES}

__all__ = ["RULES", "RULES_BY_CODE", "Invalid", "Rule", "Valid"]
