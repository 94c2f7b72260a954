"""DF105: iteration order or values that change between processes."""
from __future__ import annotations

import libcst as cst
from libcst.metadata import Assignment, ScopeProvider

from .base import Invalid, Rule, Valid, orchestrator_example


class UnorderedIteration(Rule):
    """Iterating a set or frozenset, and ``hash()`` or ``id()``, in orchestrator code.

    String hashing is salted per process (``PYTHONHASHSEED``), so set order and ``hash()``
    differ when the orchestrator replays on another worker; ``id()`` is a memory address. If
    the loop schedules tasks, the replay schedules them in another order and fails. The fix,
    ``sorted(...)``, is unsafe: it raises on elements that cannot be compared.

    A name counts as a set when every assignment to it in its scope is a set display, a set
    comprehension, ``set(...)``, ``frozenset(...)`` or a set operator on a set
    (``pending = set(names) | {"x"}`` and later ``for name in pending:``); a name that is ever
    bound to anything else is not flagged. ``list(s)`` and ``tuple(s)`` iterate the set too,
    and ``s.pop()`` removes whichever element comes first. Membership tests, ``len()`` and
    ``sorted(s)`` are fine.
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
        Valid(orchestrator_example(
            "pending = set(context.get_input())\n"
            "pending = sorted(pending)\n"
            "for name in pending:\n"
            '    yield context.call_activity("Greet", name)')),
        Valid(orchestrator_example(
            'pending = set(context.get_input()) | {"extra"}\n'
            'if "extra" in pending and len(pending) > 1:\n'
            '    yield context.call_activity("Greet", sorted(pending))\n'
            'return tuple(sorted(pending))')),
        Valid(orchestrator_example(
            "queue = list(context.get_input())\n"
            'yield context.call_activity("Greet", queue.pop())')),
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
        Invalid(
            orchestrator_example(
                "pending = set(context.get_input())\n"
                "for name in pending:\n"
                '    yield context.call_activity("Greet", name)'),
            expected_fix=orchestrator_example(
                "pending = set(context.get_input())\n"
                "for name in sorted(pending):\n"
                '    yield context.call_activity("Greet", name)'),
        ),
        Invalid(orchestrator_example(
            "pending = {n.lower() for n in context.get_input()}\n"
            "return [n for n in pending]")),
        Invalid(orchestrator_example(
            "done = frozenset(context.get_input())\n"
            "for name in done:\n"
            '    yield context.call_activity("Greet", name)')),
        Invalid(orchestrator_example(
            'pending = set(context.get_input()) | {"extra"}\n'
            "for name in pending:\n"
            '    yield context.call_activity("Greet", name)')),
        Invalid(
            orchestrator_example(
                "pending = set(context.get_input())\n"
                'yield context.call_activity("Greet", list(pending))'),
            expected_fix=orchestrator_example(
                "pending = set(context.get_input())\n"
                'yield context.call_activity("Greet", list(sorted(pending)))'),
        ),
        Invalid(orchestrator_example(
            "pending = set(context.get_input())\n"
            'yield context.call_activity("Greet", pending.pop())')),
        Invalid(orchestrator_example("return hash(context.instance_id)")),
    ]

    _SET_OPERATORS = (cst.BitOr, cst.BitAnd, cst.Subtract, cst.BitXor)

    def _is_set(self, node: cst.BaseExpression, depth: int = 0) -> bool:
        if depth > 8:  # ``a = a | b`` refers to itself
            return False
        if isinstance(node, (cst.Set, cst.SetComp)):
            return True
        if isinstance(node, cst.Call):
            return self.qualname(node.func) in ("builtins.set", "builtins.frozenset")
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator,
                                                                self._SET_OPERATORS):
            # ``s | other`` is a set when either side is (``keys() | {"x"}`` is one too).
            return any(self._is_set(side, depth + 1) or self._is_set_name(side, depth + 1)
                       for side in (node.left, node.right))
        return False

    def _is_set_name(self, node: cst.BaseExpression, depth: int = 0) -> bool:
        """Whether ``node`` is a name that only ever holds a set in its scope."""
        if not isinstance(node, cst.Name) or depth > 8:
            return False
        scope = self.get_metadata(ScopeProvider, node, None)
        if scope is None:
            return False
        assignments = [a for a in scope[node.value] if isinstance(a, Assignment)]
        if not assignments:
            return False
        return all(self._binds_set(a.node, depth) for a in assignments)

    def _binds_set(self, target: cst.CSTNode, depth: int = 0) -> bool:
        """Whether the binding of ``target`` gives it a set: ``name = {...}``, ``name |= other``."""
        parent = self.ctx.parents.get(target)
        if isinstance(parent, cst.AssignTarget):
            stmt = self.ctx.parents.get(parent)
            return isinstance(stmt, cst.Assign) and len(stmt.targets) == 1 and self._is_set(
                stmt.value, depth + 1)
        if isinstance(parent, cst.AnnAssign) and parent.value is not None:
            return self._is_set(parent.value, depth + 1)
        if isinstance(parent, cst.AugAssign):  # set operators keep a set a set
            return isinstance(parent.operator, (cst.BitOrAssign, cst.BitAndAssign,
                                                cst.SubtractAssign, cst.BitXorAssign))
        return False

    def _check(self, iterable: cst.BaseExpression) -> None:
        if self._is_set(iterable) or self._is_set_name(iterable):
            replacement = cst.Call(func=cst.Name("sorted"), args=[cst.Arg(iterable)])
            self.report(iterable, replacement=replacement, unsafe=True)

    def visit_For(self, node: cst.For) -> None:
        self._check(node.iter)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._check(node.iter)

    def visit_Call(self, node: cst.Call) -> None:
        name = self.qualname(node.func)
        if name in ("builtins.list", "builtins.tuple") and len(node.args) == 1 and not (
                node.args[0].star or node.args[0].keyword):
            self._check(node.args[0].value)  # the set's order becomes the sequence's
            return
        callee = node.func
        if (isinstance(callee, cst.Attribute) and callee.attr.value == "pop" and not node.args
                and (self._is_set(callee.value) or self._is_set_name(callee.value))):
            self.report(node, "`set.pop()` removes a different element on another worker: "
                              "take `min(...)` or `sorted(...)[0]` and `discard` it")
            return
        if name in ("builtins.hash", "builtins.id"):
            func = name.split(".")[1]
            self.report(node, f"`{func}()` differs between worker processes: do not base "
                              "orchestration decisions on it")
