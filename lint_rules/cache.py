"""On-disk cache of per-file analyses, so pre-commit runs re-analyse only changed files.

A key covers the file's bytes and path, its module name, the options that change analysis, and
a fingerprint of durable-lint's own source and libcst's version, so an upgrade or a local edit
of a rule never serves stale results.

Entries are JSON, never pickle: a cache folder may be shared (CI caches are restored from
other branches' runs), and unpickling a planted file runs code. Every entry is validated field
by field on load; anything unexpected (wrong type, truncated, another version) is a miss.
"""
from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

import libcst

from .model import FileAnalysis, FunctionInfo, Report, Suppression

_FORMAT = "2-json"
#: Entries larger than this are not read (no valid analysis of an analysable file is).
_MAX_ENTRY_BYTES = 64 * 1024 * 1024


def default_cache_dir() -> str:
    """``$DURABLE_LINT_CACHE_DIR``, else ``$XDG_CACHE_HOME/durable-lint`` or ``~/.cache/...``."""
    explicit = os.environ.get("DURABLE_LINT_CACHE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "durable-lint")


@lru_cache(maxsize=1)
def _fingerprint() -> bytes:
    digest = hashlib.sha1(f"{_FORMAT}:{getattr(libcst, 'LIBCST_VERSION', '')}".encode())
    digest.update(repr(getattr(libcst, "__version__", "")).encode())
    package = Path(__file__).parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.digest()


class AnalysisCache:
    """A folder of cached analyses; ``AnalysisCache(None)`` caches nothing."""

    def __init__(self, folder: Optional[str]) -> None:
        self.folder = Path(folder) if folder else None
        self.hits = 0

    def key(self, source: bytes, *parts: Any) -> Optional[str]:
        if self.folder is None:
            return None
        digest = hashlib.sha1(_fingerprint())
        digest.update(repr(parts).encode("utf-8", errors="replace"))
        digest.update(source)
        return digest.hexdigest()

    def get(self, key: Optional[str]) -> Optional[FileAnalysis]:
        """The cached analysis for ``key``, or None for a miss (including a bad entry)."""
        if key is None or self.folder is None:
            return None
        try:
            with open(self.folder / key[:2] / key, "rb") as fh:
                raw = fh.read(_MAX_ENTRY_BYTES + 1)
            if len(raw) > _MAX_ENTRY_BYTES:
                return None
            found = from_json(json.loads(raw.decode("utf-8")), key)
        except (OSError, ValueError, RecursionError):  # JSONDecodeError and bad values too
            return None
        if found is not None:
            self.hits += 1
        return found

    def put(self, key: Optional[str], analysis: FileAnalysis) -> None:
        if key is None or self.folder is None or analysis.internal_error:
            return
        target = self.folder / key[:2] / key
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(f".{os.getpid()}.tmp")
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(to_json(analysis, key), fh, separators=(",", ":"))
            os.replace(tmp, target)
        except (OSError, ValueError, TypeError):
            pass  # a read-only or full disk only costs speed


# -- JSON codec -----------------------------------------------------------------------------


def _report(r: Report) -> dict[str, Any]:
    return {"code": r.code, "line": r.line, "col": r.col, "message": r.message,
            "owner": r.owner, "edit": list(r.edit) if r.edit else None, "fix": r.fix,
            "data": r.data}


def _function(f: FunctionInfo) -> dict[str, Any]:
    return {"fqn": f.fqn, "name": f.name, "path": f.path, "line": f.line,
            "params": list(f.params), "context_name": f.context_name,
            "context_names": sorted(f.context_names), "is_orchestrator": f.is_orchestrator,
            "registered_names": list(f.registered_names), "is_activity": f.is_activity,
            "is_generator": f.is_generator, "is_async": f.is_async,
            "schedules_tasks": f.schedules_tasks, "calls": f.calls}


def to_json(a: FileAnalysis, key: str) -> dict[str, Any]:
    """A JSON-ready dict of ``a``; ``key`` is stored to catch a file copied under another name."""
    return {
        "format": _FORMAT, "key": key, "path": a.path, "module": a.module,
        "functions": [_function(f) for f in a.functions.values()],
        "aliases": a.aliases, "activities": a.activities, "orchestrations": a.orchestrations,
        "reports": [_report(r) for r in a.reports],
        "suppressions": [[s.line, s.col, s.first, s.last, list(s.codes)] for s in a.suppressions],
        "parse_error": _report(a.parse_error) if a.parse_error else None,
        "light": a.light, "loggers": a.loggers,
    }


class _Bad(ValueError):
    """A cache entry that is not what this version writes."""


def _get(d: Any, name: str, kind: Any, optional: bool = False) -> Any:
    if not isinstance(d, dict) or name not in d:
        raise _Bad(name)
    value = d[name]
    if optional and value is None:
        return None
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise _Bad(name)
    if not isinstance(value, kind):
        raise _Bad(name)
    return value


def _strs(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Bad("strings")
    return list(value)


def _str_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise _Bad("mapping")
    return dict(value)


def _read_report(d: Any) -> Report:
    edit = _get(d, "edit", list, optional=True)
    if edit is not None:
        if (len(edit) != 3 or not all(isinstance(x, int) and not isinstance(x, bool)
                                      for x in edit[:2]) or not isinstance(edit[2], str)):
            raise _Bad("edit")
        edit = (edit[0], edit[1], edit[2])
    fix = _get(d, "fix", str, optional=True)
    if fix not in (None, "safe", "unsafe"):
        raise _Bad("fix")
    return Report(_get(d, "code", str), _get(d, "line", int), _get(d, "col", int),
                  _get(d, "message", str), _get(d, "owner", str, optional=True), edit, fix,
                  _str_map(_get(d, "data", dict)))


def _read_function(d: Any) -> FunctionInfo:
    flags = {name: _get(d, name, bool) for name in (
        "is_orchestrator", "is_activity", "is_generator", "is_async", "schedules_tasks")}
    return FunctionInfo(
        fqn=_get(d, "fqn", str), name=_get(d, "name", str), path=_get(d, "path", str),
        line=_get(d, "line", int), params=tuple(_strs(_get(d, "params", list))),
        context_name=_get(d, "context_name", str, optional=True),
        context_names=frozenset(_strs(_get(d, "context_names", list))),
        registered_names=tuple(_strs(_get(d, "registered_names", list))),
        calls=_strs(_get(d, "calls", list)), **flags)


def _read_suppression(s: Any) -> Suppression:
    if (not isinstance(s, list) or len(s) != 5 or not all(
            isinstance(x, int) and not isinstance(x, bool) for x in s[:4])):
        raise _Bad("suppression")
    return Suppression(s[0], s[1], s[2], s[3], tuple(_strs(s[4])))


def from_json(d: Any, key: str) -> Optional[FileAnalysis]:
    """The analysis stored in ``d``, or None if anything about it is unexpected."""
    try:
        if _get(d, "format", str) != _FORMAT or _get(d, "key", str) != key:
            return None
        functions = [_read_function(f) for f in _get(d, "functions", list)]
        parse_error = _get(d, "parse_error", dict, optional=True)
        return FileAnalysis(
            path=_get(d, "path", str), module=_get(d, "module", str),
            functions={f.fqn: f for f in functions},
            aliases=_str_map(_get(d, "aliases", dict)),
            activities=_strs(_get(d, "activities", list)),
            orchestrations=_strs(_get(d, "orchestrations", list)),
            reports=[_read_report(r) for r in _get(d, "reports", list)],
            suppressions=[_read_suppression(s) for s in _get(d, "suppressions", list)],
            parse_error=_read_report(parse_error) if parse_error is not None else None,
            light=_get(d, "light", bool), loggers=_strs(_get(d, "loggers", list)),
        )
    except _Bad:
        return None
