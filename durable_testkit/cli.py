"""``durable-testkit`` console script: argument parsing only; the work is in library modules.

    durable-testkit serve APP [--port 7071] [--host 127.0.0.1]
    durable-testkit show HISTORY_FILE
    durable-testkit replay APP HISTORY_FILE...
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="durable-testkit",
        description="Run a Durable Functions app in process, or inspect a saved history.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve", help="serve the app's HTTP triggers and the Durable management API",
        description="Serve APP's HTTP triggers (under /api/) and the Durable HTTP management "
                    "API on the in-memory host, with its clock following real time. "
                    "Stop with Ctrl-C.")
    serve.add_argument("app", metavar="APP",
                       help="app folder (V1 or V2), function_app.py, or 'module[:attr]'")
    serve.add_argument("--port", type=int, default=7071,
                       help="TCP port (default 7071, like func start; 0 picks a free one)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="interface to listen on (default 127.0.0.1: loopback only)")
    show = sub.add_parser("show", help="print a saved history as a timeline")
    show.add_argument("history_file", metavar="HISTORY_FILE")
    replay = sub.add_parser(
        "replay", help="check that stored histories still replay against the app's code",
        description="Replay each HISTORY_FILE against the current code of APP's orchestrator "
                    "of the same name, without running activities. Exit 1 if any diverges.")
    replay.add_argument("app", metavar="APP",
                        help="app folder (V1 or V2), function_app.py, or 'module[:attr]'")
    replay.add_argument("history_files", metavar="HISTORY_FILE", nargs="+")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the ``durable-testkit`` console script."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        from ._server import serve

        serve(args.app, host=args.host, port=args.port, out=lambda s: print(s, flush=True))
        return 0
    from .errors import DurableTestkitError
    from .history import load_history, render_timeline

    if args.command == "replay":
        from .replay import check_histories

        try:
            checks = check_histories(args.app, args.history_files)
        except DurableTestkitError as exc:
            print(f"durable-testkit replay: {exc}", file=sys.stderr)
            return 2
        for check in checks:
            print(f"{'ok  ' if check.ok else 'FAIL'} {check.path} ({check.orchestrator}): "
                  f"{check.message}")
        return 0 if all(c.ok for c in checks) else 1

    try:
        history = load_history(args.history_file)
    except (OSError, DurableTestkitError) as exc:
        print(f"durable-testkit show: {exc}", file=sys.stderr)
        return 1
    print(f"{history.orchestrator} [{history.instance_id}]")
    print(render_timeline(history.events))
    return 0
