"""The in-memory host's core: plain records, a registry, one episode function, one scheduler.

Read it in this order (docs/architecture.md draws it):

* ``records``: the state the host keeps (instances, executions, work items, timers,
  entities), plain data with no reference back to the runtime;
* ``registry``: which orchestrators, activities, entities and mocks exist;
* ``episode``: ONE episode (invoke the SDK handle, replay its actions, check
  determinism), shared by the runtime, the scenario driver and stored-history replay;
* ``activities``: the activity executor, where fault hooks plug in;
* ``entities``: the entity scheduler;
* ``scheduler``: the state machine (ready queue, timer heap, step, post, apply an
  episode's outcome), the only caller of the policy;
* ``spin``: spots a poll that never lets virtual time move;
* ``ports``: the protocol front ends (client, management API, server) use to reach
  a runtime without importing it.
"""
