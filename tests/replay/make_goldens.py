"""Regenerate the recorded golden exports in data/ (run: python tests/replay/make_goldens.py).

The order-17 and fan-1 exports are recorded from golden_orchestrators on the
in-memory host and converted with _exports (the producers' shapes, see
docs/protocol.md "Production history formats"); hello-sequence.status-api.json
is written by hand after the docs' sample and is not regenerated. Regenerate only
when a format fact changes, and review the diff.
"""
from __future__ import annotations

import gzip
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import _exports as X  # noqa: E402
import golden_orchestrators as g  # noqa: E402
from durable_testkit.history import InstanceHistory, save_history  # noqa: E402

DATA = os.path.join(HERE, "data")


def _dump(name: str, value: object) -> None:
    with open(os.path.join(DATA, name), "w", encoding="utf-8", newline="\n") as fh:
        json.dump(value, fh, indent=2)
        fh.write("\n")


def main() -> None:
    rt, iid = g.run_order_workflow()
    history = rt.export_history(iid)
    last = InstanceHistory(history.orchestrator, history.instance_id,
                           history.executions[-1], metadata={"recorded": "golden_orchestrators"})
    save_history(last, os.path.join(DATA, "order-17.expected.json"))
    _dump("order-17.core-tools.json", X.to_core_tools(history))
    _dump("order-17.status-api.json", X.to_status_api(history))
    rows = X.to_table_rows(history)
    _dump("order-17.history-table.json", {"value": rows})
    with open(os.path.join(DATA, "OrderHubHistory.csv"), "w", encoding="utf-8",
              newline="") as fh:
        fh.write(X.rows_to_csv(rows, types="Edm"))
    with open(os.path.join(DATA, "order-17.typed-plain.csv"), "w", encoding="utf-8",
              newline="") as fh:
        fh.write(X.rows_to_csv(rows, types="plain"))
    with open(os.path.join(DATA, "order-17.untyped.csv"), "w", encoding="utf-8",
              newline="") as fh:
        fh.write(X.rows_to_csv(rows, types=None))
    doc = X.to_durabletask(history)
    _dump("order-17.durabletask.json", doc)
    lines = [{"schema_version": "1.0", "instance_id": doc["instance_id"], "kind": "metadata",
              "metadata": doc["metadata"]}] + doc["events"]
    raw = "\n".join(json.dumps(x, sort_keys=True, separators=(",", ":")) for x in lines) + "\n"
    with open(os.path.join(DATA, "order-17.durabletask.jsonl.gz"), "wb") as fh:
        fh.write(gzip.compress(raw.encode("utf-8"), mtime=0))

    rt, iid = g.run_fan_out()
    body = X.to_status_api(rt.export_history(iid), show_input=False)
    events = body["historyEvents"]
    done = [e for e in events if e["EventType"] == "TaskCompleted"]
    rest = [e for e in events if e["EventType"] != "TaskCompleted"]
    # Production: completions are listed in arrival order, here Gamma, Alpha, Beta.
    order = {"Gamma": 0, "Alpha": 1, "Beta": 2}
    done.sort(key=lambda e: order[e["FunctionName"]])
    body["historyEvents"] = rest[:1] + done + rest[1:]
    _dump("fan-1.status-api.json", body)


if __name__ == "__main__":
    main()
