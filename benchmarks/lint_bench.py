"""Benchmark durable-lint against a bare libcst parse of the same files (and Fixit, optionally).

Everything runs in this one process, interleaved: each repetition times, file by file, a bare
``libcst.parse_module`` and durable-lint's full analysis of the same text (``lint_source``: parse,
metadata, every rule, project index, findings; no cache), rotating which goes first, so load on
a shared machine hits both alike. It prints the median of the per-repetition totals, wall clock
and CPU time, and the ratios the linter is held to:

* orchestrator files: at most 4x a bare parse (the floor for any libcst linter);
* general code: a sample of site-packages linted as a project (the pre-filter skips most files
  unparsed), far below 1x;
* Fixit on the orchestrator files, if ``--fixit PYTHON`` names an interpreter with Fixit
  installed (keep it in a throwaway venv: ``python -m venv /tmp/fixit-venv &&
  /tmp/fixit-venv/bin/pip install fixit``); Fixit's default rules, one process per run;
* another copy of the linter, if ``--baseline DIR`` names a folder holding a ``lint_rules``
  package (``git archive <commit> lint_rules | tar -x -C DIR``): before/after in one run.

    python benchmarks/lint_bench.py                       # apps in this repo
    python benchmarks/lint_bench.py --extra ../samples    # plus more apps
    python benchmarks/lint_bench.py --fixit /tmp/fixit-venv/bin/python --site-sample 300
"""
from __future__ import annotations

import argparse
import importlib.util
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Callable, Optional

import libcst as cst

try:
    from durable_lint import lint_paths, lint_source  # the lean distribution
except ImportError:
    from durable_testkit.lint_rules import lint_paths, lint_source

REPO = Path(__file__).resolve().parents[1]
APP_DIRS = ["examples", "tests/apps", "tests/lint/fixtures"]
ORCHESTRATOR_MARKERS = ("orchestration_trigger", "Orchestrator.create")


def py_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def orchestrator_files(roots: list[Path]) -> list[tuple[Path, str]]:
    out = []
    for root in roots:
        for path in py_files(root):
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if any(m in text for m in ORCHESTRATOR_MARKERS):
                out.append((path, text))
    return out


def parse(text: str) -> None:
    try:
        cst.parse_module(text)
    except Exception:
        pass


@dataclass
class Timing:
    """Per-repetition totals of one contender, wall clock and CPU."""

    name: str
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def median_wall(self) -> float:
        return statistics.median(self.wall)

    def median_cpu(self) -> float:
        return statistics.median(self.cpu)


def interleaved(contenders: list[tuple[str, Callable[[int], object]]], items: int,
                repeat: int) -> list[Timing]:
    """Time ``fn(i)`` for every item, contenders alternating item by item, ``repeat`` times."""
    timings = [Timing(name) for name, _ in contenders]
    for _, fn in contenders:  # warm up: imports, caches, first-use costs
        for i in range(items):
            fn(i)
    for rep in range(repeat):
        wall = [0.0] * len(contenders)
        cpu = [0.0] * len(contenders)
        for i in range(items):
            for k in range(len(contenders)):
                j = (k + rep + i) % len(contenders)
                fn = contenders[j][1]
                w0, c0 = time.perf_counter(), time.process_time()
                fn(i)
                wall[j] += time.perf_counter() - w0
                cpu[j] += time.process_time() - c0
        for j, t in enumerate(timings):
            t.wall.append(wall[j])
            t.cpu.append(cpu[j])
    return timings


def report(timings: list[Timing], floor: Timing, target: Optional[str] = None) -> None:
    for t in timings:
        ratios = [w / f for w, f in zip(t.wall, floor.wall)]
        line = (f"{t.name:<22}{t.median_wall():8.3f} s wall {t.median_cpu():8.3f} s cpu   "
                f"ratio {t.median_wall() / floor.median_wall():5.2f}x wall, "
                f"{t.median_cpu() / floor.median_cpu():5.2f}x cpu, "
                f"{statistics.median(ratios):5.2f}x median of runs")
        if t is not floor and target:
            line += f"  ({target})"
        print(line)


def load_baseline(folder: Path) -> ModuleType:
    """Import ``folder/lint_rules`` under another name, next to the current linter."""
    if "baseline_lint_rules" in sys.modules:
        return sys.modules["baseline_lint_rules"]
    init = folder / "lint_rules" / "__init__.py"
    spec = importlib.util.spec_from_file_location(
        "baseline_lint_rules", init, submodule_search_locations=[str(init.parent)])
    if spec is None or spec.loader is None:
        raise SystemExit(f"no lint_rules package in {folder}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def bench_orchestrators(roots: list[Path], repeat: int, fixit: Optional[str],
                        baseline: Optional[Path]) -> None:
    files = orchestrator_files(roots)
    texts = [t for _, t in files]
    names = [str(p) for p, _ in files]
    errors: list[int] = []

    def lint(i: int) -> None:
        result = lint_source(texts[i], names[i], unsafe_fixes=True)
        errors.append(len(result.internal_errors))

    contenders: list[tuple[str, Callable[[int], object]]] = [
        ("bare libcst parse", lambda i: parse(texts[i])),
        ("durable-lint", lint),
    ]
    if baseline is not None:
        old = load_baseline(baseline)
        contenders.append(("durable-lint baseline",
                           lambda i: old.lint_source(texts[i], names[i], unsafe_fixes=True)))
    print(f"== files with orchestrators: {len(files)} files, "
          f"{sum(len(t) for t in texts) / 1e3:.0f} kB, {repeat} interleaved runs, medians")
    timings = interleaved(contenders, len(files), repeat)
    report(timings, timings[0], "target <= 4x")
    print(f"internal errors: {sum(errors)}")
    if fixit:
        cmd = [fixit, "-m", "fixit", "lint", *names]
        start = [fixit, "-c", "import fixit"]
        runs = interleaved([
            ("fixit lint", lambda _: subprocess.run(cmd, capture_output=True)),
            ("  interpreter + import", lambda _: subprocess.run(start, capture_output=True)),
            ("bare libcst parse", lambda _: [parse(t) for t in texts]),
        ], 1, repeat)
        report(runs, runs[2])
        print("(Fixit runs in a child process: compare its wall clock only)")


def bench_general(sample: int, repeat: int, baseline: Optional[Path]) -> None:
    """Every n-th file of site-packages, copied into one folder that is linted as a project.

    Copying keeps the project to the sample: linted in place, site-packages as a whole would
    be the project, and every file there that mentions durable code would be read as context.
    """
    site = Path(sysconfig.get_paths()["purelib"])
    every = py_files(site)
    chosen = every[:: max(1, len(every) // sample)]
    folder = Path(tempfile.mkdtemp(prefix="durable-lint-bench-"))
    texts = []
    for i, f in enumerate(chosen):
        try:
            text = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        (folder / f"f{i:04d}_{f.stem}.py").write_text(text, encoding="utf-8")
        texts.append(text)
    try:
        result = lint_paths([folder], config=False, project_root=folder, jobs=1)
        print(f"== general code: {len(texts)} files of site-packages, "
              f"{sum(len(t) for t in texts) / 1e6:.1f} MB, {repeat} interleaved runs, medians")
        contenders: list[tuple[str, Callable[[int], object]]] = [
            ("bare libcst parse", lambda _: [parse(t) for t in texts]),
            ("durable-lint", lambda _: lint_paths([folder], config=False, project_root=folder,
                                                  jobs=1)),
        ]
        if baseline is not None:
            old = load_baseline(baseline)
            contenders.append(("durable-lint baseline", lambda _: old.lint_paths(
                [folder], config=False, project_root=folder, jobs=1)))
        timings = interleaved(contenders, 1, repeat)
        report(timings, timings[0], "target: far below 1x")
        print(f"{result.files_parsed} files parsed, {len(result.internal_errors)} internal "
              "errors")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra", action="append", default=[], type=Path,
                        help="another folder of apps (repeatable)")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--site-sample", type=int, default=200,
                        help="site-packages files for the general-code run (0: skip)")
    parser.add_argument("--fixit", help="a Python interpreter with Fixit installed")
    parser.add_argument("--baseline", type=Path,
                        help="a folder holding another lint_rules package to compare with")
    args = parser.parse_args()
    roots = [REPO / d for d in APP_DIRS if (REPO / d).is_dir()] + args.extra
    bench_orchestrators(roots, args.repeat, args.fixit, args.baseline)
    if args.site_sample:
        bench_general(args.site_sample, args.repeat, args.baseline)
    return 0


if __name__ == "__main__":
    sys.exit(main())
