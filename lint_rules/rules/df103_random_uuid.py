"""DF103: random UUIDs."""
from __future__ import annotations

import libcst as cst

from .base import Invalid, Rule, Valid, orchestrator_example

_BANNED = frozenset({"uuid.uuid1", "uuid.uuid4", "uuid.uuid7"})
_IMPORT = "import uuid\n"


class RandomUuid(Rule):
    """``uuid.uuid1()``, ``uuid4()`` and ``uuid7()`` in orchestrator code.

    A new id on each replay means an activity input, an entity key or an instance id changes
    between replays. ``context.new_uuid()`` (a ``str``) and ``context.new_guid()`` (a
    ``uuid.UUID``) are derived from the instance id and replay the same. Both fixes keep the
    type, so they are safe. ``uuid3``/``uuid5`` are deterministic and fine.
    """

    CODE = "DF103"
    NAME = "random-uuid"
    MESSAGE = "`{call}()` gives a new value on every replay: use `context.{fix}`"
    FIX = "safe"
    VALID = [
        Valid(orchestrator_example("return context.new_uuid()")),
        Valid(orchestrator_example('return uuid.uuid5(uuid.NAMESPACE_URL, "x")', _IMPORT)),
    ]
    INVALID = [
        Invalid(
            orchestrator_example("order_id = str(uuid.uuid4())\nreturn order_id", _IMPORT),
            expected_fix=orchestrator_example(
                "order_id = context.new_uuid()\nreturn order_id", _IMPORT),
        ),
        Invalid(
            orchestrator_example("return uuid4()", "from uuid import uuid4\n"),
            expected_fix=orchestrator_example("return context.new_guid()", "from uuid import uuid4\n"),
        ),
    ]

    def __init__(self, ctx: object) -> None:
        super().__init__(ctx)  # type: ignore[arg-type]
        self._done: set[cst.Call] = set()

    def visit_Call(self, node: cst.Call) -> None:
        if node in self._done:
            return
        name = self.qualname(node.func)
        if name == "builtins.str" and len(node.args) == 1 and not node.args[0].keyword:
            inner = node.args[0].value
            inner_name = self.qualname(inner.func) if isinstance(inner, cst.Call) else None
            if inner_name in _BANNED and isinstance(inner, cst.Call):
                self._done.add(inner)
                self._flag(node, inner_name, "new_uuid()")
            return
        if name in _BANNED:
            self._flag(node, name, "new_guid()")

    def _flag(self, node: cst.Call, name: str, method: str) -> None:
        if self.ctx.settings.is_deterministic(name):
            return
        ctx = self.context_expr(node)
        replacement = cst.parse_expression(f"{ctx}.{method}") if ctx else None
        self.report(node, self.MESSAGE.format(call=name, fix=method), replacement=replacement)
