"""check_histories' fast path (a saved file's wire dicts replayed as read) answers exactly
what the typed path answers: the same verdict and message, the same last execution."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Dict, List

import azure.durable_functions as df
import pytest

from durable_testkit import InMemoryRuntime, _sdk, check_histories, save_history
from durable_testkit._host.episode import EpisodeEnd, replay_events
from durable_testkit.history import _load_wire_events

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    n = context.get_input()
    value = yield context.call_activity("inc", n)
    if n < 2:
        context.continue_as_new(n + 1)
        return None
    return value


@app.activity_trigger(input_name="value")
def inc(value: int) -> int:
    return value + 1


def _saved(tmp_path: Path) -> Path:
    rt = InMemoryRuntime.from_app(app)
    try:
        result = rt.run("chain", 0)
        assert result.output == 3
        path = tmp_path / "chain.json"
        save_history(rt.export_history(result.instance_id), path)
        return path
    finally:
        rt.close()


def _bare_list_copy(path: Path) -> Path:
    """The same events as a bare list: another format, so the typed path reads it."""
    copy = path.with_name("bare.json")
    copy.write_text(json.dumps(json.loads(path.read_text())["events"]))
    assert _load_wire_events(copy) is None
    return copy


def test_a_saved_file_replays_on_the_fast_path_as_on_the_typed_one(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    loaded = _load_wire_events(path)
    assert loaded is not None and loaded[0] == "chain"
    (fast,) = check_histories(app, [path])
    (typed,) = check_histories(app, [_bare_list_copy(path)])
    assert fast.ok and typed.ok
    assert (fast.status, fast.message, fast.result) == (typed.status, typed.message, typed.result)
    assert fast.result is not None and fast.result.output == 3  # the last execution


def test_a_divergence_reads_exactly_as_on_the_typed_path(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    bare = _bare_list_copy(path)
    # Same orchestrator name, other code.
    renamed = df.DFApp()

    @renamed.orchestration_trigger(context_name="context", orchestration="chain")
    def chain_v2(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        yield context.call_activity("other", 0)

    (fast,) = check_histories(renamed, [path])
    (typed,) = check_histories(renamed, [bare])
    assert not fast.ok and fast.status == "diverged"
    assert fast.message == typed.message.replace(str(bare), str(path))


def test_an_edited_file_with_a_non_wire_event_takes_the_typed_path(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    doc = json.loads(path.read_text())
    doc["events"][1]["EventType"] = "TaskScheduled"
    path.write_text(json.dumps(doc))
    assert _load_wire_events(path) is None
    (check,) = check_histories(app, [path])
    assert check.status in ("ok", "unreadable")  # whatever the typed reader says of it


# ---------------------------------------------------------------- the file's own text
def test_the_fast_path_hands_the_sdk_the_files_event_text(tmp_path: Path) -> None:
    path = _one_execution(tmp_path)
    loaded = _load_wire_events(path)
    assert loaded is not None and loaded.text is not None
    assert json.loads("[" + loaded.text + "]") == loaded.events
    seen: List[str] = []

    def spy(context: str) -> str:
        seen.append(context)
        return handle(context)

    handle = _sdk.orchestrator_handle("chain", chain)
    spy.orchestrator_function = handle.orchestrator_function  # type: ignore[attr-defined]
    outcome, _ = replay_events(spy, loaded.events, instance_id=loaded.instance_id,
                               orchestrator="chain", text=loaded.text)
    assert outcome.end is EpisodeEnd.CONTINUED_AS_NEW
    assert loaded.text in seen[0]
    assert json.loads(seen[0])["history"] == loaded.events


def _diverging_handle() -> Callable[[str], str]:
    def other(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        yield context.call_activity("other", 0)

    return _sdk.orchestrator_handle("chain", other)


def test_the_text_path_checks_every_event_itself(tmp_path: Path) -> None:
    # A divergence on the fast path falls back to the typed path, which would hide a
    # fast path that checked nothing: ask the replay on the file's text directly.
    path = _one_execution(tmp_path)
    loaded = _load_wire_events(path)
    assert loaded is not None and loaded.text is not None
    fast, _ = replay_events(_diverging_handle(), loaded.events,
                            instance_id=loaded.instance_id, orchestrator="chain",
                            text=loaded.text)
    typed, _ = replay_events(_diverging_handle(), loaded.events,
                             instance_id=loaded.instance_id, orchestrator="chain")
    assert fast.end is EpisodeEnd.DIVERGED and fast.divergence is not None
    assert typed.divergence is not None
    assert (fast.divergence.event_index, fast.divergence.detail) == \
        (typed.divergence.event_index, typed.divergence.detail)


def _rewritten(path: Path, edit: Callable[[Dict[str, Any]], None]) -> Path:
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc, indent=2))
    return path


def _one_execution(tmp_path: Path) -> Path:
    """The chain's history cut to its first execution, replayed as it stands."""
    path = _saved(tmp_path)

    def first(doc: Dict[str, Any]) -> None:
        events = doc["events"]
        second = [i for i, e in enumerate(events) if e["EventType"] == 0][1]
        doc["events"] = events[:second - 1]

    return _rewritten(path, first)


def test_a_single_execution_file_replays_from_its_text(tmp_path: Path) -> None:
    path = _one_execution(tmp_path)
    loaded = _load_wire_events(path)
    assert loaded is not None and loaded.text is not None
    (check,) = check_histories(app, [path])
    (typed,) = check_histories(app, [_bare_list_copy(path)])
    assert check.ok and (check.message, check.result) == (typed.message, typed.result)


def test_events_not_yet_played_are_serialized_instead(tmp_path: Path) -> None:
    path = _rewritten(_one_execution(tmp_path),
                      lambda doc: doc["events"][-1].update(IsPlayed=False))
    loaded = _load_wire_events(path)
    assert loaded is not None and loaded.text is None
    (check,) = check_histories(app, [path])
    assert check.ok, check.message


def test_an_events_name_inside_the_events_leaves_the_text_alone(tmp_path: Path) -> None:
    def rename(doc: Dict[str, Any]) -> None:
        doc["events"][-1]["events"] = ["not", "the", "list"]

    path = _rewritten(_one_execution(tmp_path), rename)
    loaded = _load_wire_events(path)
    assert loaded is not None and loaded.text is None
    (check,) = check_histories(app, [path])
    assert check.ok, check.message


def test_an_escaped_events_key_falls_back_to_the_typed_path(tmp_path: Path) -> None:
    # The document's own key spelt with an escape and a literal "events" key nested in an
    # event: the text cut is wrong, the SDK refuses it, and the typed path answers.
    path = _rewritten(_one_execution(tmp_path),
                      lambda doc: doc["events"][-1].update(events=[1]))
    text = path.read_text()
    head, sep, tail = text.partition('"events": [')
    assert sep and head.count('"events"') == 0 and tail.count('"events"') == 1
    path.write_text(head + '"\\u0065vents": [' + tail)
    loaded = _load_wire_events(path)
    assert loaded is not None and loaded.text is not None  # the wrong cut
    (check,) = check_histories(app, [path])
    (typed,) = check_histories(app, [_bare_list_copy(path)])
    assert check.ok and (check.message, check.result) == (typed.message, typed.result)


def test_a_version_given_for_a_file_without_one_is_replayed(tmp_path: Path) -> None:
    path = _one_execution(tmp_path)
    (check,) = check_histories(app, [path], version="2.0")
    (typed,) = check_histories(app, [_bare_list_copy(path)], version="2.0")
    assert check.ok and check.version == typed.version == "2.0"
    assert (check.message, check.result) == (typed.message, typed.result)


# ---------------------------------------------------------------- what the fast path takes
def _edited(tmp_path: Path, edit: Callable[[List[Any]], None]) -> Path:
    path = _saved(tmp_path)
    doc = json.loads(path.read_text())
    edit(doc["events"])
    path.write_text(json.dumps(doc))
    return path


def _set(index: int, key: str, value: Any) -> Callable[[List[Any]], None]:
    def edit(events: List[Any]) -> None:
        events[index][key] = value
    return edit


def _drop_starts(events: List[Any]) -> None:
    events[:] = [e for e in events if e["EventType"] != 0]


@pytest.mark.parametrize("edit", [
    _set(1, "EventType", True),  # a bool is no EventType, though True == 1
    _set(2, "EventId", "3"),
    _set(2, "EventId", None),
    _set(0, "Timestamp", 5),
    _set(2, "IsPlayed", 1),  # 1 == True, but not a bool
    _set(2, "IsPlayed", None),
    _set(1, "Name", None),  # ExecutionStarted without its orchestrator's name
    _set(1, "OrchestrationInstance", {"InstanceId": 7}),
    lambda events: events.__setitem__(3, [1, 2]),  # an event that is not an object
    _drop_starts,
    lambda events: events.clear(),
], ids=["EventType bool", "EventId text", "EventId null", "Timestamp number", "IsPlayed 1",
        "IsPlayed null", "no Name", "InstanceId number", "a list", "no ExecutionStarted",
        "no events"])
def test_an_event_of_the_wrong_shape_sends_the_file_to_the_typed_path(
        tmp_path: Path, edit: Callable[[List[Any]], None]) -> None:
    path = _edited(tmp_path, edit)
    assert _load_wire_events(path) is None


def test_an_unplayed_event_keeps_the_events_but_not_the_files_text(tmp_path: Path) -> None:
    path = _edited(tmp_path, _set(2, "IsPlayed", False))
    loaded = _load_wire_events(path)
    assert loaded is not None and loaded.text is None
    assert loaded.events[2]["IsPlayed"] is False
    (tmp_path / "clean").mkdir()
    clean = _load_wire_events(_saved(tmp_path / "clean"))
    assert clean is not None and clean.text is not None
