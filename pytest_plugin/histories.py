"""History files as tests: the replay corpus, recording it, and its replay coverage.

A plugin of its own (loaded through ``pytest_plugins`` in ``__init__``):

- ``durable_histories = histories/`` (ini, paths): every ``*.json`` under those folders is
  collected as one test item that replays the history against the test session's
  function app (``durable_app`` ini option or ``--durable-app``). A divergence fails
  with the event index, expected versus actual and the timeline. An empty corpus is
  an error unless ``durable_histories_allow_empty = true``.
- ``durable_replay_strict = true`` (ini) or ``--durable-replay-strict``: strict replay.
- ``--durable-record=DIR``: every instance a passing test ran to completion (or left
  waiting) is saved under ``DIR/<orchestrator>/<version or unversioned>/``, one file
  per distinct shape (the sequence of event types and names).
- ``--durable-replay-coverage`` (and ``--durable-replay-coverage-fail-under=N``): the
  corpus items' replays are measured; the table is printed at the end of the run.

Layout and CI recipes: docs/replay.md.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import pytest

from durable_testkit._versions import UNVERSIONED, VersioningSettings, load_versioning
from durable_testkit.errors import AppDiscoveryError, CoverageUnavailableError

# pytest hides this module's frames in failure reports (--full-trace shows them):
# what the user needs is the line of their own code.
__tracebackhide__ = True

__all__ = ["HistoryFile", "HistoryItem", "record_histories", "shape_of", "corpus_folder"]

INI_HISTORIES = "durable_histories"
INI_ALLOW_EMPTY = "durable_histories_allow_empty"
INI_STRICT = "durable_replay_strict"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("durable-testkit")
    group.addoption("--durable-record", dest="durable_record", default=None, metavar="DIR",
                    help="save the history of every instance a passing test ran to "
                         "completion (or left waiting) under DIR/<orchestrator>/<version>/, "
                         "one file per distinct shape")
    group.addoption("--durable-replay-strict", dest="durable_replay_strict",
                    action="store_true", default=None,
                    help="replay the durable_histories corpus in strict mode (inputs, fire "
                         "times and entity targets compared too)")
    group.addoption("--durable-replay-coverage", dest="durable_replay_coverage",
                    action="store_true", default=False,
                    help="measure the orchestrator lines and branches the corpus replays run "
                         "and print a table (needs coverage.py)")
    group.addoption("--durable-replay-coverage-fail-under", dest="durable_replay_fail_under",
                    type=float, default=None, metavar="N",
                    help="with --durable-replay-coverage: fail the run under N percent")
    parser.addini(INI_HISTORIES, type="paths", default=[],
                  help="folders of history files to replay as tests against the session's "
                       "function app (layout: <orchestrator>/<version>/<name>.json)")
    parser.addini(INI_ALLOW_EMPTY, type="bool", default=False,
                  help="allow the durable_histories folders to hold no history file")
    parser.addini(INI_STRICT, type="bool", default=False,
                  help="replay the durable_histories corpus in strict mode")


# --------------------------------------------------------------------------- session state
class _Corpus:
    """What the session knows about its corpus: roots, the app, strictness, coverage."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.roots: List[Path] = [Path(os.path.abspath(p)) for p in config.getini(INI_HISTORIES)]
        option = config.getoption("durable_replay_strict", None)
        self.strict = bool(option) if option is not None else bool(config.getini(INI_STRICT))
        self.allow_empty = bool(config.getini(INI_ALLOW_EMPTY))
        self.collected: List[Path] = []  # corpus roots this session's collection covers
        self._functions: Any = None
        self.versioning: Optional[VersioningSettings] = None
        self.coverage: Any = None
        self.report: Any = None
        self.want_coverage = bool(config.getoption("durable_replay_coverage", False)) or \
            config.getoption("durable_replay_fail_under", None) is not None

    def root_of(self, path: Path) -> Optional[Path]:
        for root in self.roots:
            if path == root or root in path.parents:
                return root
        return None

    def functions(self) -> Any:
        """The session's app, loaded once for every corpus item."""
        if self._functions is None:
            from durable_testkit.app import discover_app

            from .options import session_settings

            settings = session_settings(self.config)
            if settings.app is None:
                raise _CorpusUsage(
                    f"the {INI_HISTORIES} corpus replays against the test session's function "
                    "app, and none is set: set the durable_app ini option (e.g. durable_app "
                    "= src/) or pass --durable-app APP.")
            try:
                self._functions = discover_app(settings.app)
                self.versioning = load_versioning(self._functions.root)
            except AppDiscoveryError as exc:
                raise _CorpusUsage(f"durable-testkit could not load the function app "
                                   f"{settings.app!r} (set by {settings.app_source}) to "
                                   f"replay the corpus against:\n{exc}") from None
            if self.want_coverage:
                from durable_testkit._coverage import ReplayCoverage

                try:
                    self.coverage = ReplayCoverage(self._functions,
                                                   "--durable-replay-coverage")
                except CoverageUnavailableError as exc:
                    raise _CorpusUsage(str(exc)) from None
        return self._functions


class _CorpusUsage(Exception):
    """A setup problem every corpus item shares (reported once per item, briefly)."""


_CORPUS = pytest.StashKey[_Corpus]()
_RECORDER = pytest.StashKey["_Recorder"]()


def pytest_configure(config: pytest.Config) -> None:
    corpus = _Corpus(config)
    config.stash[_CORPUS] = corpus
    record = config.getoption("durable_record", None)
    if record:
        config.stash[_RECORDER] = _Recorder(Path(os.path.abspath(record)))
    if not corpus.roots:
        return
    # With no paths on the command line pytest collects testpaths (or the current folder);
    # the corpus folders are collected along with them, so `pytest` alone runs the check.
    # Paths given explicitly are collected alone: name the corpus folder to include it.
    explicit = config.args_source == pytest.Config.ArgsSource.ARGS
    args = [Path(os.path.abspath(a.split("::")[0])) for a in config.args]
    for root in corpus.roots:
        covered = any(root == a or a in root.parents for a in args)
        inside = any(root in a.parents for a in args)
        if covered or inside:
            corpus.collected.append(root)
        elif not explicit:
            if root.is_dir():
                config.args.append(str(root))
            corpus.collected.append(root)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> Optional["HistoryFile"]:
    corpus = parent.config.stash.get(_CORPUS, None)
    if corpus is None or file_path.suffix.lower() != ".json" or not corpus.roots:
        return None
    if corpus.root_of(Path(os.path.abspath(file_path))) is None:
        return None
    return HistoryFile.from_parent(parent, path=file_path)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: List[pytest.Item]) -> None:
    corpus = config.stash.get(_CORPUS, None)
    if corpus is None or corpus.allow_empty:
        return
    found = {corpus.root_of(Path(os.path.abspath(i.path))) for i in items
             if isinstance(i, HistoryItem)}
    for root in corpus.collected:
        if root not in found and not any(root in Path(os.path.abspath(a)).parents
                                         for a in config.args):
            where = f" (set in {config.inipath})" if config.inipath else ""
            state = "does not exist" if not root.exists() else "holds no *.json history file"
            raise pytest.UsageError(
                f"{INI_HISTORIES}: the corpus folder {root} {state}{where}. A replay check "
                "with no histories checks nothing. Save histories there (pytest "
                "--durable-record=DIR records them from your tests; durable-testkit import "
                "converts production exports), or set "
                f"{INI_ALLOW_EMPTY} = true while the corpus is being built.")


# --------------------------------------------------------------------------- items
class HistoryFile(pytest.File):
    """One history file of the corpus: it holds one item, its replay."""

    def collect(self) -> Iterator["HistoryItem"]:
        yield HistoryItem.from_parent(self, name="replay")


class HistoryReplayFailed(Exception):
    """Raised by a corpus item; ``repr_failure`` prints the check's message."""

    def __init__(self, check: Any) -> None:
        super().__init__(check.message)
        self.check = check


class HistoryItem(pytest.Item):
    """Replays one stored history against the session's app (strict if configured)."""

    def runtest(self) -> None:
        from durable_testkit.replay import check_history

        corpus = self.config.stash[_CORPUS]
        try:
            functions = corpus.functions()
        except _CorpusUsage as exc:
            pytest.fail(str(exc), pytrace=False)
        around = corpus.coverage.measuring if corpus.coverage is not None else None
        check = check_history(functions, self.path, strict=corpus.strict,
                          versioning=corpus.versioning, around=around)
        if check.status == "refused":
            pytest.skip(check.message)
        if not check.ok:
            raise HistoryReplayFailed(check)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Optional[str] = None) -> Union[str, Any]:
        if isinstance(excinfo.value, HistoryReplayFailed):
            check = excinfo.value.check
            return (f"{self._shown()} ({check.orchestrator}) no longer replays against the "
                    f"app's current code [{check.status}]:\n{check.message}")
        return super().repr_failure(excinfo, style=style)  # type: ignore[arg-type]

    def reportinfo(self) -> Tuple[Union[os.PathLike[str], str], Optional[int], str]:
        return self.path, None, f"replay {self._shown()}"

    def _shown(self) -> str:
        try:
            return str(self.path.relative_to(self.config.rootpath))
        except ValueError:
            return str(self.path)


# --------------------------------------------------------------------------- coverage
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    corpus = session.config.stash.get(_CORPUS, None)
    if corpus is None or corpus.coverage is None:
        return
    corpus.report = corpus.coverage.report()
    under = session.config.getoption("durable_replay_fail_under", None)
    if under is not None and corpus.report.percent < under and \
            session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int,
                            config: pytest.Config) -> None:
    corpus = config.stash.get(_CORPUS, None)
    if corpus is not None and corpus.want_coverage and corpus.report is None and \
            corpus.coverage is None:
        terminalreporter.write_sep("-", "durable-testkit replay coverage")
        terminalreporter.write_line("no corpus history was replayed in this run")
        return
    if corpus is None or corpus.report is None:
        return
    from durable_testkit._coverage import format_report

    terminalreporter.write_sep("-", "durable-testkit replay coverage")
    root = getattr(corpus.functions(), "root", None)
    for line in format_report(corpus.report, root).splitlines():
        terminalreporter.write_line(line)
    under = config.getoption("durable_replay_fail_under", None)
    if under is not None and corpus.report.percent < under:
        terminalreporter.write_line(
            f"FAIL replay coverage {corpus.report.percent:.1f}% is under "
            f"--durable-replay-coverage-fail-under={under:g}")


# --------------------------------------------------------------------------- recording
def shape_of(history: Any) -> str:
    """The shape hash: the sequence of event types and names, nothing else.

    Two runs that took the same path through the orchestrator have the same shape
    even if their inputs, results, ids and times differ; the recorder keeps one of each.
    """
    parts = []
    for event in history.events:
        wire = event.to_wire()
        parts.append([wire.get("EventType"), wire.get("Name")])
    return hashlib.sha256(json.dumps(parts).encode("utf-8")).hexdigest()[:16]


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe(text: str) -> str:
    cleaned = _UNSAFE.sub("_", text).strip("._") or "_"
    return cleaned[:100]


def corpus_folder(root: Path, history: Any) -> Path:
    """``root/<orchestrator>/<version or unversioned>``, the layout docs/replay.md describes."""
    from durable_testkit.replay import recorded_version

    version = recorded_version(history) or UNVERSIONED
    return root / _safe(history.orchestrator) / _safe(version)


class _Recorder:
    """Saves histories into a corpus folder, one per shape, never over another file."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._shapes: Dict[Path, Dict[str, str]] = {}  # folder -> shape -> file name
        self.saved: List[Path] = []

    def _known(self, folder: Path) -> Dict[str, str]:
        known = self._shapes.get(folder)
        if known is None:
            from durable_testkit.history import load_history

            known = {}
            if folder.is_dir():
                for path in sorted(folder.glob("*.json")):
                    try:
                        existing = load_history(path)
                    except Exception:  # noqa: BLE001 - an unreadable file keeps its name
                        continue
                    shape = existing.metadata.get("shape") or shape_of(existing)
                    known.setdefault(str(shape), path.name)
            self._shapes[folder] = known
        return known

    def save(self, history: Any, name: str, nodeid: str) -> Optional[Path]:
        from durable_testkit.history import InstanceHistory, save_history

        shape = shape_of(history)
        folder = corpus_folder(self.root, history)
        known = self._known(folder)
        if shape in known:
            return None  # a history of this shape is already in the corpus
        folder.mkdir(parents=True, exist_ok=True)
        metadata = dict(history.metadata)
        metadata.update({"recordedBy": nodeid, "shape": shape})
        record = InstanceHistory(history.orchestrator, history.instance_id, history.events,
                                 history.sdk_version, metadata)
        from durable_testkit._files import reserve_free_name

        try:
            # Reserved first: a parallel worker (xdist) never gets the same name.
            reserved, _ = reserve_free_name(str(folder / _safe(name)))
        except FileExistsError:  # pragma: no cover - ten thousand names taken
            return None
        path = Path(reserved)
        try:
            save_history(record, path)
        except BaseException:
            path.unlink()
            raise
        known[shape] = path.name
        self.saved.append(path)
        return path


# Instances worth keeping: those that ran to completion, and those left waiting (timers,
# events), whose replay is what a deployment meets in production.
_RECORDED_STATUSES = ("Completed", "Running", "Suspended", "ContinuedAsNew")


def record_histories(item: pytest.Item, rt: Any) -> List[Path]:
    """Save the histories of ``rt``'s instances for ``--durable-record`` (fixture teardown).

    Only for a test whose call passed: a failing test's histories show a path the code
    should not take. Failed and terminated instances are left out.
    """
    recorder = item.config.stash.get(_RECORDER, None)
    if recorder is None:
        return []
    from ._stash import phase_failed

    if phase_failed(item, "call"):
        return []
    saved = []
    base = getattr(item, "originalname", None) or item.name
    params = item.name[len(base):] if item.name.startswith(base) else ""
    for iid in rt.instance_ids:
        status = rt.status(iid)
        state = getattr(status.runtime_status, "name", str(status.runtime_status))
        if state not in _RECORDED_STATUSES:
            continue
        history = rt.export_history(iid)
        if not history.events:
            continue
        path = recorder.save(history, base + params, item.nodeid)
        if path is not None:
            saved.append(path)
    return saved
