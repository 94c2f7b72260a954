"""Replay coverage: which lines and branches of each orchestrator a corpus's replays run.

A replay check only proves something for the code paths its histories reach: an
orchestrator branch no stored history takes is a change CI cannot judge. This
module measures, with coverage.py, the lines and branches of each orchestrator
(and of the app's helper functions it calls) that the replays execute, per
orchestrator, and renders the table the CLI and the pytest plugin print.

It never disturbs another measurement running in the same process (pytest-cov,
``coverage run``): it uses its own ``coverage.Coverage(data_file=None)``, started
only around each replay; coverage.py pauses the tracer already installed while
ours runs and puts it back when ours stops (its collectors form a stack), so the
outer measurement loses only the lines run inside the replays themselves.
"""
from __future__ import annotations

import contextlib
import inspect
import json
import os
import re
import tempfile
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Sequence, Set, Tuple

from .errors import CoverageUnavailableError

__all__ = ["ReplayCoverage", "CoverageRow", "CoverageReport", "format_report"]


@dataclass(frozen=True)
class CoverageRow:
    """One orchestrator's figures: its own function plus the helpers its replays ran.

    Attributes:
        orchestrator: the orchestrator's name.
        histories: how many histories of it were replayed.
        statements / covered_statements: line counts.
        branches / covered_branches: branch counts (coverage.py's arcs).
        functions: the functions counted, as ``file:qualname``.
        missing: uncovered lines per file, as ``(file, "12-14, 20")``.
    """

    orchestrator: str
    histories: int
    statements: int
    covered_statements: int
    branches: int
    covered_branches: int
    functions: Tuple[str, ...]
    missing: Tuple[Tuple[str, str], ...]

    @property
    def percent(self) -> float:
        """coverage.py's figure: covered lines and branches over all of them."""
        total = self.statements + self.branches
        return 100.0 if total == 0 else \
            100.0 * (self.covered_statements + self.covered_branches) / total


@dataclass(frozen=True)
class CoverageReport:
    """The per-orchestrator rows and the total over every function they count."""

    rows: Tuple[CoverageRow, ...]
    statements: int
    covered_statements: int
    branches: int
    covered_branches: int

    @property
    def percent(self) -> float:
        total = self.statements + self.branches
        return 100.0 if total == 0 else \
            100.0 * (self.covered_statements + self.covered_branches) / total


def _coverage_module(what: str) -> Any:
    try:
        import coverage
    except ImportError:
        raise CoverageUnavailableError(what) from None
    return coverage


class ReplayCoverage:
    """Measures replays of one app's orchestrators; ``measuring(name)`` wraps each replay.

    Args:
        functions: the discovered app (:class:`durable_testkit.app.AppFunctions`).
        what: names the feature in the error raised when coverage.py is missing.

    Raises:
        CoverageUnavailableError: coverage.py is not installed.
    """

    def __init__(self, functions: Any, what: str = "replay coverage") -> None:
        coverage = _coverage_module(what)
        self.functions = functions
        self._orchestrators: Dict[str, Tuple[str, str]] = {}  # name -> (file, qualname)
        skip: Set[Tuple[str, str]] = set()  # functions that are not helpers
        folders: Set[str] = set()
        for info in functions.functions.values():
            located = _locate(info.user_function)
            if located is None:
                continue
            if info.kind == "orchestrator":
                self._orchestrators[info.name] = located
                folders.add(os.path.dirname(located[0]))
            else:
                skip.add(located)
        self._not_helpers = skip | set(self._orchestrators.values())
        root = getattr(functions, "root", None)
        if root:
            folders = {os.path.realpath(root)}
        include = [os.path.join(f, "*") for f in sorted(folders)] or ["<none>"]
        self.histories: Dict[str, int] = {}
        self._cov = coverage.Coverage(data_file=None, branch=True, include=include,
                                      config_file=False)
        self._started = False

    @contextlib.contextmanager
    def measuring(self, orchestrator: str) -> Iterator[None]:
        """Measure what runs inside, attributed to ``orchestrator``."""
        self.histories[orchestrator] = self.histories.get(orchestrator, 0) + 1
        self._cov.start()
        try:
            self._cov.switch_context(orchestrator)
            yield
        finally:
            self._cov.stop()

    def report(self) -> CoverageReport:
        """The figures so far: one row per orchestrator of the app, replayed or not."""
        rows = []
        counted: Set[Tuple[str, str]] = set()
        for name in sorted(self._orchestrators, key=str.lower):
            regions = self._regions("^" + re.escape(name) + "$")
            own = self._orchestrators[name]
            chosen = {key: region for key, region in regions.items()
                      if key == own or (key not in self._not_helpers
                                        and region["executed_lines"])}
            counted.update(chosen)
            rows.append(_row(name, self.histories.get(name, 0), chosen))
        everything = self._regions(None)
        total = [everything[k] for k in counted if k in everything]
        return CoverageReport(
            tuple(rows),
            sum(r["summary"]["num_statements"] for r in total),
            sum(r["summary"]["covered_lines"] for r in total),
            sum(r["summary"].get("num_branches", 0) for r in total),
            sum(r["summary"].get("covered_branches", 0) for r in total))

    def _regions(self, context: Optional[str]) -> Dict[Tuple[str, str], Dict[str, Any]]:
        """coverage.py's JSON report, as function regions keyed by (file, qualname)."""
        fd, path = tempfile.mkstemp(suffix=".json", prefix="dtk-replay-coverage-")
        os.close(fd)
        try:
            try:
                self._cov.json_report(outfile=path, contexts=[context] if context else None)
            except Exception as exc:  # coverage.py's NoDataError: "No data to report."
                if "No data" not in str(exc):
                    raise
                return self._static_regions()
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        finally:
            os.unlink(path)
        regions = self._static_regions()
        for file, entry in (data.get("files") or {}).items():
            real = os.path.realpath(file)
            for qualname, region in (entry.get("functions") or {}).items():
                if qualname:
                    regions[(real, qualname)] = region
        return regions

    def _static_regions(self) -> Dict[Tuple[str, str], Dict[str, Any]]:
        """Orchestrators nothing replayed yet: their statements, none covered."""
        out: Dict[Tuple[str, str], Dict[str, Any]] = {}
        for file, qualname in self._orchestrators.values():
            try:
                analysis = self._cov.analysis2(file)
            except Exception:  # noqa: BLE001 - no source: nothing to count
                continue
            lines = _function_lines(file, qualname)
            statements = [n for n in analysis[1] if n in lines]
            out[(file, qualname)] = {
                "executed_lines": [], "missing_lines": statements,
                "summary": {"num_statements": len(statements), "covered_lines": 0,
                            "num_branches": 0, "covered_branches": 0}}
        return out


def _locate(fn: Any) -> Optional[Tuple[str, str]]:
    target = inspect.unwrap(fn) if callable(fn) else fn
    try:
        file = inspect.getsourcefile(target)
    except TypeError:
        return None
    qualname = getattr(target, "__qualname__", None)
    if file is None or not qualname:
        return None
    return os.path.realpath(file), qualname


def _function_lines(file: str, qualname: str) -> Set[int]:
    import ast

    try:
        with open(file, encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
    except (OSError, SyntaxError, ValueError):
        return set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                node.name == qualname.rsplit(".", 1)[-1]:
            return set(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return set()


def _row(name: str, histories: int, regions: Dict[Tuple[str, str], Dict[str, Any]]
         ) -> CoverageRow:
    missing: Dict[str, List[int]] = {}
    for (file, _), region in regions.items():
        missing.setdefault(file, []).extend(region.get("missing_lines") or [])
    summaries = [r["summary"] for r in regions.values()]
    return CoverageRow(
        orchestrator=name, histories=histories,
        statements=sum(s["num_statements"] for s in summaries),
        covered_statements=sum(s["covered_lines"] for s in summaries),
        branches=sum(s.get("num_branches", 0) for s in summaries),
        covered_branches=sum(s.get("covered_branches", 0) for s in summaries),
        functions=tuple(sorted(f"{os.path.basename(f)}:{q}" for f, q in regions)),
        missing=tuple((f, _ranges(sorted(set(lines))))
                      for f, lines in sorted(missing.items()) if lines))


def _ranges(lines: Sequence[int]) -> str:
    parts: List[str] = []
    start = prev = None
    for n in lines:
        if start is None:
            start = prev = n
        elif prev is not None and n == prev + 1:
            prev = n
        else:
            parts.append(f"{start}" if start == prev else f"{start}-{prev}")
            start = prev = n
    if start is not None:
        parts.append(f"{start}" if start == prev else f"{start}-{prev}")
    return ", ".join(parts)


def format_report(report: CoverageReport, root: Optional[str] = None) -> str:
    """The table: one line per orchestrator, then its uncovered lines, then the total."""
    def shown(file: str) -> str:
        if root:
            try:
                return os.path.relpath(file, root)
            except ValueError:
                return file
        return file

    width = max([len("orchestrator")] + [len(r.orchestrator) for r in report.rows])
    lines = [f"{'orchestrator':<{width}}  histories  lines     branches  cover"]
    for r in report.rows:
        lines.append(f"{r.orchestrator:<{width}}  {r.histories:>9}  "
                     f"{f'{r.covered_statements}/{r.statements}':>8}  "
                     f"{f'{r.covered_branches}/{r.branches}':>8}  {r.percent:5.1f}%")
    lines.append(f"{'TOTAL':<{width}}  {sum(r.histories for r in report.rows):>9}  "
                 f"{f'{report.covered_statements}/{report.statements}':>8}  "
                 f"{f'{report.covered_branches}/{report.branches}':>8}  "
                 f"{report.percent:5.1f}%")
    uncovered = [(r.orchestrator, f, text) for r in report.rows for f, text in r.missing]
    if uncovered:
        lines.append("Lines no stored history reaches:")
        for name, file, text in uncovered:
            lines.append(f"  {name}: {shown(file)}: {text}")
    return "\n".join(lines)
