"""Projects on disk: which files to lint, which function app each belongs to, V1 folders.

A project is a function app (the folder holding host.json), else the config folder. Scanning
lists every Python file and ``function.json`` of a project without reading the Python files.
"""
from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

from libcst.helpers import ModuleNameAndPackage, calculate_module_and_package

from .config import DEFAULT_EXCLUDE, Settings, relpath
from .model import V1Function

_SKIP_DIRS = frozenset(DEFAULT_EXCLUDE)
#: Largest function.json read; real ones are a few hundred bytes.
_MAX_FUNCTION_JSON = 64 * 1024


class UsageError(Exception):
    """Bad input from the user (a path that does not exist); the CLI exits with 2."""


@dataclass
class Project:
    """One function app: its root, where config paths are relative to, and the files to report."""

    root: Path
    config_root: Path
    settings: Settings
    targets: set[str] = field(default_factory=set)


def nearest_host_root(path: Path, stop: Optional[Path] = None) -> Optional[Path]:
    """The nearest folder above ``path`` that holds a host.json."""
    for folder in path.parents:
        if (folder / "host.json").is_file():
            return folder
        if stop is not None and folder == stop:
            break
    return None


def expand(paths: Sequence[str], settings: Settings, config_root: Path) -> list[tuple[Path, Path]]:
    """(file, argument) pairs for every Python file named or under a named folder.

    A named path that is neither a folder nor a regular file (a FIFO, a device) is kept: the
    engine reports it by name instead of reading it.
    """
    out: list[tuple[Path, Path]] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise UsageError(f"path does not exist: {raw}")
        p = p.resolve()
        if not p.is_dir():
            if p.name.endswith((".py", ".pyi")) and not settings.is_excluded(relpath(str(p), str(config_root))):
                out.append((p, p))
            continue
        for folder, dirs, files in os.walk(p):
            dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
            for name in sorted(files):
                if name.endswith(".py"):
                    f = Path(folder) / name
                    if not settings.is_excluded(relpath(str(f), str(config_root))):
                        out.append((f, p))
    return out


def scan(project: Project) -> tuple[dict[str, Path], dict[Path, V1Function], list[Path]]:
    """Module names, V1 function.json entries and every Python file of the project."""
    modules: dict[str, Path] = {}
    v1: dict[Path, V1Function] = {}
    files: list[Path] = []
    root = project.root
    for folder, dirs, names in os.walk(root):
        fpath = Path(folder)
        keep = []
        for d in sorted(dirs):
            if d in _SKIP_DIRS or d.startswith("."):
                continue
            sub = fpath / d
            if (sub / "host.json").is_file() and not (root / "host.json").is_file():
                continue  # a separate function app: its own project
            if project.settings.is_excluded(relpath(str(sub / "x"), str(project.config_root))):
                continue
            keep.append(d)
        dirs[:] = keep
        if "function.json" in names:
            fn = read_function_json(fpath / "function.json")
            if fn is not None:
                v1[(fpath / fn.script).resolve()] = fn
        for name in sorted(names):
            if not name.endswith(".py"):
                continue
            f = fpath / name
            if project.settings.is_excluded(relpath(str(f), str(project.config_root))):
                continue
            files.append(f)
            modules.setdefault(module_of(root, f).name, f)
    return modules, v1, files


_NAME_PROPERTY = {
    "orchestrationTrigger": "orchestration",
    "activityTrigger": "activity",
    "entityTrigger": "entity",
}


def read_function_json(path: Path) -> Optional[V1Function]:
    """The durable trigger a function.json declares, or None (unreadable files included)."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_FUNCTION_JSON:
            return None
        data = json.loads(path.read_text(encoding="utf-8-sig"))
        bindings = data.get("bindings", [])
    except Exception:
        return None
    for b in bindings if isinstance(bindings, list) else []:
        kind = b.get("type") if isinstance(b, dict) else None
        if kind in _NAME_PROPERTY:
            # The extension registers the binding's own name property if set, else the folder.
            named = b.get(_NAME_PROPERTY[kind])
            return V1Function(
                name=named if isinstance(named, str) and named else path.parent.name,
                kind=kind,
                script=str(data.get("scriptFile") or "__init__.py"),
                entry_point=str(data.get("entryPoint") or "main"),
            )
    return None


def module_of(root: Path, path: Path) -> ModuleNameAndPackage:
    """Module name and package of ``path`` in the project (``src/`` layouts included)."""
    base = root
    try:
        rel: Optional[Path] = path.relative_to(root)
    except ValueError:
        rel = None
    if rel is not None and rel.parts and rel.parts[0] == "src":
        base = root / "src"
    try:
        return calculate_module_and_package(str(base), str(path))
    except Exception:
        return ModuleNameAndPackage(path.stem, "")
