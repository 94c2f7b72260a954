"""durable-lint: flags replay-unsafe code in Durable Functions orchestrators.

Use :func:`lint_paths` for files and folders and :func:`lint_source` for text; both return a
frozen :class:`LintResult` of :class:`Finding` values. ``RULES`` lists every rule class.
"""
from __future__ import annotations

from .api import lint_paths, lint_source, write_fixes
from .config import ConfigError, Settings
from .discovery import UsageError
from .results import FileFix, Finding, InternalError, LintResult
from .rules import RULES, Rule

__all__ = [
    "RULES",
    "ConfigError",
    "FileFix",
    "Finding",
    "InternalError",
    "LintResult",
    "Rule",
    "Settings",
    "UsageError",
    "lint_paths",
    "lint_source",
    "write_fixes",
]
