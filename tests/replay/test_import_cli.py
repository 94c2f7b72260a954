"""``durable-testkit import``: one line per source, the corpus layout, exit 1 on a failure."""
from __future__ import annotations

import json
import os
import shutil
from typing import Any

import pytest

from durable_testkit import load_history
from durable_testkit.cli import main

from golden_orchestrators import DATA


def test_import_writes_the_corpus_and_goes_on_after_a_bad_source(
        tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text("[1, 2")
    out = tmp_path / "corpus"
    sources = [os.path.join(DATA, "order-17.core-tools.json"), str(bad),
               os.path.join(DATA, "hello-sequence.status-api.json")]
    status = main(["import", *sources, "--out", str(out), "--version", "3.0"])
    lines = capsys.readouterr().out.splitlines()
    assert status == 1
    assert len(lines) == 3
    written = out / "OrderWorkflow" / "3.0" / "order-17.json"
    assert lines[0] == (f"ok   {sources[0]}: OrderWorkflow order-17 -> {written} (1 note)")
    assert lines[1].startswith(f"FAIL {bad}: {bad}: not valid JSON")
    hello = out / "E1_HelloSequence" / "3.0" / "7af46ff000564c65aafbfe99d07c32a5.json"
    assert lines[2].startswith(f"ok   {sources[2]}: E1_HelloSequence "
                               f"7af46ff000564c65aafbfe99d07c32a5 -> {hello} (")
    history = load_history(str(written))
    assert history.metadata["import"]["format"] == "core-tools"
    assert load_history(str(hello)).orchestrator == "E1_HelloSequence"


def test_import_with_app_orders_by_code_and_sanitizes_ids(
        tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "fan.json"
    body = json.loads(open(os.path.join(DATA, "fan-1.status-api.json")).read())
    body["instanceId"] = "fan:1/a"
    source.write_text(json.dumps(body))
    out = tmp_path / "corpus"
    status = main(["import", str(source), "--out", str(out), "--format", "status-api",
                   "--app", "golden_app:app"])
    assert status == 0, capsys.readouterr()
    files = list((out / "FanOut" / "unversioned").iterdir())
    assert len(files) == 1 and files[0].name.startswith("fan_1_a-") and \
        files[0].name.endswith(".json")
    notes = load_history(str(files[0])).metadata["import"]["notes"]
    assert "scheduling order and sequence numbers taken from replaying the orchestrator code" \
        in notes


def test_table_export_of_two_instances_writes_two_files(tmp_path: Any,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    shutil.copy(os.path.join(DATA, "OrderHubHistory.csv"), tmp_path / "OrderHubHistory.csv")
    text = (tmp_path / "OrderHubHistory.csv").read_text()
    body = text.splitlines()[1:]
    (tmp_path / "OrderHubHistory.csv").write_text(
        text + "\n".join(line.replace("order-17", "order-18") for line in body) + "\n")
    status = main(["import", str(tmp_path / "OrderHubHistory.csv"), "--out",
                   str(tmp_path / "c")])
    assert status == 0
    assert sorted(p.name for p in (tmp_path / "c" / "OrderWorkflow" / "unversioned").iterdir()
                  ) == ["order-17.json", "order-18.json"]


def test_import_with_an_app_that_cannot_load_is_a_usage_error(
        tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["import", os.path.join(DATA, "fan-1.status-api.json"), "--out",
                   str(tmp_path), "--app", "no_such_module_here"])
    assert status == 2
    assert capsys.readouterr().err.startswith("durable-testkit import: ")


def test_import_never_writes_over_a_different_history_of_the_same_instance(
        tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    source = os.path.join(DATA, "order-17.core-tools.json")
    other = tmp_path / "order-17-again.json"  # the same id, reused: another history
    events = json.loads(open(source).read())
    events[1]["Input"] = json.dumps({"orderId": "17", "reused": True})
    other.write_text(json.dumps(events))
    out = tmp_path / "corpus"
    assert main(["import", source, str(other), "--out", str(out)]) == 0
    folder = out / "OrderWorkflow" / "unversioned"
    assert sorted(p.name for p in folder.iterdir()) == ["order-17-2.json", "order-17.json"]
    assert "reused" in str(load_history(str(folder / "order-17-2.json")).events[1])
    lines = capsys.readouterr().out.splitlines()
    assert f"-> {folder / 'order-17-2.json'} (order-17.json holds a different history of " \
        "it) (" in lines[1], lines
    # Importing the same exports again rewrites their files and adds none.
    assert main(["import", source, str(other), "--out", str(out)]) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["order-17-2.json", "order-17.json"]
