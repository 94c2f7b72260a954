"""DF105: iteration order or values that change between processes."""
from __future__ import annotations

import libcst as cst

from .base import Invalid, Rule, Valid, orchestrator_example


class UnorderedIteration(Rule):
    """Iterating a set or frozenset, and ``hash()`` or ``id()``, in orchestrator code.

    String hashing is salted per process (``PYTHONHASHSEED``), so set order and ``hash()``
    differ when the orchestrator replays on another worker; ``id()`` is a memory address. If
    the loop schedules tasks, the replay schedules them in another order and fails. The fix,
    ``sorted(...)``, is unsafe: it raises on elements that cannot be compared.
    """

    CODE = "DF105"
    NAME = "unordered-iteration"
    MESSAGE = "iterating a set gives a different order on another worker: iterate `sorted(...)`"
    FIX = "unsafe"
    VALID = [
        Valid(orchestrator_example(
            "names = context.get_input()\n"
            "for name in sorted(set(names)):\n"
            '    yield context.call_activity("Greet", name)')),
        Valid(orchestrator_example('if "a" in {"a", "b"}:\n    return 1')),
    ]
    INVALID = [
        Invalid(
            orchestrator_example(
                "names = context.get_input()\n"
                "for name in set(names):\n"
                '    yield context.call_activity("Greet", name)'),
            expected_fix=orchestrator_example(
                "names = context.get_input()\n"
                "for name in sorted(set(names)):\n"
                '    yield context.call_activity("Greet", name)'),
        ),
        Invalid(orchestrator_example('return [x for x in {"a", "b"}]')),
        Invalid(orchestrator_example("return hash(context.instance_id)")),
    ]

    def _is_set(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, (cst.Set, cst.SetComp)):
            return True
        if isinstance(node, cst.Call):
            return self.qualname(node.func) in ("builtins.set", "builtins.frozenset")
        return False

    def _check(self, iterable: cst.BaseExpression) -> None:
        if self._is_set(iterable):
            replacement = cst.Call(func=cst.Name("sorted"), args=[cst.Arg(iterable)])
            self.report(iterable, replacement=replacement, unsafe=True)

    def visit_For(self, node: cst.For) -> None:
        self._check(node.iter)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._check(node.iter)

    def visit_Call(self, node: cst.Call) -> None:
        name = self.qualname(node.func)
        if name in ("builtins.hash", "builtins.id"):
            func = name.split(".")[1]
            self.report(node, f"`{func}()` differs between worker processes: do not base "
                              "orchestration decisions on it")
