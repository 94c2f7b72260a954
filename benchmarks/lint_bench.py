"""Benchmark durable-lint against a bare libcst parse of the same files (and Fixit, optionally).

Prints medians of ``--repeat`` runs, each in this one process (no parallelism, no cache), and
the ratios the linter is held to:

* orchestrator files: every rule on every file that holds orchestrator code, at most 4x a bare
  ``libcst.parse_module`` of the same files (the floor for any libcst linter);
* general code: a sample of site-packages linted as a project (the pre-filter skips most files
  unparsed), far below 1x;
* Fixit on the orchestrator files, if ``--fixit PYTHON`` names an interpreter with Fixit
  installed (keep it in a throwaway venv: ``python -m venv /tmp/fx && /tmp/fx/bin/pip install
  fixit``); Fixit's own default rules, one process.

    python benchmarks/lint_bench.py                       # apps in this repo
    python benchmarks/lint_bench.py --extra ../samples    # plus more apps
    python benchmarks/lint_bench.py --fixit /tmp/fx/bin/python --site-sample 300
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import Callable

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


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


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


def parse_all(texts: list[str]) -> None:
    for text in texts:
        try:
            cst.parse_module(text)
        except Exception:
            pass


def lint_all(files: list[tuple[Path, str]]) -> int:
    errors = 0
    for path, text in files:
        errors += len(lint_source(text, str(path), unsafe_fixes=True).internal_errors)
    return errors


def bench_orchestrators(roots: list[Path], repeat: int, fixit: str | None) -> None:
    files = orchestrator_files(roots)
    texts = [t for _, t in files]
    size = sum(len(t) for t in texts)
    parse = median_time(lambda: parse_all(texts), repeat)
    lint = median_time(lambda: lint_all(files), repeat)
    print(f"== files with orchestrators: {len(files)} files, {size / 1e3:.0f} kB, "
          f"median of {repeat}")
    print(f"bare libcst parse   {parse:8.3f} s")
    print(f"durable-lint        {lint:8.3f} s   ratio {lint / parse:5.2f}x  (target <= 4x); "
          f"internal errors: {lint_all(files)}")
    if fixit:
        paths = [str(p) for p, _ in files]
        cmd = [fixit, "-m", "fixit", "lint", *paths]
        fx = median_time(lambda: subprocess.run(cmd, capture_output=True), repeat)
        startup = median_time(lambda: subprocess.run([fixit, "-c", "import fixit"],
                                                     capture_output=True), repeat)
        print(f"fixit lint          {fx:8.3f} s   ratio {fx / parse:5.2f}x  "
              f"(includes {startup:.3f} s interpreter start and import)")


def bench_general(sample: int, repeat: int) -> None:
    site = Path(sysconfig.get_paths()["purelib"])
    every = py_files(site)
    files = every[:: max(1, len(every) // sample)]
    texts = []
    for f in files:
        try:
            texts.append(f.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            texts.append("")
    size = sum(len(t) for t in texts)
    parse = median_time(lambda: parse_all(texts), repeat)
    result = lint_paths(files, config=False, project_root=site, jobs=1)
    lint = median_time(lambda: lint_paths(files, config=False, project_root=site, jobs=1),
                       repeat)
    print(f"== general code: {len(files)} files of site-packages, {size / 1e6:.1f} MB, "
          f"median of {repeat}")
    print(f"bare libcst parse   {parse:8.3f} s")
    print(f"durable-lint        {lint:8.3f} s   ratio {lint / parse:5.2f}x  "
          f"({result.files_parsed} parsed, {len(result.internal_errors)} internal errors)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra", action="append", default=[], type=Path,
                        help="another folder of apps (repeatable)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--site-sample", type=int, default=200,
                        help="site-packages files for the general-code run (0: skip)")
    parser.add_argument("--fixit", help="a Python interpreter with Fixit installed")
    args = parser.parse_args()
    roots = [REPO / d for d in APP_DIRS if (REPO / d).is_dir()] + args.extra
    bench_orchestrators(roots, args.repeat, args.fixit)
    if args.site_sample:
        bench_general(args.site_sample, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
