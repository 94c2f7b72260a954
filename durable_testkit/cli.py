"""``durable-testkit`` console script: argument parsing only; the work is in library modules.

    durable-testkit serve APP [--port 7071] [--host 127.0.0.1]
    durable-testkit show HISTORY_FILE...
    durable-testkit replay APP HISTORY_FILE...
    durable-testkit import SOURCE... --out DIR [--format F] [--app APP] [--version V]

``show`` and ``replay`` read only regular files, at most 64 MiB each (a FIFO,
device or directory is refused before it is opened), and report a bad file as
one line naming it and what is wrong, then go on with the next file.

Exit codes:
    0: every file was shown / replays cleanly.
    1: a file was bad (missing, not a regular file, too big, not a history), or a
       history no longer replays against the app's code.
    2: a usage error: bad arguments (argparse), or an APP that cannot be loaded.

Each subcommand is one ``_<name>(args) -> int`` function listed in ``_COMMANDS``;
add a new one by adding its parser in ``_parser`` and its function there.
"""
from __future__ import annotations

import argparse
import sys
from typing import Callable, Dict, List, Optional, TextIO

__all__ = ["main", "EXIT_OK", "EXIT_FAILED", "EXIT_USAGE"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="durable-testkit",
        description="Run a Durable Functions app in process, or inspect a saved history.",
        epilog="Exit status: 0 ok, 1 a file was bad or a history no longer replays, "
               "2 usage error (bad arguments, an APP that cannot be loaded).")
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
    show = sub.add_parser(
        "show", help="print saved histories as timelines",
        description="Print each HISTORY_FILE as a timeline. A bad file is reported on "
                    "stderr in one line and the next file is shown; exit 1 if any was bad.")
    show.add_argument("history_files", metavar="HISTORY_FILE", nargs="+")
    replay = sub.add_parser(
        "replay", help="check that stored histories still replay against the app's code",
        description="Replay each HISTORY_FILE against the current code of APP's orchestrator "
                    "of the same name, without running activities. Exit 1 if any diverges "
                    "or cannot be read.")
    replay.add_argument("app", metavar="APP",
                        help="app folder (V1 or V2), function_app.py, or 'module[:attr]'")
    replay.add_argument("history_files", metavar="HISTORY_FILE", nargs="+")
    imp = sub.add_parser(
        "import", help="turn production history exports into history files",
        description="Import each SOURCE (a status-API response, History-table rows as JSON "
                    "or Storage Explorer CSV, func durable get-history output, or a "
                    "durabletask export) into DIR/<orchestrator>/<version>/<instance>.json. "
                    "A source that fails is reported and the next one imported; exit 1 if "
                    "any failed. See docs/replay.md.")
    imp.add_argument("sources", metavar="SOURCE", nargs="+")
    imp.add_argument("--out", required=True, metavar="DIR", help="corpus folder to write into")
    imp.add_argument("--format", default="auto",
                     choices=["auto", "status-api", "storage-table", "core-tools",
                              "durabletask"], help="export format (default: sniff it)")
    imp.add_argument("--app", metavar="APP", help="the app whose orchestrator code orders "
                     "what a status-API export leaves ambiguous")
    imp.add_argument("--version", metavar="V", help="orchestration version to record when "
                     "the export has none")
    return parser


def _say(text: str, stream: Optional[TextIO] = None) -> None:
    """Print ``text`` whatever it holds: lone surrogates (from a history or a file name
    undecodable in the locale) and characters the stream cannot encode come out as
    backslash escapes instead of a UnicodeEncodeError."""
    stream = stream if stream is not None else sys.stdout
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        safe = text.encode(encoding, "backslashreplace").decode(encoding)
    except LookupError:  # an encoding name Python does not know: fall back to ASCII
        safe = text.encode("ascii", "backslashreplace").decode("ascii")
    print(safe, file=stream, flush=True)


def _one_line(text: str) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()) or "(no message)"


def _serve(args: argparse.Namespace) -> int:
    from ._serve import serve

    serve(args.app, host=args.host, port=args.port, out=lambda s: print(s, flush=True))
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    from .errors import DurableTestkitError
    from .history import load_history, render_timeline

    status = EXIT_OK
    shown = 0
    for path in args.history_files:
        try:
            history = load_history(path)
            text = f"{history.orchestrator} [{history.instance_id}]\n" + \
                render_timeline(history.events)
        except (DurableTestkitError, OSError) as exc:
            # Both name the file (HistoryFormatError, InputFileError); a bare OSError may not.
            message = str(exc) if path in str(exc) else f"{path}: {exc}"
            _say(f"durable-testkit show: {_one_line(message)}", sys.stderr)
            status = EXIT_FAILED
            continue
        _say(("\n" if shown else "") + text)  # a blank line between timelines
        shown += 1
    return status


def _replay(args: argparse.Namespace) -> int:
    from .errors import AppDiscoveryError
    from .replay import ReplayCheck, check_histories

    paths: List[str] = list(args.history_files)
    try:
        checks = check_histories(args.app, paths)
    except AppDiscoveryError as exc:
        _say(f"durable-testkit replay: {_one_line(str(exc))}", sys.stderr)
        return EXIT_USAGE
    except Exception:  # noqa: BLE001 - one file broke the whole batch; see below
        # A payload the SDK itself cannot decode (not JSON, nested too deep, an unknown
        # class envelope) raises out of the SDK. Check the files one by one, so that one
        # file gets the blame and every other file still gets its verdict. (This loads
        # the app once per file, only on this rare path.)
        checks = []
        for path in paths:
            try:
                checks.extend(check_histories(args.app, [path]))
            except AppDiscoveryError as exc:
                _say(f"durable-testkit replay: {_one_line(str(exc))}", sys.stderr)
                return EXIT_USAGE
            except Exception as exc:  # noqa: BLE001
                checks.append(ReplayCheck(path, _orchestrator_of(path), False, _one_line(
                    f"the SDK raised {type(exc).__name__} replaying this history: "
                    f"{str(exc)[:300]}")))
    for check in checks:
        _say(f"{'ok  ' if check.ok else 'FAIL'} {check.path} ({check.orchestrator}): "
             f"{check.message}")
    return EXIT_OK if all(c.ok for c in checks) else EXIT_FAILED


def _import(args: argparse.Namespace) -> int:
    from .errors import AppDiscoveryError
    from .importers import ImportOutcome, import_to_corpus

    def report(outcome: ImportOutcome) -> None:
        _say(f"{'ok  ' if outcome.ok else 'FAIL'} {outcome.source}: "
             f"{_one_line(outcome.message)}")

    try:
        outcomes = import_to_corpus(args.sources, args.out, format=args.format, app=args.app,
                                    version=args.version, on_outcome=report)
    except AppDiscoveryError as exc:
        _say(f"durable-testkit import: {_one_line(str(exc))}", sys.stderr)
        return EXIT_USAGE
    return EXIT_OK if all(o.ok for o in outcomes) else EXIT_FAILED


def _orchestrator_of(path: str) -> str:
    from .history import load_history

    try:
        return load_history(path).orchestrator
    except Exception:  # noqa: BLE001 - only a label for the report
        return "?"


_COMMANDS: Dict[str, Callable[[argparse.Namespace], int]] = {
    "serve": _serve,
    "show": _show,
    "replay": _replay,
    "import": _import,
}


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the ``durable-testkit`` console script; returns the exit status."""
    args = _parser().parse_args(argv)
    return _COMMANDS[args.command](args)
