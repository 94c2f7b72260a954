"""Orchestration versions: how the host compares them and what host.json says about them.

An instance's version is fixed when it is created (ExecutionStarted ``Version``,
``context.version`` in the SDK from azure-functions-durable 1.3.3). With
``extensions.durableTask.defaultVersion`` set in host.json, new instances
without an explicit version get that one, and a worker checks every
orchestration work item it dispatches against it: ``versionMatchStrategy``
(None | Strict | CurrentOrOlder, default CurrentOrOlder) says which versions
it may run, ``versionFailureStrategy`` (Reject | Fail, default Reject) what it
does with the others (dtfx: TaskOrchestrationDispatcher.OnProcessWorkItemAsync;
Reject abandons the work item, so the instance stays as it is until a worker
with a newer version takes it; Fail completes the instance as Failed without
running the orchestrator code). Sources and caveats: docs/protocol.md,
"Orchestration versions".

This module is the one place those rules are written; the scheduler and the
replay tools ask it.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Tuple, Union

from .errors import AppDiscoveryError

__all__ = ["VersioningSettings", "compare_versions", "load_versioning", "version_problem",
           "VERSION_MISMATCH_MESSAGE", "VERSION_MISMATCH_TYPE", "MATCH_STRATEGIES",
           "FAILURE_STRATEGIES", "UNVERSIONED", "folder_version"]

MATCH_STRATEGIES: Tuple[str, ...] = ("None", "Strict", "CurrentOrOlder")
FAILURE_STRATEGIES: Tuple[str, ...] = ("Reject", "Fail")

#: DTFx's failure details for a Fail-strategy mismatch (dtfx: TaskOrchestrationDispatcher).
VERSION_MISMATCH_TYPE = "VersionMismatch"
VERSION_MISMATCH_MESSAGE = "Orchestration version did not comply with Worker Versioning"

#: The corpus folder name for instances created without a version.
UNVERSIONED = "unversioned"

_INT32_MAX = 2**31 - 1


@dataclass(frozen=True)
class VersioningSettings:
    """The versioning settings of one app (host.json ``extensions.durableTask``).

    Attributes:
        default_version: ``defaultVersion``: the version new instances get, and the
            worker's own version in the match check. None: versioning is off.
        match_strategy: ``versionMatchStrategy``: ``None``, ``Strict`` or ``CurrentOrOlder``.
        failure_strategy: ``versionFailureStrategy``: ``Reject`` or ``Fail``.
        source: where the settings were read (a host.json path), for messages.
    """

    default_version: Optional[str] = None
    match_strategy: str = "CurrentOrOlder"
    failure_strategy: str = "Reject"
    source: str = "host.json"

    def __post_init__(self) -> None:
        object.__setattr__(self, "match_strategy",
                           _choice(self.match_strategy, MATCH_STRATEGIES,
                                   "versionMatchStrategy", self.source))
        object.__setattr__(self, "failure_strategy",
                           _choice(self.failure_strategy, FAILURE_STRATEGIES,
                                   "versionFailureStrategy", self.source))

    @property
    def active(self) -> bool:
        """Whether the worker checks versions at all.

        Only with a ``defaultVersion``: without one the in-memory host runs every
        instance, whatever its version (see docs/protocol.md for why).
        """
        return bool(self.default_version) and self.match_strategy != "None"


def _choice(value: Any, allowed: Tuple[str, ...], key: str, source: str) -> str:
    # The Functions host binds enum settings case-insensitively.
    if isinstance(value, str):
        for option in allowed:
            if option.lower() == value.strip().lower():
                return option
    raise AppDiscoveryError(
        f"{source}: extensions.durableTask.{key} is {value!r}; it must be one of "
        f"{', '.join(allowed)} (the extension refuses to start with any other value).")


def _dotnet_version(text: str) -> Optional[Tuple[int, ...]]:
    """``System.Version.TryParse``: 2 to 4 dot-separated non-negative int32 components."""
    parts = text.split(".")
    if not 2 <= len(parts) <= 4:
        return None
    out = []
    for part in parts:
        part = part.strip()
        if part.startswith("+"):
            part = part[1:]
        if not part.isdigit() or not part.isascii():
            return None
        value = int(part)
        if value > _INT32_MAX:
            return None
        out.append(value)
    # System.Version leaves missing build/revision at -1, so "1.0" < "1.0.0".
    return tuple(out) + (-1,) * (4 - len(out))


def compare_versions(source: Optional[str], other: Optional[str]) -> int:
    """DTFx's ``VersioningSettings.CompareVersions``: negative, 0 or positive.

    Null, empty or blank versions are equal to each other and older than any other;
    two versions ``System.Version`` can parse ("1.0", "2.1.3", not "1" or "v2")
    compare numerically (so "1.0" < "1.0.0", as in .NET); anything else compares as
    case-insensitive ordinal text (so "10" < "9").
    """
    a_blank = source is None or not source.strip()
    b_blank = other is None or not other.strip()
    if a_blank or b_blank:
        return 0 if a_blank and b_blank else (-1 if a_blank else 1)
    assert source is not None and other is not None
    va, vb = _dotnet_version(source), _dotnet_version(other)
    if va is not None and vb is not None:
        return (va > vb) - (va < vb)
    ua, ub = _upper(source), _upper(other)
    return (ua > ub) - (ua < ub)


def _upper(text: str) -> str:
    # OrdinalIgnoreCase maps each UTF-16 unit to upper case on its own.
    return "".join(c.upper() if len(c.upper()) == 1 else c for c in text)


def version_problem(settings: Optional[VersioningSettings], version: Optional[str]
                    ) -> Optional[str]:
    """Why a worker with ``settings`` would not run an instance of ``version`` (None: it would)."""
    if settings is None or not settings.active:
        return None
    mine = settings.default_version
    if settings.match_strategy == "Strict":
        # dtfx compares with C#'s string inequality: exact, case-sensitive, null != "".
        if version != mine:
            return (f"version {_show(version)} is not the worker's version {_show(mine)} "
                    f"(versionMatchStrategy Strict, {settings.source})")
        return None
    if compare_versions(version, mine) > 0:
        return (f"version {_show(version)} is newer than the worker's version {_show(mine)} "
                f"(versionMatchStrategy CurrentOrOlder, {settings.source})")
    return None


def _show(version: Optional[str]) -> str:
    return "null" if version is None else repr(version)


def _lookup(obj: Mapping[str, Any], key: str) -> Any:
    # Functions host configuration keys are case-insensitive.
    for k, v in obj.items():
        if isinstance(k, str) and k.lower() == key.lower():
            return v
    return None


def load_versioning(root: Union[str, "os.PathLike[str]", None]) -> Optional[VersioningSettings]:
    """Read the versioning settings from ``root/host.json`` (None: no file, or no settings).

    Raises:
        AppDiscoveryError: host.json is not JSON, or a setting has a value the
            extension would refuse.
    """
    if root is None:
        return None
    path = Path(os.fspath(root)) / "host.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(_strip_comments(path.read_text(encoding="utf-8-sig")))
    except (OSError, ValueError) as exc:
        raise AppDiscoveryError(
            f"{path}: cannot read it as JSON ({exc}); the Functions host would not start "
            "with it either. Fix the file.") from None
    durable = _lookup(_lookup(data, "extensions") or {}, "durableTask") \
        if isinstance(data, Mapping) else None
    if not isinstance(durable, Mapping):
        return None
    default = _lookup(durable, "defaultVersion")
    match = _lookup(durable, "versionMatchStrategy")
    failure = _lookup(durable, "versionFailureStrategy")
    if default is None and match is None and failure is None:
        return None
    if default is not None and not isinstance(default, str):
        default = str(default)  # "defaultVersion": 2 binds as the string "2"
    return VersioningSettings(default or None,
                              "CurrentOrOlder" if match is None else match,
                              "Reject" if failure is None else failure, source=str(path))


def _strip_comments(text: str) -> str:
    """host.json may hold // and /* */ comments (the host's JSON reader allows them)."""
    out = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        c = text[i]
        if in_string:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_string = False
            i += 1
            continue
        if c == '"':
            in_string = True
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def folder_version(path: Union[str, "os.PathLike[str]"], orchestrator: str) -> Optional[str]:
    """The version a corpus path ``.../<orchestrator>/<version>/<name>.json`` names, if any.

    Only when the grandparent folder is the orchestrator's name (so an arbitrary
    folder is never read as a version); ``unversioned`` names no version. Used for
    imported histories whose export lost ExecutionStarted ``Version``.
    """
    where = Path(os.fspath(path))
    folder, above = where.parent.name, where.parent.parent.name
    if not folder or folder == UNVERSIONED or above.lower() != orchestrator.lower():
        return None
    return folder
