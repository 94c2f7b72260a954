"""The durable_histories corpus collected by pytest: one item per history file (pytester)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from _corpus_apps import V1, V1_NEW_INPUT, V2_GATED, V2_UNGATED, record, write_app

pytest_plugins = ["pytester"]

TRIVIAL_TEST = "def test_nothing():\n    pass\n"


def make_project(pytester: pytest.Pytester, source: str, *, durable: object = None,
                 histories: bool = True, extra_ini: str = "") -> pytest.Pytester:
    """A project: app/ (the code under test), histories/ recorded by V1 at 1.0, tests/."""
    if histories:
        recorder = write_app(pytester.path / "v1_app", V1, {"defaultVersion": "1.0"})
        record(recorder, pytester.path / "histories", instance_id="o-1")
        record(recorder, pytester.path / "histories", instance_id="o-2", finish=False)
    write_app(pytester.path / "app", source,
              durable if durable is not None else {"defaultVersion": "2.0"})  # type: ignore[arg-type]
    tests = pytester.path / "tests"
    tests.mkdir()
    (tests / "test_trivial.py").write_text(TRIVIAL_TEST, encoding="utf-8")
    pytester.makeini("[pytest]\ntestpaths = tests\ndurable_app = app\n"
                     "durable_histories = histories/\n" + extra_ini)
    return pytester


def test_each_history_file_is_one_item_named_by_its_path(pytester: pytest.Pytester) -> None:
    make_project(pytester, V2_GATED)
    result = pytester.runpytest("--collect-only", "-q")
    ids = [line for line in result.outlines if "::" in line]
    assert sorted(ids) == [
        "histories/process_order/1.0/o-1.json::replay",
        "histories/process_order/1.0/o-2.json::replay",
        "tests/test_trivial.py::test_nothing",
    ]


def test_a_gated_change_replays_every_old_history(pytester: pytest.Pytester) -> None:
    make_project(pytester, V2_GATED)
    pytester.runpytest().assert_outcomes(passed=3)


def test_an_ungated_change_fails_with_the_event_index_expected_actual_and_timeline(
        pytester: pytest.Pytester) -> None:
    make_project(pytester, V2_UNGATED)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=2)
    text = result.stdout.str()
    assert "histories/process_order/1.0/o-1.json (process_order) no longer replays" in text
    assert "at history event 6" in text
    assert "expected (history): activity 'charge' #1" in text
    assert "actual (code):      activity 'apply_discount' #1" in text
    assert "History:" in text and "TaskScheduled" in text
    assert "Traceback" not in text  # repr_failure prints the divergence, not our stack


def test_strict_mode_from_the_ini_file_catches_an_input_change(
        pytester: pytest.Pytester) -> None:
    make_project(pytester, V1_NEW_INPUT, durable={"defaultVersion": "1.0"})
    pytester.runpytest().assert_outcomes(passed=3)  # the host's check lets it pass
    pytester.makeini("[pytest]\ntestpaths = tests\ndurable_app = app\n"
                     "durable_histories = histories/\ndurable_replay_strict = true\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*Strict replay: activity 'charge' #1 is called with "
                                 "another input*"])


def test_a_history_newer_than_the_code_is_skipped_as_the_host_would_leave_it(
        pytester: pytest.Pytester) -> None:
    make_project(pytester, V1, durable={"defaultVersion": "0.9"})
    result = pytester.runpytest("-rs")
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(["*not replayed: version '1.0' is newer than the worker's "
                                 "version '0.9'*"])


def test_an_empty_corpus_is_an_error_unless_allowed(pytester: pytest.Pytester) -> None:
    make_project(pytester, V1, histories=False)
    (pytester.path / "histories").mkdir()
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*durable_histories: the corpus folder *histories holds no "
                                 "*.json history file*durable_histories_allow_empty = true*"])
    pytester.makeini("[pytest]\ntestpaths = tests\ndurable_app = app\n"
                     "durable_histories = histories/\ndurable_histories_allow_empty = true\n")
    pytester.runpytest().assert_outcomes(passed=1)


def test_a_missing_corpus_folder_is_an_error_too(pytester: pytest.Pytester) -> None:
    make_project(pytester, V1, histories=False)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*the corpus folder *histories does not exist*"])


def test_naming_other_paths_runs_them_alone(pytester: pytest.Pytester) -> None:
    make_project(pytester, V2_UNGATED)
    pytester.runpytest("tests/test_trivial.py").assert_outcomes(passed=1)
    pytester.runpytest("histories").assert_outcomes(failed=2)


def test_without_an_app_the_items_fail_saying_how_to_set_one(
        pytester: pytest.Pytester) -> None:
    make_project(pytester, V1)
    pytester.makeini("[pytest]\ntestpaths = tests\ndurable_histories = histories/\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*corpus replays against the test session's function app, "
                                 "and none is set: set the durable_app ini option*"])


def test_an_unreadable_history_fails_its_own_item_only(pytester: pytest.Pytester) -> None:
    make_project(pytester, V2_GATED)
    bad = pytester.path / "histories" / "process_order" / "1.0" / "broken.json"
    bad.write_text(json.dumps({"format": "nope"}), encoding="utf-8")
    result = pytester.runpytest()
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*broken.json (?) no longer replays*[unreadable]*"])


def test_histories_are_files_not_collected_outside_the_corpus(pytester: pytest.Pytester,
                                                              tmp_path: Path) -> None:
    make_project(pytester, V2_GATED)
    (pytester.path / "tests" / "data.json").write_text("{}", encoding="utf-8")
    pytester.runpytest().assert_outcomes(passed=3)
