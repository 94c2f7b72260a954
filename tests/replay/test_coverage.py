"""Replay coverage: per-orchestrator lines and branches the corpus runs, without disturbing
another coverage measurement in the same process."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from _corpus_apps import V1, V2_GATED, record, write_app
from durable_testkit._coverage import ReplayCoverage, format_report
from durable_testkit.app import discover_app
from durable_testkit.cli import main
from durable_testkit.errors import CoverageUnavailableError
from durable_testkit.replay import check_history

# On Python 3.9 the replays' lines are not all traced (the guard runs them on a worker
# thread the tracer did not start on); replay coverage is supported on 3.10+ (docs/replay.md).
pytestmark = pytest.mark.skipif(sys.version_info < (3, 10),
                                reason="replay coverage is measured on Python 3.10+")

pytest_plugins = ["pytester"]

coverage = pytest.importorskip("coverage")


@pytest.fixture
def corpus(tmp_path: Path) -> dict[str, Path]:
    """The gated 2.0 app, and histories: two 1.0 ones (old path) and a 2.0 one (new path)."""
    v1 = write_app(tmp_path / "v1", V1, {"defaultVersion": "1.0"})
    gated = write_app(tmp_path / "gated", V2_GATED, {"defaultVersion": "2.0"})
    return {
        "app": gated,
        "old": record(v1, tmp_path / "histories", instance_id="old"),
        "waiting": record(v1, tmp_path / "histories", instance_id="waiting", finish=False),
        "new": record(gated, tmp_path / "histories", instance_id="new"),
    }


def measure(app: Path, *paths: Path) -> ReplayCoverage:
    functions = discover_app(str(app))
    cov = ReplayCoverage(functions)
    for path in paths:
        assert check_history(functions, path, around=cov.measuring).ok
    return cov


def test_old_histories_cover_the_old_branch_only(corpus: dict[str, Path]) -> None:
    report = measure(corpus["app"], corpus["old"], corpus["waiting"]).report()
    rows = {r.orchestrator: r for r in report.rows}
    order = rows["process_order"]
    # process_order (7 lines) + _pay (5) + _older (4, unversioned line missing):
    assert (order.histories, order.statements, order.covered_statements) == (2, 14, 11)
    assert (order.branches, order.covered_branches) == (4, 2)
    assert order.functions == ("function_app.py:_older", "function_app.py:_pay",
                               "function_app.py:process_order")
    missing = dict(order.missing)
    assert list(missing) == [str(corpus["app"].resolve() / "function_app.py")]
    assert round(order.percent, 1) == 72.2
    audit = rows["audit"]  # no history of it: all of it uncovered
    assert (audit.histories, audit.statements, audit.covered_statements) == (0, 2, 0)


def test_a_new_history_covers_the_new_branch(corpus: dict[str, Path]) -> None:
    report = measure(corpus["app"], corpus["old"], corpus["new"]).report()
    order = {r.orchestrator: r for r in report.rows}["process_order"]
    assert (order.covered_statements, order.covered_branches) == (13, 3)
    assert (report.statements, report.covered_statements) == (16, 13)
    assert round(report.percent, 1) == 80.0
    text = format_report(report, str(corpus["app"]))
    assert text.splitlines()[0].split() == ["orchestrator", "histories", "lines", "branches",
                                            "cover"]
    assert "process_order          2     13/14       3/4   88.9%" in text
    assert "Lines no stored history reaches:" in text
    assert "  audit: function_app.py: 41-42" in text


def test_the_cli_prints_the_table_and_fails_under_the_threshold(
        corpus: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    args = ["replay", str(corpus["app"]), str(corpus["old"]), str(corpus["new"]), "--coverage"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Replay coverage (orchestrator code the histories run):" in out
    assert "TOTAL" in out and "80.0%" in out
    assert main(args + ["--fail-under", "90"]) == 1
    assert "FAIL replay coverage 80.0% is under --fail-under 90%" in capsys.readouterr().out
    assert main(args + ["--fail-under", "80"]) == 0


def test_without_coverage_installed_the_error_says_what_to_install(
        corpus: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "coverage", None)  # import coverage -> ImportError
    with pytest.raises(CoverageUnavailableError, match=r"durable-testkit\[coverage\]"):
        ReplayCoverage(discover_app(str(corpus["app"])))
    assert main(["replay", str(corpus["app"]), str(corpus["old"]), "--coverage"]) == 2
    assert "pip install durable-testkit[coverage]" in capsys.readouterr().err


def test_an_outer_measurement_keeps_its_tracer_and_its_lines(corpus: dict[str, Path],
                                                             tmp_path: Path) -> None:
    probe = tmp_path / "probe_mod.py"
    probe.write_text("def before():\n    return 1\n\n\ndef after():\n    return 2\n",
                     encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    try:
        import probe_mod  # type: ignore[import-not-found]

        outer = coverage.Coverage(data_file=None, include=[str(probe)])
        # pytest-cov (or coverage run) may already trace this process: stack on top of it.
        outer.start()
        try:
            tracer = sys.gettrace()
            probe_mod.before()
            cov = measure(corpus["app"], corpus["old"])
            assert sys.gettrace() is tracer
            assert coverage.Coverage.current() is outer
            probe_mod.after()
        finally:
            outer.stop()
        assert sorted(outer.get_data().lines(str(probe)) or []) == [2, 6]
        assert cov.report().rows[1].covered_statements == 11
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("probe_mod", None)


CONFTEST_WITH_OUTER_COVERAGE = """
import sys
import coverage

OUTER = coverage.Coverage(data_file=None, include=["*/tests/test_trivial.py"])


def pytest_configure(config):
    OUTER.start()


def pytest_unconfigure(config):
    assert coverage.Coverage.current() is OUTER, "the outer measurement was replaced"
    OUTER.stop()
    lines = sorted(OUTER.get_data().measured_files())
    print("OUTER MEASURED", " ".join(l.rsplit("/", 1)[-1] for l in lines), "lines",
          " ".join(map(str, sorted(OUTER.get_data().lines(lines[0]) or []))) if lines else "")
"""


def test_the_plugin_prints_the_table_beside_an_outer_coverage_run(
        pytester: pytest.Pytester, corpus: dict[str, Path]) -> None:
    import shutil

    shutil.copytree(corpus["app"], pytester.path / "app")
    shutil.copytree(corpus["old"].parent.parent.parent, pytester.path / "histories")
    tests = pytester.path / "tests"
    tests.mkdir()
    (tests / "test_trivial.py").write_text("def test_nothing():\n    x = 1\n    assert x\n",
                                           encoding="utf-8")
    (pytester.path / "conftest.py").write_text(CONFTEST_WITH_OUTER_COVERAGE, encoding="utf-8")
    pytester.makeini("[pytest]\ntestpaths = tests\ndurable_app = app\n"
                     "durable_histories = histories/\n")
    result = pytester.runpytest_subprocess("--durable-replay-coverage", "-s", "-p",
                                           "no:randomly")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines([
        "*durable-testkit replay coverage*",
        "orchestrator   histories  lines     branches  cover",
        "audit                  0       0/2       0/0    0.0%",
        "process_order          3     13/14       3/4   88.9%",
        "TOTAL                  3     13/16       3/4   80.0%",
        "OUTER MEASURED test_trivial.py lines 1 2 3",
    ])
    failing = pytester.runpytest_subprocess("--durable-replay-coverage",
                                            "--durable-replay-coverage-fail-under=95")
    assert failing.ret == pytest.ExitCode.TESTS_FAILED
    failing.stdout.fnmatch_lines(["FAIL replay coverage 80.0% is under "
                                  "--durable-replay-coverage-fail-under=95"])
