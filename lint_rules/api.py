"""Public functions of durable-lint: lint files or source text and get a :class:`LintResult`."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence, Union

from libcst.helpers import ModuleNameAndPackage

from .analysis import analyze_source, failed
from .config import Settings, find_pyproject, load_settings
from .engine import lint_files
from .findings import finish
from .index import ProjectIndex, reach
from .results import LintResult
from .rules import RULES_BY_CODE
from .sources import Source, from_text


def lint_paths(
    paths: Sequence[Union[str, Path]],
    *,
    select: Optional[Sequence[str]] = None,
    ignore: Optional[Sequence[str]] = None,
    fix: bool = False,
    unsafe_fixes: bool = False,
    config: Union[str, Path, None, bool] = None,
    project_root: Union[str, Path, None] = None,
    prefilter: bool = True,
    jobs: Optional[int] = None,
    cache_dir: Union[str, Path, None] = None,
    target_version: Optional[str] = None,
) -> LintResult:
    """Lint Python files and folders.

    Project-wide rules see the whole project (the function app folder holding host.json, else the
    folder of pyproject.toml) even when only some files are named, as pre-commit does.

    Args:
        paths: Files and folders to report on.
        select: Code prefixes to report (default: the config's, else every ``DF`` rule).
        ignore: Code prefixes never to report.
        fix: Compute fixes and drop the findings they fix (the caller writes ``result.fixes``).
        unsafe_fixes: Also offer fixes that may change behaviour.
        config: pyproject.toml to read; None finds the nearest one, False reads none.
        project_root: Treat this folder as the whole project instead of discovering it.
        prefilter: Skip files that cannot hold durable code (turn off to parse everything).
        jobs: Worker processes for parsing (default: CPU count).
        cache_dir: Folder to cache per-file analyses in (default: no cache).
        target_version: Python grammar to check against, such as ``"3.11"`` (default: the
            config's ``target-version``, else the running interpreter's).

    Raises:
        ConfigError: the ``[tool.durable-lint]`` table is invalid.
        UsageError: a path does not exist.
    """
    settings = _settings(paths, config, select=select, ignore=ignore, fix=fix,
                         unsafe_fixes=unsafe_fixes, prefilter=prefilter, jobs=jobs,
                         cache_dir=str(cache_dir) if cache_dir is not None else None,
                         target_version=target_version)
    return lint_files([str(p) for p in paths], settings,
                      str(project_root) if project_root is not None else None)


def lint_source(
    source: str,
    path: str = "<string>",
    *,
    select: Optional[Sequence[str]] = None,
    ignore: Optional[Sequence[str]] = None,
    unsafe_fixes: bool = False,
    **settings: Any,
) -> LintResult:
    """Lint one module given as text, as if it were a whole project.

    Every rule runs (no pre-filter). ``settings`` are extra :class:`Settings` fields such as
    ``banned_calls`` or ``external_activities``. Never raises on bad input: a file that does not
    parse gives a DF001 finding.
    """
    opts = load_settings(None, RULES_BY_CODE, select=_tuple(select), ignore=_tuple(ignore),
                         unsafe_fixes=unsafe_fixes, **settings)
    decoded = from_text(path, source)
    module = ModuleNameAndPackage("orchestrator", "")
    sources: dict[str, Source] = {}
    if isinstance(decoded, Source):
        sources[path] = decoded
        analysis = analyze_source(decoded, module, opts)
    else:
        analysis = failed(path, module.name, decoded.message, decoded.line, decoded.col)
    index = ProjectIndex(opts)
    index.add(analysis)
    reached = reach(index)
    done = finish({path: analysis}, index, reached, opts, {path}, sources,
                  display=lambda p: p, relative=lambda p: p)
    return LintResult(done.findings, done.fixes, done.internal_errors, 1, 1, opts.warnings)


def write_fixes(result: LintResult) -> int:
    """Write every fix in ``result`` to disk; returns the number of fixes applied."""
    applied = 0
    for fix in result.fixes:
        Path(fix.path).write_bytes(fix.fixed.encode("utf-8"))
        applied += fix.applied
    return applied


def _tuple(values: Optional[Sequence[str]]) -> Optional[tuple[str, ...]]:
    return tuple(v.strip().upper() for v in values if v.strip()) if values is not None else None


def _settings(paths: Sequence[Union[str, Path]], config: Union[str, Path, None, bool],
              **overrides: Any) -> Settings:
    if config is False:
        pyproject = None
    elif config is None or config is True:
        start = Path(paths[0]) if paths else Path.cwd()
        pyproject = find_pyproject(start if start.exists() else Path.cwd())
    else:
        pyproject = Path(config)
    overrides["select"] = _tuple(overrides.get("select"))
    overrides["ignore"] = _tuple(overrides.get("ignore"))
    return load_settings(pyproject, RULES_BY_CODE, **overrides)
