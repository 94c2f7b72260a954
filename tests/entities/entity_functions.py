"""Entity functions the entity tests share: the Durable docs' counter, plus a failing operation."""
from __future__ import annotations

import azure.durable_functions as df


def counter(context: df.DurableEntityContext) -> None:
    """The counter of the Durable Functions docs (function-based syntax), plus "fail"."""
    current_value = context.get_state(lambda: 0)
    operation = context.operation_name
    if operation == "add":
        current_value += context.get_input()
    elif operation == "reset":
        current_value = 0
    elif operation == "get":
        context.set_result(current_value)
    elif operation == "fail":
        raise ValueError(f"cannot {context.get_input()}")
    context.set_state(current_value)
