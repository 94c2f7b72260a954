"""Fuzzing history files: load_history returns an InstanceHistory or raises HistoryFormatError.

Nothing else may escape -- no RecursionError, ValueError, OverflowError, KeyError,
UnicodeError -- whatever the file holds, and whatever loads must save and load back equal.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterator, List

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from durable_testkit.cli import main
from durable_testkit.errors import HistoryFormatError
from durable_testkit.history import InstanceHistory, load_history, save_history

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests/unit/data"
SEEDS = {name: json.loads((DATA / name).read_text(encoding="utf-8-sig"))
         for name in ("history_golden.json", "history_bare_list.json", "history_context.json")}
# DTK_FUZZ_EXAMPLES=5000 for a longer hunt; the default keeps the suite to seconds.
EXAMPLES = int(os.environ.get("DTK_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Raw JSON text spliced in where json.dumps could not produce it.
RAW_SENTINEL = "\x00raw\x00"

lone_surrogates = st.sampled_from(["\ud800", "\udc80", "a\udfffb", "\udbff\udbff"])
timestamps = st.one_of(
    st.sampled_from([
        "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2024-01-01T00:00:00+24:00",
        "2024-02-30T00:00:00Z", "2024-01-01T00:00:00", "2024-01-01T00:00:00.12345678Z",
        "0000-01-01T00:00:00Z", "2024-13-01T00:00:00Z", "2024-01-01T24:00:00Z", "",
        "2024-01-01T00:00:00.1234567Z", "2024-01-01T00:00:00-04:00", "\u0662024-01-01T00:00:00Z",
    ]),
    st.text(max_size=40),
)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30), lone_surrogates, timestamps,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12,
)


@st.composite
def raw_json(draw: st.DrawFn) -> str:
    """JSON texts Python's parser chokes on: deep nesting and huge integers."""
    kind = draw(st.sampled_from(["array", "object", "int", "negint", "float"]))
    if kind in ("array", "object"):
        depth = draw(st.sampled_from([10, 900, 990, 1_000, 1_500, 5_000, 20_000]))
        return ("[" * depth + "]" * depth if kind == "array"
                else '{"a":' * depth + "1" + "}" * depth)
    digits = draw(st.sampled_from([4_300, 4_301, 5_000, 10_000]))
    text = "9" * digits
    return {"int": text, "negint": "-" + text, "float": text + ".5e3"}[kind]


KEYS = ["EventType", "EventId", "IsPlayed", "Timestamp", "Name", "Input", "Result",
        "TaskScheduledId", "TimerId", "FireAt", "OrchestrationInstance", "Version",
        "Reason", "Details", "InstanceId", "ParentInstance", "FailureDetails", "Extra"]
TOP_KEYS = ["format", "version", "orchestrator", "instanceId", "sdkVersion", "metadata",
            "events", "history"]


@st.composite
def mutated_documents(draw: st.DrawFn) -> str:
    """A real history file, bare list or context JSON with a few fields mutated."""
    doc: Any = json.loads(json.dumps(SEEDS[draw(st.sampled_from(sorted(SEEDS)))]))
    events: List[Any] = doc if isinstance(doc, list) else doc.get("events") or doc["history"]
    raws: List[str] = []

    def value() -> Any:
        if draw(st.integers(0, 5)) == 0:
            raws.append(draw(raw_json()))
            return RAW_SENTINEL
        return draw(json_values)

    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.sampled_from(["event", "event", "time", "top", "drop", "list"]))
        if where == "time" and events:
            event = events[draw(st.integers(0, len(events) - 1))]
            if isinstance(event, dict):
                event[draw(st.sampled_from(["Timestamp", "FireAt"]))] = draw(timestamps)
        elif where == "top" and isinstance(doc, dict):
            doc[draw(st.sampled_from(TOP_KEYS))] = value()
        elif where == "drop" and events:
            event = events[draw(st.integers(0, len(events) - 1))]
            if isinstance(event, dict) and event:
                event.pop(draw(st.sampled_from(sorted(event))))
        elif where == "list" and events:
            events[draw(st.integers(0, len(events) - 1))] = value()
        elif events:
            event = events[draw(st.integers(0, len(events) - 1))]
            if isinstance(event, dict):
                event[draw(st.sampled_from(KEYS))] = value()
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()), allow_nan=True)
    for raw in raws:
        text = text.replace(json.dumps(RAW_SENTINEL), raw, 1)
    return text


@contextlib.contextmanager
def a_file(content: Any) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.json"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_bytes(content.encode("utf-8", errors="surrogatepass"))
        yield path


def load_or_format_error(path: Path) -> Any:
    try:
        loaded = load_history(path)
    except HistoryFormatError as exc:
        assert exc.path == str(path)
        assert "\n" not in str(exc)
        return None
    assert isinstance(loaded, InstanceHistory)
    return loaded


def round_trips(loaded: InstanceHistory, folder: Path) -> None:
    copy = folder / "copy.json"
    try:
        save_history(loaded, copy)
    except HistoryFormatError as exc:
        assert "NaN or Infinity" in str(exc) or "nested too deeply" in str(exc) \
            or "not JSON serializable" in str(exc), exc
        assert not copy.exists() and [n for n in os.listdir(folder)
                                      if n.endswith(".dtk-tmp")] == []
        return
    assert load_history(copy) == loaded


@FUZZ
@given(mutated_documents())
def test_mutated_histories_load_or_raise_history_format_error(text: str) -> None:
    with a_file(text) as path:
        loaded = load_or_format_error(path)
        if loaded is not None:
            round_trips(loaded, path.parent)


@FUZZ
@given(st.one_of(st.binary(max_size=200),
                 st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
                 raw_json().map(str.encode),
                 json_values.map(lambda v: json.dumps(v).encode("utf-8", "surrogatepass"))))
def test_any_bytes_load_or_raise_history_format_error(content: bytes) -> None:
    with a_file(content) as path:
        load_or_format_error(path)


@FUZZ
@given(mutated_documents())
def test_show_answers_0_or_1_with_at_most_one_line_per_file(text: str) -> None:
    with a_file(text) as path:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(["show", str(path), str(DATA / "history_golden.json")])
    assert status in (0, 1)
    errors = err.getvalue().splitlines()
    assert len(errors) == status
    assert all(line.startswith(f"durable-testkit show: {path}") for line in errors)
    assert "ProcessOrder [order-42]" in out.getvalue()  # the file after it is still shown


APP = """
import azure.durable_functions as df
app = df.DFApp()
@app.orchestration_trigger(context_name='context')
def ProcessOrder(context):
    while True:
        yield context.call_activity('anything', None)
"""


@settings(max_examples=max(10, EXAMPLES // 4), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.one_of(json_values.map(lambda v: json.dumps(v)), raw_json(), st.text(max_size=30),
                 st.builds(lambda m, c, d: json.dumps({"__class__": c, "__module__": m,
                                                        "__data__": d}),
                           st.sampled_from(["no_such_module", "os", "builtins", "json"]),
                           st.sampled_from(["Nope", "path", "dict", "loads"]),
                           st.sampled_from(["{}", "null", "[", '"x"']))))
def test_replay_answers_0_or_1_whatever_the_payloads(payload: str) -> None:
    doc: Dict[str, Any] = json.loads(json.dumps(SEEDS["history_golden.json"]))
    for event in doc["events"]:
        if event.get("EventType") in (5, 8):  # TaskCompleted, SubOrchestrationInstanceCompleted
            event["Result"] = payload
        if event.get("EventType") in (0, 15):  # ExecutionStarted, EventRaised
            event["Input"] = payload
    with a_file(json.dumps(doc)) as path:
        app = path.parent / "app.py"
        app.write_text(APP, encoding="utf-8")
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(["replay", str(app), str(path)])
    assert status in (0, 1), err.getvalue()
    lines = out.getvalue().splitlines()
    assert lines and lines[0].startswith(("ok   " if status == 0 else "FAIL ") + str(path))
