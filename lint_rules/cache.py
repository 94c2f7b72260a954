"""On-disk cache of per-file analyses, so pre-commit runs re-analyse only changed files.

A key covers the file's bytes and path, its module name, the options that change analysis, and
a fingerprint of durable-lint's own source and libcst's version, so an upgrade or a local edit
of a rule never serves stale results.

Entries are JSON, never pickle: a cache folder may be shared (CI caches are restored from
other branches' runs), and unpickling a planted file runs code. The key is no secret (anyone
can compute it from the file), so an entry is checked against the file it claims to describe:
known rule codes, positions inside the file, functions of this path and module. Anything
unexpected (wrong type or value, truncated, another version, not a regular file) is a miss.

Fix edits are never stored: text from a shared folder must not be written into sources. A
cached file whose findings could be fixed is analysed again (:func:`.fixes.wants_edits`).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Collection, Optional

import libcst

from .model import FileAnalysis, FunctionInfo, Report, Suppression, norm
from .rules import RULES_BY_CODE
from .sources import Source, Unreadable, read_bytes

_FORMAT = "3-json"
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


@dataclass(frozen=True)
class Expected:
    """What a cache entry must match: the file's path, module, lines and the rules run."""

    path: str
    module: str
    line_lengths: tuple[int, ...]  # in characters, as report columns count
    codes: frozenset[str]

    @classmethod
    def of(cls, source: Source, module: str, codes: Collection[str]) -> Expected:
        return cls(source.path, module, tuple(len(x) for x in source.text.split("\n")),
                   frozenset(codes))

    def position(self, line: int, col: int, slack: int = 0) -> bool:
        """Whether ``line``:``col`` is in the file (``slack`` allows just past its end)."""
        if not 1 <= line <= len(self.line_lengths) + slack:
            return False
        width = self.line_lengths[line - 1] if line <= len(self.line_lengths) else 0
        return 0 <= col <= width + slack


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

    def get(self, key: Optional[str], expected: Expected) -> Optional[FileAnalysis]:
        """The cached analysis for ``key``, or None for a miss (including a bad entry).

        Only a regular file is read (a FIFO planted there would block forever), and the entry
        must describe ``expected``.
        """
        if key is None or self.folder is None:
            return None
        raw = read_bytes(str(self.folder / key[:2] / key), _MAX_ENTRY_BYTES,
                         follow_symlinks=False)
        if isinstance(raw, Unreadable):
            return None
        try:
            found = from_json(json.loads(raw.decode("utf-8")), key, expected)
        except (ValueError, RecursionError):  # JSONDecodeError and bad values too
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
    # No "edit": the fix kind says the report is fixable; the edit itself is recomputed.
    return {"code": r.code, "line": r.line, "col": r.col, "message": r.message,
            "owner": r.owner, "fix": r.fix, "data": r.data}


def _function(f: FunctionInfo) -> dict[str, Any]:
    return {"fqn": f.fqn, "name": f.name, "path": f.path, "line": f.line,
            "params": list(f.params), "context_name": f.context_name,
            "context_names": sorted(f.context_names), "is_orchestrator": f.is_orchestrator,
            "registered_names": list(f.registered_names), "is_activity": f.is_activity,
            "is_generator": f.is_generator, "is_async": f.is_async,
            "schedules_tasks": f.schedules_tasks, "calls": f.calls, "self_calls": f.self_calls}


def to_json(a: FileAnalysis, key: str) -> dict[str, Any]:
    """A JSON-ready dict of ``a``; ``key`` is stored to catch a file copied under another name."""
    return {
        "format": _FORMAT, "key": key, "path": a.path, "module": a.module,
        "functions": [_function(f) for f in a.functions.values()],
        "aliases": a.aliases, "activities": a.activities, "orchestrations": a.orchestrations,
        "reports": [_report(r) for r in a.reports],
        "suppressions": [[s.line, s.col, s.first, s.last, list(s.codes)] for s in a.suppressions],
        "parse_error": _report(a.parse_error) if a.parse_error else None,
        "light": a.light, "loggers": a.loggers, "classes": a.classes,
    }


class _Bad(ValueError):
    """A cache entry that is not what this version writes for this file."""


#: Terminal control characters: a planted message must not drive the terminal it prints to.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


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
    if kind is str and _CONTROL.search(value):
        raise _Bad(name)
    return value


def _strs(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Bad("strings")
    return list(value)


def _str_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and not _CONTROL.search(v)
            for k, v in value.items()):
        raise _Bad("mapping")
    return dict(value)


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise _Bad(what)


def _read_report(d: Any, expected: Expected, owners: Collection[str]) -> Report:
    _check(isinstance(d, dict) and "edit" not in d, "edit")
    code = _get(d, "code", str)
    _check(code in expected.codes and code in RULES_BY_CODE, "code")
    line, col = _get(d, "line", int), _get(d, "col", int)
    _check(expected.position(line, col), "position")
    owner = _get(d, "owner", str, optional=True)
    _check(owner is None or owner in owners, "owner")
    fix = _get(d, "fix", str, optional=True)
    _check(fix in (None, "safe", "unsafe"), "fix")
    data = _str_map(_get(d, "data", dict))
    _check(all(k in data for k in RULES_BY_CODE[code].DATA), "data")
    return Report(code, line, col, _get(d, "message", str), owner, None, fix, data)


def _read_parse_error(d: Any, expected: Expected) -> Report:
    _check(isinstance(d, dict) and "edit" not in d, "edit")
    line, col = _get(d, "line", int), _get(d, "col", int)
    # A parser may point just past the last line or column.
    _check(_get(d, "code", str) == "DF001" and expected.position(line, col, slack=1), "error")
    _check(_get(d, "owner", str, optional=True) is None and d.get("fix") is None, "error")
    return Report("DF001", line, col, _get(d, "message", str), None)


def _read_function(d: Any, expected: Expected) -> FunctionInfo:
    flags = {name: _get(d, name, bool) for name in (
        "is_orchestrator", "is_activity", "is_generator", "is_async", "schedules_tasks")}
    fqn, name = _get(d, "fqn", str), _get(d, "name", str)
    prefix = f"{expected.module}." if expected.module else ""
    _check(norm(fqn).startswith(prefix) and fqn.rpartition(".")[2] == name, "fqn")
    _check(_get(d, "path", str) == expected.path, "path")
    line = _get(d, "line", int)
    _check(expected.position(line, 0), "line")
    return FunctionInfo(
        fqn=fqn, name=name, path=expected.path,
        line=line, params=tuple(_strs(_get(d, "params", list))),
        context_name=_get(d, "context_name", str, optional=True),
        context_names=frozenset(_strs(_get(d, "context_names", list))),
        registered_names=tuple(_strs(_get(d, "registered_names", list))),
        calls=_strs(_get(d, "calls", list)), self_calls=_strs(_get(d, "self_calls", list)),
        **flags)


def _read_suppression(s: Any, expected: Expected) -> Suppression:
    if (not isinstance(s, list) or len(s) != 5 or not all(
            isinstance(x, int) and not isinstance(x, bool) for x in s[:4])):
        raise _Bad("suppression")
    line, col, first, last = s[0], s[1], s[2], s[3]
    # A comment on the last line covers the line after it.
    _check(expected.position(line, col) and 1 <= first <= last
           and last <= len(expected.line_lengths) + 1, "suppression")
    return Suppression(line, col, first, last, tuple(_strs(s[4])))


def _classes(value: dict[Any, Any], expected: Expected) -> dict[str, list[str]]:
    prefix = f"{expected.module}." if expected.module else ""
    _check(all(isinstance(k, str) and norm(k).startswith(prefix) for k in value), "classes")
    return {k: _strs(v) for k, v in value.items()}


def from_json(d: Any, key: str, expected: Expected) -> Optional[FileAnalysis]:
    """The analysis of ``expected`` stored in ``d``, or None if anything about it is unexpected."""
    try:
        if _get(d, "format", str) != _FORMAT or _get(d, "key", str) != key:
            return None
        module = _get(d, "module", str)
        _check(_get(d, "path", str) == expected.path, "path")
        _check(module == expected.module or norm(module) == expected.module, "module")
        functions = [_read_function(f, expected) for f in _get(d, "functions", list)]
        by_fqn = {f.fqn: f for f in functions}
        parse_error = _get(d, "parse_error", dict, optional=True)
        return FileAnalysis(
            path=expected.path, module=module, functions=by_fqn,
            aliases=_str_map(_get(d, "aliases", dict)),
            activities=_strs(_get(d, "activities", list)),
            orchestrations=_strs(_get(d, "orchestrations", list)),
            reports=[_read_report(r, expected, by_fqn) for r in _get(d, "reports", list)],
            suppressions=[_read_suppression(s, expected) for s in _get(d, "suppressions", list)],
            parse_error=(_read_parse_error(parse_error, expected)
                         if parse_error is not None else None),
            light=_get(d, "light", bool), loggers=_strs(_get(d, "loggers", list)),
            classes=_classes(_get(d, "classes", dict), expected),
        )
    except _Bad:
        return None
