"""Settings for a lint run, read from ``[tool.durable-lint]`` in pyproject.toml.

Example::

    [tool.durable-lint]
    select = ["DF"]
    ignore = ["DF112"]
    exclude = ["tests/*"]
    per-file-ignores = { "legacy/*.py" = ["DF1"] }
    banned-calls = { "mycorp.clock.now" = "use context.current_utc_datetime" }
    deterministic-calls = ["mycorp.ids.stable_id"]
    external-activities = ["SendMail"]
    external-orchestrators = ["Billing"]
    target-version = "3.11"      # grammar to parse with (default: the running Python's)
    max-file-bytes = 262144      # larger files get DF001 instead of analysis
"""
from __future__ import annotations

import fnmatch
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Collection, Optional

from .sources import DEFAULT_MAX_FILE_BYTES, parse_version

DEFAULT_EXCLUDE = (
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    "__pycache__",
    "node_modules",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".python_packages",
    "build",
    "dist",
)

_KEYS = {
    "select",
    "ignore",
    "exclude",
    "per-file-ignores",
    "banned-calls",
    "deterministic-calls",
    "external-activities",
    "external-orchestrators",
    "target-version",
    "max-file-bytes",
}


class ConfigError(Exception):
    """The ``[tool.durable-lint]`` table is invalid; the message says which key and why."""


@dataclass(frozen=True)
class Settings:
    """Options of one lint run (config file merged with command line)."""

    select: tuple[str, ...] = ("DF",)
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    banned_calls: tuple[tuple[str, str], ...] = ()
    deterministic_calls: tuple[str, ...] = ()
    external_activities: tuple[str, ...] = ()
    external_orchestrators: tuple[str, ...] = ()
    fix: bool = False
    unsafe_fixes: bool = False
    prefilter: bool = True
    jobs: Optional[int] = None
    cache_dir: Optional[str] = None
    config_path: Optional[str] = None
    target_version: Optional[str] = None  # "3.11"; None: the running interpreter's
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def is_selected(self, code: str, relpath: str = "") -> bool:
        """Prefix matching: ``DF1`` selects every DF1xx rule; ignore wins over select."""
        if not any(code.startswith(p) for p in self.select):
            return False
        if any(code.startswith(p) for p in self.ignore):
            return False
        for pattern, codes in self.per_file_ignores:
            if _glob_match(relpath, pattern) and any(code.startswith(p) for p in codes):
                return False
        return True

    def is_excluded(self, relpath: str) -> bool:
        """Whether a path relative to the project root matches ``exclude`` or a default."""
        parts = relpath.split("/")
        if any(part in DEFAULT_EXCLUDE for part in parts[:-1]):
            return True
        return any(_glob_match(relpath, pattern) for pattern in self.exclude)

    def is_deterministic(self, qualname: str) -> bool:
        """Calls the user declared deterministic: not followed, never flagged."""
        return any(
            qualname == d or qualname.startswith(d + ".") for d in self.deterministic_calls
        )


def _glob_match(relpath: str, pattern: str) -> bool:
    pattern = pattern.rstrip("/")
    if fnmatch.fnmatchcase(relpath, pattern):
        return True
    # A pattern naming a folder excludes what is inside it.
    return fnmatch.fnmatchcase(relpath, pattern + "/*")


def find_pyproject(start: Path) -> Optional[Path]:
    """The nearest pyproject.toml at or above ``start``."""
    start = start.resolve()
    for folder in [start, *start.parents] if start.is_dir() else start.parents:
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _load_toml(path: Path) -> Optional[dict[str, Any]]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.9/3.10 only
        try:
            import tomli as tomllib
        except ImportError:
            return None
    with open(path, "rb") as fh:
        data: dict[str, Any] = tomllib.load(fh)
        return data


def load_settings(pyproject: Optional[Path], known_codes: Collection[str] = (),
                  **overrides: Any) -> Settings:
    """Settings from ``pyproject`` (may be None), then keyword ``overrides`` that are not None.

    ``known_codes`` are the rule codes that ``select`` and ``ignore`` must match.

    Raises:
        ConfigError: the table has an unknown key or a value of the wrong type.
    """
    settings = Settings()
    warnings: list[str] = []
    if pyproject is not None:
        try:
            data = _load_toml(pyproject)
        except Exception as exc:  # tomllib.TOMLDecodeError and OSError
            raise ConfigError(f"{pyproject}: cannot read TOML: {exc}") from exc
        if data is None:
            if "[tool.durable-lint]" in pyproject.read_text(encoding="utf-8", errors="replace"):
                warnings.append(
                    f"{pyproject}: [tool.durable-lint] ignored: reading pyproject.toml needs "
                    "Python 3.11+ or the 'tomli' package (pip install tomli)"
                )
            table: dict[str, Any] = {}
        else:
            table = data.get("tool", {}).get("durable-lint", {})
        settings = _apply_table(settings, table, str(pyproject))
        settings = replace(settings, config_path=str(pyproject))
    clean = {k: v for k, v in overrides.items() if v is not None}
    settings = replace(settings, **clean)
    _check_codes(settings, known_codes)
    _check_version(settings.target_version, "target-version")
    return replace(settings, warnings=tuple(warnings))


def _check_version(value: Optional[str], key: str) -> None:
    if value is not None:
        try:
            parse_version(value)
        except ValueError as exc:
            raise ConfigError(f"{key}: {exc}") from None


def _check_codes(settings: Settings, known: Collection[str]) -> None:
    """A selector that matches no rule is a typo that would silently disable linting."""
    if not known:
        return
    for key, prefixes in (("select", settings.select), ("ignore", settings.ignore)):
        for prefix in prefixes:
            if not any(code.startswith(prefix) for code in known):
                raise ConfigError(
                    f"{key}: '{prefix}' matches no rule (codes are prefix-matched: DF1 means "
                    f"every DF1xx rule). Rules: {', '.join(sorted(known))}; "
                    "'durable-lint rule' lists them.")


def _strings(value: Any, key: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: [tool.durable-lint] {key} must be a list of strings, got {value!r}")
    return tuple(value)


def _apply_table(settings: Settings, table: dict[str, Any], where: str) -> Settings:
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) in [tool.durable-lint]: {', '.join(unknown)}; "
            f"known keys: {', '.join(sorted(_KEYS))}"
        )
    changes: dict[str, Any] = {}
    for key in ("select", "ignore", "exclude", "deterministic-calls", "external-activities",
                "external-orchestrators"):
        if key in table:
            changes[key.replace("-", "_")] = _strings(table[key], key, where)
    if "per-file-ignores" in table:
        pfi = table["per-file-ignores"]
        if not isinstance(pfi, dict):
            raise ConfigError(f"{where}: [tool.durable-lint] per-file-ignores must be a table")
        changes["per_file_ignores"] = tuple(
            (pattern, _strings(codes, f"per-file-ignores.{pattern}", where))
            for pattern, codes in pfi.items()
        )
    if "target-version" in table:
        value = table["target-version"]
        if not isinstance(value, str):
            raise ConfigError(f"{where}: [tool.durable-lint] target-version must be a string "
                              f"such as \"3.11\", got {value!r}")
        changes["target_version"] = value
    if "max-file-bytes" in table:
        value = table["max-file-bytes"]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{where}: [tool.durable-lint] max-file-bytes must be a positive "
                              f"integer, got {value!r}")
        changes["max_file_bytes"] = value
    if "banned-calls" in table:
        banned = table["banned-calls"]
        if not isinstance(banned, dict) or not all(isinstance(v, str) for v in banned.values()):
            raise ConfigError(
                f"{where}: [tool.durable-lint] banned-calls must map a qualified name to advice, "
                'e.g. { "mycorp.clock.now" = "use context.current_utc_datetime" }'
            )
        changes["banned_calls"] = tuple(banned.items())
    return replace(settings, **changes)


def relpath(path: str, root: str) -> str:
    """``path`` relative to ``root`` with forward slashes (``path`` itself if outside)."""
    try:
        rel = os.path.relpath(path, root)
    except ValueError:
        return path.replace(os.sep, "/")
    if rel.startswith(".."):
        return path.replace(os.sep, "/")
    return rel.replace(os.sep, "/")
