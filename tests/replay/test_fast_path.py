"""check_histories' fast path (a saved file's wire dicts replayed as read) answers exactly
what the typed path answers: the same verdict and message, the same last execution."""
from __future__ import annotations

import json
from pathlib import Path

import azure.durable_functions as df

from durable_testkit import InMemoryRuntime, check_histories, save_history
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
