"""Result values returned by the durable-lint API: frozen, printable, comparable."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True, order=True)
class Finding:
    """One problem found in a file.

    Attributes:
        path: File path as given to the linter (or ``<string>`` for source).
        line: 1-based line.
        col: 0-based column.
        code: Rule code such as ``DF101``.
        message: What is wrong and what to do instead.
        severity: ``error``, ``warning`` or ``info``.
        orchestrators: Registered names of the orchestrators that reach this code.
        fix: ``"safe"``, ``"unsafe"`` or None when no automatic fix exists.
    """

    path: str
    line: int
    col: int
    code: str
    message: str
    severity: str = "error"
    orchestrators: tuple[str, ...] = ()
    fix: Optional[str] = None

    def __str__(self) -> str:
        where = f" (reached from {', '.join(self.orchestrators)})" if self.orchestrators else ""
        return f"{self.path}:{self.line}:{self.col + 1}: {self.code} {self.message}{where}"


@dataclass(frozen=True)
class FileFix:
    """Fixed source for one file; ``applied`` counts the fixes that made it."""

    path: str
    original: str
    fixed: str
    applied: int


@dataclass(frozen=True)
class InternalError:
    """The linter failed on a file: a bug in durable-lint, never in the user's code."""

    path: str
    error: str


@dataclass(frozen=True)
class LintResult:
    """Everything one lint run found.

    Attributes:
        findings: Findings left after suppression and selection (and after fixing, if asked).
        fixes: Files whose source the selected fixes would change (written only with ``--fix``).
        internal_errors: Files the linter could not process.
        files_seen: Python files considered, including the project files used as context.
        files_parsed: Files that were parsed (the rest were skipped by the cheap pre-filter).
        warnings: Configuration problems worth telling the user about.
    """

    findings: tuple[Finding, ...] = ()
    fixes: tuple[FileFix, ...] = ()
    internal_errors: tuple[InternalError, ...] = ()
    files_seen: int = 0
    files_parsed: int = 0
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when there are no findings and no internal errors."""
        return not self.findings and not self.internal_errors
