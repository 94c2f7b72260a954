"""Benchmark and robustness check for durable-lint.

Compares the linter with bare ``libcst.parse_module`` over the same files (the floor for any
libcst linter), and counts internal errors (target: zero).

    python benchmarks/lint_bench.py apps                 # real durable apps in this repo
    python benchmarks/lint_bench.py site-packages        # every .py file of site-packages
    python benchmarks/lint_bench.py site-packages --full-sample 500
                                                         # plus full analysis (no pre-filter)
                                                         # of every 1/N-th file, all rules on

``apps`` and ``site-packages`` lint with the default pre-filter, so most site-packages files are
only read, never parsed: bare parsing is timed on a sample there (``--parse-sample``) and
extrapolated, because parsing all 12,000 files takes tens of minutes.
"""
from __future__ import annotations

import argparse
import os
import sys
import sysconfig
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import libcst as cst

from durable_testkit.lint_rules import lint_paths, lint_source

REPO = Path(__file__).resolve().parents[1]
APP_DIRS = ["examples", "tests/apps", "tests/lint/fixtures"]


def py_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def _parse(path: str) -> float:
    data = Path(path).read_bytes()
    start = time.perf_counter()
    try:
        cst.parse_module(data)
    except Exception:
        pass
    return time.perf_counter() - start


def _full(path: str) -> tuple[str, int, int, float]:
    """Lint one file with every rule and no pre-filter: (path, internal errors, DF001, seconds)."""
    text = Path(path).read_bytes().decode("utf-8", errors="surrogateescape")
    start = time.perf_counter()
    result = lint_source(text, path, unsafe_fixes=True)
    took = time.perf_counter() - start
    return path, len(result.internal_errors), sum(f.code == "DF001" for f in result.findings), took


def bare_parse(files: list[Path], jobs: int) -> float:
    """Wall time to parse ``files`` with libcst using ``jobs`` processes."""
    start = time.perf_counter()
    if jobs > 1 and len(files) > 1:
        with ProcessPoolExecutor(jobs) as pool:
            list(pool.map(_parse, map(str, files), chunksize=16))
    else:
        for f in files:
            _parse(str(f))
    return time.perf_counter() - start


def bench_tree(label: str, roots: list[Path], jobs: int, parse_sample: int) -> None:
    files = [f for r in roots for f in py_files(r)]
    size = sum(f.stat().st_size for f in files)
    start = time.perf_counter()
    seen = parsed = findings = errors = 0
    for root in roots:
        result = lint_paths([root], config=False, project_root=root, jobs=jobs)
        seen += result.files_seen
        parsed += result.files_parsed
        findings += len(result.findings)
        errors += len(result.internal_errors)
        for err in result.internal_errors:
            print(f"INTERNAL ERROR {err.path}\n{err.error}", file=sys.stderr)
    lint_time = time.perf_counter() - start
    sample = files[:: max(1, len(files) // parse_sample)] if parse_sample else files
    parse_time = bare_parse(sample, jobs) * len(files) / max(1, len(sample))
    note = "" if sample is files else f" (extrapolated from {len(sample)} files)"
    print(f"== {label}: {len(files)} files, {size / 1e6:.1f} MB")
    print(f"durable-lint      {lint_time:8.2f} s  ({seen} files seen, {parsed} parsed, "
          f"{findings} findings, {errors} internal errors)")
    print(f"bare libcst parse {parse_time:8.2f} s{note}, {jobs} processes")
    print(f"ratio             {lint_time / parse_time:8.2f}x")


def bench_full_sample(root: Path, every: int, jobs: int) -> None:
    files = py_files(root)[::every]
    start = time.perf_counter()
    with ProcessPoolExecutor(jobs) as pool:
        rows = list(pool.map(_full, map(str, files), chunksize=4))
    lint_time = time.perf_counter() - start
    parse_time = bare_parse(files, jobs)
    errors = [r for r in rows if r[1]]
    print(f"== full analysis, no pre-filter, every rule: {len(files)} files (every {every}th)")
    print(f"durable-lint      {lint_time:8.2f} s  ({sum(r[2] for r in rows)} DF001, "
          f"{len(errors)} files with internal errors)")
    print(f"bare libcst parse {parse_time:8.2f} s, {jobs} processes")
    print(f"ratio             {lint_time / parse_time:8.2f}x")
    for path, *_ in errors:
        print(f"INTERNAL ERROR {path}", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", choices=["apps", "site-packages"])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--parse-sample", type=int, default=400,
                        help="files to time bare parsing on (0: all)")
    parser.add_argument("--full-sample", type=int, default=0,
                        help="also fully analyse every N-th file (0: skip)")
    args = parser.parse_args()
    if args.corpus == "apps":
        roots = [REPO / d for d in APP_DIRS if (REPO / d).is_dir()]
        app_roots = [p.parent for r in roots for p in r.rglob("host.json")] or roots
        bench_tree("durable apps", sorted(set(app_roots)), args.jobs, 0)
        return 0
    site = Path(sysconfig.get_paths()["purelib"])
    bench_tree(f"site-packages {site}", [site], args.jobs, args.parse_sample)
    if args.full_sample:
        bench_full_sample(site, args.full_sample, args.jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
