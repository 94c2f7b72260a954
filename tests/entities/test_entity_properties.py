"""Hypothesis: any interleaving the policy picks keeps entity totals and per-sender order."""
from __future__ import annotations

from typing import List, Tuple

import azure.durable_functions as df
from hypothesis import given, settings, strategies as st

from durable_testkit import InMemoryRuntime, OrchestrationRuntimeStatus as S, SeededPolicy
from entity_functions import counter

COUNTER = df.EntityId("counter", "k")

LOG = df.EntityId("log", "k")


def log_entity(context: df.DurableEntityContext) -> None:
    items = context.get_state(list)
    items.append(context.get_input())
    context.set_state(items)


# One orchestration's script: ("signal" | "call", amount) steps, then a final "get".
Step = Tuple[str, int]
scripts = st.lists(st.lists(st.tuples(st.sampled_from(["signal", "call"]),
                                      st.integers(-50, 50)), max_size=8),
                   min_size=1, max_size=8)


def worker(ctx: df.DurableOrchestrationContext):
    n, steps = ctx.get_input()
    for i, (kind, amount) in enumerate(steps):
        ctx.signal_entity(LOG, "append", [n, i])
        if kind == "signal":
            ctx.signal_entity(COUNTER, "add", amount)
        else:
            yield ctx.call_entity(COUNTER, "add", amount)
    return (yield ctx.call_entity(COUNTER, "get"))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), batch_size=st.integers(1, 6), plan=scripts)
def test_any_interleaving_ends_with_the_right_total(seed: int, batch_size: int,
                                                     plan: List[List[Step]]) -> None:
    policy = SeededPolicy(seed=seed)
    rt = InMemoryRuntime(policy=policy, seed=seed)
    rt.entity_batch_size = batch_size  # type: ignore[attr-defined]
    rt.register_entity("counter", counter)
    rt.register_entity("log", log_entity)
    rt.register_orchestrator("worker", worker)
    ids = [rt.start("worker", [n, steps]) for n, steps in enumerate(plan)]
    rt.run_until_idle()

    total = sum(amount for steps in plan for _, amount in steps)
    assert all(rt.status(i).runtime_status == S.Completed for i in ids)
    assert rt.entity_state(COUNTER) == total
    # Each worker sends all its adds before its "get", and the entity runs in arrival
    # order, so the get that runs last has seen every add.
    assert total in [rt.status(i).output for i in ids]
    log = rt.entity_state(LOG) or []
    assert len(log) == sum(len(steps) for steps in plan)
    for n, steps in enumerate(plan):  # each sender's messages arrive in the order sent
        assert [i for m, i in log if m == n] == list(range(len(steps)))
