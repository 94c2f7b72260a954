"""Command line: parse arguments, call :mod:`.api`, print; nothing else happens here.

``durable-lint check PATHS...`` and ``durable-lint rule DF101``. Exit codes: 0 clean, 1
findings (DF001 for a file that cannot be read, decoded or parsed included), 2 usage,
configuration or internal error. A closed pipe (``durable-lint check | head``) ends quietly.
"""
from __future__ import annotations

import argparse
import difflib
import os
import sys
import traceback
from typing import Optional, Sequence

from .api import lint_paths, write_fixes
from .cache import default_cache_dir
from .config import ConfigError
from .docs import rule_text
from .discovery import UsageError
from .report import FORMATS, render, statistics
from .rules import RULES_BY_CODE


def _codes(value: str) -> list[str]:
    return [c.strip().upper() for c in value.split(",") if c.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="durable-lint", description="Find replay-unsafe code in Durable Functions orchestrators.")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="lint files and folders")
    check.add_argument("paths", nargs="*", default=["."], help="files or folders (default: .)")
    check.add_argument("--select", type=_codes, help="comma-separated code prefixes to report")
    check.add_argument("--ignore", type=_codes, help="comma-separated code prefixes to skip")
    check.add_argument("--output-format", choices=FORMATS, default="text")
    check.add_argument("--exit-zero", action="store_true", help="exit 0 even with findings")
    check.add_argument("--statistics", action="store_true", help="count findings per rule")
    check.add_argument("--fix", action="store_true", help="apply safe fixes")
    check.add_argument("--unsafe-fixes", action="store_true", help="also apply unsafe fixes")
    check.add_argument("--diff", action="store_true", help="print fixes as a diff, change nothing")
    check.add_argument("--config", help="pyproject.toml to read (default: nearest)")
    check.add_argument("--no-config", action="store_true", help="ignore pyproject.toml")
    check.add_argument("--project-root", help="folder that holds the whole project")
    check.add_argument("--jobs", type=int, help="parallel parser processes")
    check.add_argument("--target-version", metavar="3.X",
                       help="Python grammar the app runs on (default: config, else this Python)")
    check.add_argument("--no-cache", action="store_true",
                       help="do not read or write the analysis cache (default: "
                            "$DURABLE_LINT_CACHE_DIR or ~/.cache/durable-lint)")
    rule = sub.add_parser("rule", help="explain a rule")
    rule.add_argument("code", nargs="?", help="e.g. DF101; omit to list every rule")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "rule":
            return _rule(args.code)
        return _check(args)
    except BrokenPipeError:
        # The reader went away (``| head``): stop writing, and keep the interpreter's final
        # flush from raising again (the advice in Python's signal documentation).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def _rule(code: Optional[str]) -> int:
    if code is None:
        for each in RULES_BY_CODE.values():
            print(f"{each.CODE}  {each.NAME:28s} {(each.__doc__ or '').strip().splitlines()[0]}")
        return 0
    rule = RULES_BY_CODE.get(code.upper())
    if rule is None:
        close = difflib.get_close_matches(code.upper(), RULES_BY_CODE, n=1)
        hint = f" Did you mean {close[0]}?" if close else ""
        print(f"durable-lint: unknown rule {code!r}.{hint} 'durable-lint rule' lists them all.",
              file=sys.stderr)
        return 2
    print(rule_text(rule))
    return 0


def _check(args: argparse.Namespace) -> int:
    config = False if args.no_config else args.config
    try:
        result = lint_paths(
            args.paths, select=args.select, ignore=args.ignore,
            fix=args.fix and not args.diff, unsafe_fixes=args.unsafe_fixes,
            config=config, project_root=args.project_root, jobs=args.jobs,
            cache_dir=None if args.no_cache else default_cache_dir(),
            target_version=args.target_version,
        )
    except (ConfigError, UsageError) as exc:
        print(f"durable-lint: {exc}", file=sys.stderr)
        return 2
    except Exception:  # a bug in durable-lint: say so, and fail the build distinctly
        print("durable-lint: internal error, please report:\n" + traceback.format_exc(),
              file=sys.stderr)
        return 2
    for warning in result.warnings:
        print(f"durable-lint: warning: {warning}", file=sys.stderr)
    if args.diff:
        for fix in result.fixes:
            sys.stdout.writelines(difflib.unified_diff(
                fix.original.splitlines(True), fix.fixed.splitlines(True),
                fromfile=f"a/{fix.path}", tofile=f"b/{fix.path}"))
        return 1 if result.fixes else 0
    if args.fix and result.fixes:
        n = write_fixes(result)
        print(f"Fixed {n} problem{'s' if n != 1 else ''}.", file=sys.stderr)
    output = render(result, args.output_format)
    if output:
        print(output, flush=True)
    if args.statistics and result.findings:
        print(statistics(result), flush=True)
    if result.internal_errors:
        return 2
    if result.findings and not args.exit_zero:
        return 1
    return 0
