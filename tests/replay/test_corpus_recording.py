"""pytest --durable-record=DIR: the test suite writes the corpus (pytester)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from _corpus_apps import V1, write_app

pytest_plugins = ["pytester"]

TESTS = """
def test_order(durable_runtime):
    durable_runtime.run("process_order", {"id": 1})
    durable_runtime.run("process_order", {"id": 2})  # the same shape: kept once


def test_waiting(durable_runtime):
    durable_runtime.start("process_order", {"id": 3})
    durable_runtime.run_until_idle()  # left waiting on its timer


def test_failing(durable_runtime):
    durable_runtime.run("process_order", {"id": 4}, version="9.0")
    assert False, "a failing test's histories are not recorded"
"""

NOISY_ORDER = """
def test_order(durable_runtime):
    iid = durable_runtime.start("process_order", {"id": 5})
    durable_runtime.run_until_idle()
    durable_runtime.raise_event(iid, "noise")  # a new shape under the same test name
    durable_runtime.wait(iid)
"""


def files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    write_app(pytester.path / "app", V1, {"defaultVersion": "1.0"})
    pytester.makeini("[pytest]\ndurable_app = app\n")
    return pytester


def test_passing_tests_record_one_file_per_shape_in_the_corpus_layout(
        project: pytest.Pytester) -> None:
    project.makepyfile(test_orders=TESTS)
    out = project.path / "recorded"
    project.runpytest(f"--durable-record={out}").assert_outcomes(passed=2, failed=1)
    assert files(out) == ["process_order/1.0/test_order.json",
                          "process_order/1.0/test_waiting.json"]
    doc = json.loads((out / "process_order/1.0/test_order.json").read_text(encoding="utf-8"))
    assert doc["metadata"]["recordedBy"] == "test_orders.py::test_order"
    assert len(doc["metadata"]["shape"]) == 16
    assert doc["events"][1]["Version"] == "1.0"


def test_a_second_run_adds_nothing_and_a_new_shape_never_overwrites(
        project: pytest.Pytester) -> None:
    project.makepyfile(test_orders=TESTS)
    out = project.path / "recorded"
    project.runpytest(f"--durable-record={out}")
    before = {p: (out / p).read_bytes() for p in files(out)}
    project.runpytest(f"--durable-record={out}")
    assert {p: (out / p).read_bytes() for p in files(out)} == before
    project.makepyfile(test_orders=NOISY_ORDER)
    project.runpytest(f"--durable-record={out}").assert_outcomes(passed=1)
    assert files(out) == ["process_order/1.0/test_order-2.json",
                          "process_order/1.0/test_order.json",
                          "process_order/1.0/test_waiting.json"]
    assert {p: (out / p).read_bytes() for p in before} == before  # untouched


def test_recorded_histories_replay_as_the_corpus(project: pytest.Pytester) -> None:
    project.makepyfile(test_orders=TESTS)
    project.runpytest("--durable-record=histories")
    project.makeini("[pytest]\ndurable_app = app\ndurable_histories = histories/\n")
    result = project.runpytest("histories")
    result.assert_outcomes(passed=2)


def test_without_the_option_nothing_is_written(project: pytest.Pytester) -> None:
    project.makepyfile(test_orders=TESTS)
    project.runpytest()
    assert not (project.path / "recorded").exists()
    assert not any(p.suffix == ".json" for p in project.path.rglob("*.json")
                   if "app" not in p.parts)
