"""Shared lint types: what a rule reports and what analysing one file yields.

These are plain records with no behaviour beyond naming, so every other module (the rules, the
per-file analysis, the project index, the cache) can use them without importing each other.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

#: V1 apps run as the package ``__app__``: ``from ..shared import x`` reaches above the app
#: folder. Such modules are analysed under a prefixed name and compared without it.
APP_PREFIX = "__app__"


def norm(name: str) -> str:
    """A qualified name without the ``__app__`` prefix used for V1 relative imports."""
    while name.startswith(APP_PREFIX + "."):
        name = name[len(APP_PREFIX) + 1:]
    return name


@dataclass
class Report:
    """A finding as a rule reports it, before reachability, suppression and selection.

    ``edit`` is a byte range of the UTF-8 source and its replacement text; ``data`` holds
    strings a rule's project-wide check needs (such as the activity name called).
    """

    code: str
    line: int
    col: int
    message: str
    owner: Optional[str]
    edit: Optional[tuple[int, int, str]] = None
    fix: Optional[str] = None  # "safe" | "unsafe"
    data: dict[str, str] = field(default_factory=dict)


@dataclass
class FunctionInfo:
    """What the index knows about one top-level function or method."""

    fqn: str
    name: str
    path: str
    line: int
    params: tuple[str, ...]
    context_name: Optional[str]
    context_names: frozenset[str]
    is_orchestrator: bool = False
    registered_names: tuple[str, ...] = ()
    is_activity: bool = False
    is_generator: bool = False
    is_async: bool = False
    schedules_tasks: bool = False  # calls context.call_activity(...) and the like
    calls: list[str] = field(default_factory=list)
    #: The calls made on ``self``/``cls``: an override in a subclass may run instead.
    self_calls: list[str] = field(default_factory=list)

    @property
    def display_name(self) -> str:
        return self.registered_names[0] if self.registered_names else self.name


@dataclass(frozen=True)
class V1Function:
    """A function.json folder and the one name the Durable extension registers for it.

    ``name`` is the trigger binding's ``activity``/``orchestration``/``entity`` property if
    set, else the folder name (the extension's ``ActivityTriggerAttribute.Activity`` rule).
    """

    name: str
    kind: str  # orchestrationTrigger | activityTrigger | entityTrigger
    script: str
    entry_point: str


@dataclass(frozen=True)
class Suppression:
    """A ``# noqa: DF101`` or ``# durable-lint: ignore[DF101]`` comment and the lines it covers."""

    line: int
    col: int
    first: int
    last: int
    codes: tuple[str, ...]  # empty: every code


@dataclass
class FileAnalysis:
    """Outcome of analysing one file: plain data, so it can be cached as JSON."""

    path: str
    module: str
    functions: dict[str, FunctionInfo] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    activities: list[str] = field(default_factory=list)
    orchestrations: list[str] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)
    suppressions: list[Suppression] = field(default_factory=list)
    parse_error: Optional[Report] = None
    internal_error: Optional[str] = None
    light: bool = False  # only registered activity names were collected
    loggers: list[str] = field(default_factory=list)  # module-level names that hold a logger
    #: Module-level classes (qualified names) and the qualified names of their bases, in order.
    classes: dict[str, list[str]] = field(default_factory=dict)
