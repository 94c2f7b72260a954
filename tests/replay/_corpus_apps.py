"""Test-only V2 apps for the corpus, strict, version and coverage tests: one order orchestrator
in the versions a team would ship, written into a folder with its host.json.

- V1: validate, charge, ship.
- V2_GATED: 2.0 instances apply a discount and charge the discounted price; older ones
  keep V1's path (gated on ``context.version``, as the extension's docs advise).
- V2_UNGATED: the same change without the gate: it breaks every in-flight 1.0 instance.
- V1_NEW_INPUT: V1 passing another input to ``charge``: only strict replay notices.
"""
from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any, Dict, Optional

_HEADER = '''
import azure.durable_functions as df

app = df.DFApp()


def _older(version, than):
    """context.version is None for instances created before versioning."""
    if not version:
        return True
    return tuple(int(p) for p in version.split(".")) < tuple(int(p) for p in than.split("."))


@app.activity_trigger(input_name="order")
def validate(order):
    return order


@app.activity_trigger(input_name="order")
def charge(order):
    return "charged"


@app.activity_trigger(input_name="order")
def apply_discount(order):
    return dict(order, discount=True)


@app.activity_trigger(input_name="order")
def charge_discounted(order):
    return "charged less"


@app.activity_trigger(input_name="order")
def ship(order):
    return "shipped"


@app.orchestration_trigger(context_name="context")
def audit(context):
    yield context.call_activity("validate", context.get_input())
    return "audited"
'''

V1 = _HEADER + '''

@app.orchestration_trigger(context_name="context")
def process_order(context):
    order = context.get_input()
    yield context.call_activity("validate", order)
    yield context.call_activity("charge", order)
    yield context.create_timer(context.current_utc_datetime + __import__("datetime").timedelta(hours=1))
    yield context.call_activity("ship", order)
    return "done"
'''

V2_GATED = _HEADER + '''

def _pay(context, order):
    if _older(context.version, "2.0"):
        result = yield context.call_activity("charge", order)
    else:
        discounted = yield context.call_activity("apply_discount", order)
        result = yield context.call_activity("charge_discounted", discounted)
    return result


@app.orchestration_trigger(context_name="context")
def process_order(context):
    order = context.get_input()
    yield context.call_activity("validate", order)
    yield from _pay(context, order)
    yield context.create_timer(context.current_utc_datetime + __import__("datetime").timedelta(hours=1))
    yield context.call_activity("ship", order)
    return "done"
'''

V2_UNGATED = _HEADER + '''

@app.orchestration_trigger(context_name="context")
def process_order(context):
    order = context.get_input()
    yield context.call_activity("validate", order)
    discounted = yield context.call_activity("apply_discount", order)
    yield context.call_activity("charge_discounted", discounted)
    yield context.create_timer(context.current_utc_datetime + __import__("datetime").timedelta(hours=1))
    yield context.call_activity("ship", order)
    return "done"
'''

V1_NEW_INPUT = _HEADER + '''

@app.orchestration_trigger(context_name="context")
def process_order(context):
    order = context.get_input()
    yield context.call_activity("validate", order)
    yield context.call_activity("charge", dict(order, currency="EUR"))
    yield context.create_timer(context.current_utc_datetime + __import__("datetime").timedelta(hours=1))
    yield context.call_activity("ship", order)
    return "done"
'''

V1_LATER_TIMER = V1.replace("timedelta(hours=1)", "timedelta(hours=2)")


def write_app(folder: Path, source: str, durable: Optional[Dict[str, Any]] = None) -> Path:
    """A V2 app folder: function_app.py plus host.json with ``extensions.durableTask``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "function_app.py").write_text(textwrap.dedent(source), encoding="utf-8")
    host: Dict[str, Any] = {"version": "2.0"}
    if durable is not None:
        host["extensions"] = {"durableTask": durable}
    (folder / "host.json").write_text(json.dumps(host, indent=2), encoding="utf-8")
    return folder


def record(app_folder: Path, out: Path, *, version: Optional[str] = None,
           instance_id: str = "order-1", finish: bool = True) -> Path:
    """Run process_order once on the in-memory host and save its history in corpus layout."""
    from durable_testkit import InMemoryRuntime, save_history

    rt = InMemoryRuntime.from_app(str(app_folder))
    try:
        iid = rt.start("process_order", {"id": 1, "total": 10}, instance_id, version=version)
        if finish:
            rt.wait(iid)
        else:
            rt.run_until_idle()
        history = rt.export_history(iid)
        used = rt.status(iid)  # noqa: F841 - the run must have happened
        started = history.events[1]
        folder = out / "process_order" / (getattr(started, "version", None) or "unversioned")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{instance_id}.json"
        save_history(history, path)
        return path
    finally:
        rt.close()
