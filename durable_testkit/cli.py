"""``durable-testkit`` console script: argument parsing only; the work is in library modules.

    durable-testkit serve APP [--port 7071] [--host 127.0.0.1] [--max-body BYTES]
                              [--public-url URL]
    durable-testkit show HISTORY_FILE...
    durable-testkit replay APP HISTORY_FILE... [--strict] [--version V]
                                              [--coverage] [--fail-under N]
    durable-testkit import SOURCE... --out DIR [--format F] [--app APP] [--version V]

``show`` and ``replay`` read only regular files, at most 64 MiB each (a FIFO,
device or directory is refused before it is opened), and report a bad file as
one line naming it and what is wrong, then go on with the next file.

Exit codes:
    0: every file was shown / replays cleanly.
    1: a file was bad (missing, not a regular file, too big, not a history), a
       history no longer replays against the app's code (``--strict``: or differs
       in an input, a fire time or an entity target), a worker with the app's
       host.json versioning would fail it, or replay coverage is under ``--fail-under``.
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
    serve.add_argument("--max-body", type=int, default=None, metavar="BYTES",
                       help="largest request body accepted (default 8 MiB; larger: 413)")
    serve.add_argument("--public-url", default=None, metavar="URL",
                       help="the origin clients reach the server by, when not the bound "
                            "address (accepted as Host, used in status URLs)")
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
    replay.add_argument("--strict", action="store_true",
                        help="also compare activity and sub-orchestration inputs, timer fire "
                             "times and entity targets, which the host's own check ignores")
    replay.add_argument("--version", default=None, metavar="V",
                        help="the orchestration version for histories that record none "
                             "(default: their corpus folder, <orchestrator>/<version>/)")
    replay.add_argument("--coverage", action="store_true",
                        help="measure the orchestrator lines and branches the replays run "
                             "(needs coverage.py: pip install durable-testkit[coverage])")
    replay.add_argument("--fail-under", type=float, default=None, metavar="N",
                        help="with --coverage: exit 1 if the total is under N percent")
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

    from ._loopback_http import DEFAULT_MAX_BODY

    serve(args.app, host=args.host, port=args.port, out=lambda s: print(s, flush=True),
          max_body=args.max_body if args.max_body is not None else DEFAULT_MAX_BODY,
          public_url=args.public_url)
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
    from ._versions import load_versioning
    from .app import discover_app
    from .errors import AppDiscoveryError, CoverageUnavailableError
    from .replay import check_history

    try:
        functions = discover_app(args.app)
        versioning = load_versioning(functions.root)
    except AppDiscoveryError as exc:
        _say(f"durable-testkit replay: {_one_line(str(exc))}", sys.stderr)
        return EXIT_USAGE
    measure = None
    if args.coverage or args.fail_under is not None:
        try:
            from ._coverage import ReplayCoverage

            measure = ReplayCoverage(functions, "durable-testkit replay --coverage")
        except CoverageUnavailableError as exc:
            _say(f"durable-testkit replay: {exc}", sys.stderr)
            return EXIT_USAGE
    status = EXIT_OK
    for path in args.history_files:
        # check_history gives every file its own verdict, whatever the SDK raises on it.
        check = check_history(functions, path, strict=args.strict, version=args.version,
                          versioning=versioning,
                          around=measure.measuring if measure is not None else None)
        label = f"{'ok  ' if check.ok else 'FAIL'} {check.path} ({check.orchestrator}): "
        error = check.error
        if check.status == "diverged" and error is not None:
            # One line to grep, then the divergence itself: expected, actual, timeline.
            where = getattr(error, "event_index", None)
            _say(label + "no longer replays" + (f" (history event {where})"
                                                if where is not None else "")
                 + f": expected {getattr(error, 'expected', '?')}; actual "
                 f"{getattr(error, 'actual', '?')}")
            for line in str(error).splitlines():
                _say("    " + line)
        else:
            _say(label + _one_line(check.message))
        if not check.ok:
            status = EXIT_FAILED
    if measure is not None:
        from ._coverage import format_report

        report = measure.report()
        _say("\nReplay coverage (orchestrator code the histories run):\n"
             + format_report(report, functions.root))
        if args.fail_under is not None and report.percent < args.fail_under:
            _say(f"FAIL replay coverage {report.percent:.1f}% is under --fail-under "
                 f"{args.fail_under:g}%: add histories that take the uncovered paths "
                 "(record them with pytest --durable-record=DIR, or import them from "
                 "production)")
            status = EXIT_FAILED
    return status


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
