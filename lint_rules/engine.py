"""The lint engine: run the pipeline over each project on disk.

1. Discover the projects (function apps) of the named paths and scan each one's files.
2. Read every file safely (regular files only, size-limited) and keep those that can hold
   durable code (cheap: a substring test on the bytes); decode them as Python does.
3. Analyse them, from the cache or in parallel processes (:mod:`.analysis`).
4. Build the project index and walk the call graph from each orchestrator (:mod:`.index`),
   analysing on demand the helper modules the pre-filter skipped.
5. Turn the target files' reports into findings and fixes (:mod:`.findings`).
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Optional, Sequence, Union

from libcst.helpers import ModuleNameAndPackage

from .analysis import analyze_source, failed
from .cache import AnalysisCache, Expected
from .config import Settings, relpath
from .discovery import Project, expand, module_of, nearest_host_root, scan
from .findings import finish
from .fixes import wants_edits
from .index import ProjectIndex, reach
from .model import FileAnalysis, V1Function, norm
from .results import LintResult
from .rules import RULES, RULES_BY_CODE
from .sources import Source, Unreadable, decode, read_bytes

#: A file whose bytes contain none of these cannot define or register orchestrator code.
#: A NUL byte is there because a UTF-16 file hides the markers: it must reach DF001.
MARKERS = (
    b"orchestration_trigger",
    b"Orchestrator.create",
    b"durable_functions",
    b"DurableOrchestrationContext",
    b"activity_trigger",
    b"\x00",
)
PARALLEL_THRESHOLD = 24

_Job = tuple[str, str, str, Settings, Optional[V1Function], tuple[str, ...]]


def lint_files(
    paths: Sequence[str],
    settings: Settings,
    project_root: Optional[str] = None,
) -> LintResult:
    """Lint files and folders on disk; see :func:`durable_testkit.lint_rules.lint_paths`."""
    config_root = Path(settings.config_path).parent if settings.config_path else Path.cwd()
    pairs = expand(paths, settings, config_root)
    projects: dict[Path, Project] = {}
    explicit = Path(project_root).resolve() if project_root else None
    cfg = config_root.resolve() if settings.config_path else None
    for f, arg in pairs:
        if explicit is not None:
            root = explicit
        else:
            root = nearest_host_root(f) or (
                cfg if cfg is not None and _inside(f, cfg) else (arg if arg.is_dir() else f.parent)
            )
        project = projects.setdefault(root, Project(root, config_root, settings))
        project.targets.add(str(f))
    results = [_lint_project(p) for p in projects.values()]
    return LintResult(
        findings=tuple(sorted(f for r in results for f in r.findings)),
        fixes=tuple(x for r in results for x in r.fixes),
        internal_errors=tuple(e for r in results for e in r.internal_errors),
        files_seen=sum(r.files_seen for r in results),
        files_parsed=sum(r.files_parsed for r in results),
        warnings=settings.warnings,
    )


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def _load(path: str, settings: Settings) -> Union[Source, Unreadable]:
    raw = read_bytes(path, settings.max_file_bytes)
    return raw if isinstance(raw, Unreadable) else decode(path, raw)


def _lint_project(project: Project) -> LintResult:
    settings = project.settings
    modules, v1, files = scan(project)
    listed = {str(f) for f in files}
    for t in sorted(project.targets - listed):  # explicitly named files outside the scanned tree
        files.append(Path(t))
    codes = tuple(r.CODE for r in RULES if settings.is_selected(r.CODE))
    rules = [RULES_BY_CODE[c] for c in codes]
    sources: dict[str, Source] = {}
    analyses: dict[str, FileAnalysis] = {}
    raws: dict[str, bytes] = {}
    for f in files:
        path = str(f)
        raw = read_bytes(path, settings.max_file_bytes)
        if isinstance(raw, Unreadable):
            if path in project.targets:  # context files need not be readable
                analyses[path] = failed(path, "", raw.message, raw.line, raw.col)
            continue
        if not settings.prefilter or f.resolve() in v1 or any(m in raw for m in MARKERS):
            raws[path] = raw
    cache = AnalysisCache(settings.cache_dir)
    options = (codes, settings.banned_calls, settings.deterministic_calls,
               settings.target_version, settings.max_file_bytes)
    jobs: list[_Job] = []
    keys: dict[str, Optional[str]] = {}
    from_cache: dict[str, tuple[ModuleNameAndPackage, Optional[V1Function]]] = {}
    for path, raw in raws.items():
        mod = module_of(project.root, Path(path))
        v1_entry = v1.get(Path(path).resolve())
        keys[path] = key = cache.key(raw, path, mod, v1_entry, options, settings.prefilter)
        decoded = decode(path, raw)
        if isinstance(decoded, Unreadable):
            analyses[path] = failed(path, mod.name, decoded.message, decoded.line, decoded.col)
            continue
        sources[path] = decoded
        cached = cache.get(key, Expected.of(decoded, mod.name, codes))
        if cached is not None:
            analyses[path] = cached
            from_cache[path] = (mod, v1_entry)
        else:
            jobs.append((path, mod.name, mod.package, settings, v1_entry, codes))
    workers = settings.jobs if settings.jobs is not None else (os.cpu_count() or 1)
    if len(jobs) >= PARALLEL_THRESHOLD and workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            # Largest files first, one at a time: a single big file must not hold up a chunk.
            jobs.sort(key=lambda j: -len(raws[j[0]]))
            for analysis in pool.map(_analyze_job, jobs, chunksize=1):
                analyses[analysis.path] = analysis
                cache.put(keys[analysis.path], analysis)
    else:
        for job in jobs:
            analysis = analyze_source(sources[job[0]], ModuleNameAndPackage(job[1], job[2]),
                                      settings, job[4], rules, light_ok=settings.prefilter)
            analyses[analysis.path] = analysis
            cache.put(keys[analysis.path], analysis)

    def load_module(name: str) -> bool:
        path = modules.get(norm(name))
        if path is None:
            return False
        known = analyses.get(str(path))
        if known is not None and not known.light:
            return False
        raw = read_bytes(str(path), settings.max_file_bytes)
        if isinstance(raw, Unreadable):
            return False
        mod = module_of(project.root, path)
        v1_entry = v1.get(path.resolve())
        key = cache.key(raw, str(path), mod, v1_entry, options, "full")
        decoded = decode(str(path), raw)
        if isinstance(decoded, Unreadable):
            return False
        sources[str(path)] = decoded
        analysis = cache.get(key, Expected.of(decoded, mod.name, codes))
        if analysis is None:
            analysis = analyze_source(decoded, mod, settings, v1_entry, rules)
            cache.put(key, analysis)
        else:
            from_cache[str(path)] = (mod, v1_entry)
        analyses[analysis.path] = analysis
        index.add(analysis)
        return True

    index = ProjectIndex(settings)
    for fn in v1.values():
        index.add_v1(fn)
    for analysis in analyses.values():
        index.add(analysis)
    reached = reach(index, load_module)
    for path, (mod, v1_entry) in from_cache.items():
        # Edits are never taken from the cache (a shared folder could plant code there).
        if path in project.targets and wants_edits(analyses[path], reached, settings):
            analyses[path] = analyze_source(sources[path], mod, settings, v1_entry, rules)
    result = finish(
        analyses, index, reached, settings, project.targets, sources,
        display=lambda p: relpath(p, os.getcwd()),
        relative=lambda p: relpath(p, str(project.config_root)),
    )
    return LintResult(
        findings=result.findings,
        fixes=result.fixes,
        internal_errors=result.internal_errors,
        files_seen=len(files),
        files_parsed=len(analyses),
    )


def _analyze_job(job: _Job) -> FileAnalysis:
    """Analyse one file in a worker process (re-read there: cheaper than sending the text)."""
    path, name, package, settings, v1, codes = job
    loaded = _load(path, settings)
    if isinstance(loaded, Unreadable):
        return failed(path, name, loaded.message, loaded.line, loaded.col)
    rules = [RULES_BY_CODE[c] for c in codes]
    return analyze_source(loaded, ModuleNameAndPackage(name, package), settings, v1, rules,
                          light_ok=settings.prefilter)
