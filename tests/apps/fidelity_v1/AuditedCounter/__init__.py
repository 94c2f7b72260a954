"""An entity whose wrapper also sends a queue message: an output binding on an entity."""
import json

import azure.durable_functions as df
import azure.functions as func


def counter(context: df.DurableEntityContext) -> None:
    value = context.get_state(lambda: 0)
    if context.operation_name == "add":
        value += context.get_input()
    context.set_state(value)


_handle = df.Entity.create(counter)


def main(context, audit: func.Out[str]):
    result = _handle(context)
    audit.set(json.dumps({"entity": "AuditedCounter", "batch": json.loads(result)["entityState"]}))
    return result
