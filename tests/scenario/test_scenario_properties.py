"""Property: the order and grouping of fan-out completions never changes the result."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from durable_testkit.scenario import OrchestrationScenario

import scenario_orchestrators as o

ITEMS = [1, 2, 3, 4, 5]


@settings(max_examples=40, deadline=None)
@given(order=st.permutations(range(len(ITEMS))), batch_size=st.integers(1, len(ITEMS)))
def test_fan_out_output_is_independent_of_completion_order(order, batch_size):
    sc = OrchestrationScenario(o.fan_out)
    sc.start()
    work = sc.complete("get_items", ITEMS)
    chosen = [work[i] for i in order]
    for start in range(0, len(chosen), batch_size):
        with sc.batch():
            for task in chosen[start:start + batch_size]:
                sc.complete(task, task.input * 2)
    assert sc.is_done and sc.output == 2 * sum(ITEMS)
    # Completions reach history in exactly the order the test delivered them.
    delivered = [e.task_scheduled_id for e in sc.history.events
                 if e.event_type.name == "TaskCompleted"][1:]
    assert delivered == [t.seq for t in chosen]
