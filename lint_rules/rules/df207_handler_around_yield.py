"""DF207: bare except or finally around a yield."""
from __future__ import annotations

import libcst as cst

from .base import Invalid, Rule, Valid, contains_yield, orchestrator_example

_CATCH_ALL = frozenset({"builtins.BaseException", "builtins.GeneratorExit"})


class HandlerAroundYield(Rule):
    """A bare ``except:``, ``except BaseException:`` or ``finally:`` around a ``yield``.

    The SDK throws the suspended generator away after each episode; Python then raises
    ``GeneratorExit`` at the ``yield``, so these handlers run on every replay, long before the
    orchestration really ends. Catch ``Exception`` instead (task failures are ``Exception``s),
    and do clean-up after the ``try``.

    An ``except GeneratorExit: raise`` handler lets ``GeneratorExit`` through, so it and the
    catch-all handlers after it are fine.
    """

    CODE = "DF207"
    NAME = "handler-around-yield"
    MESSAGE = "`{what}` around a `yield` runs every time the SDK discards the generator: {advice}"
    VALID = [Valid(orchestrator_example(
        'try:\n    yield context.call_activity("A")\nexcept Exception:\n'
        '    yield context.call_activity("Compensate")'))]
    VALID = [*VALID, Valid(orchestrator_example(
        'try:\n    yield context.call_activity("A")\nexcept GeneratorExit:\n    raise\n'
        'except:\n    yield context.call_activity("Compensate")'))]
    INVALID = [
        Invalid(orchestrator_example(
            'try:\n    yield context.call_activity("A")\nfinally:\n'
            '    context.set_custom_status("done")')),
        Invalid(orchestrator_example(
            'try:\n    yield context.call_activity("A")\nexcept:\n    return "failed"')),
    ]

    def _reraises_generator_exit(self, handler: cst.ExceptHandler) -> bool:
        if handler.type is None or self.qualname(handler.type) != "builtins.GeneratorExit":
            return False
        # Only a handler that does nothing but re-raise: anything before the raise would run
        # on every discard too.
        body = handler.body
        lines = body.body if isinstance(body, cst.IndentedBlock) else [body]
        if len(lines) != 1 or not isinstance(lines[0], (cst.SimpleStatementLine,
                                                         cst.SimpleStatementSuite)):
            return False
        stmts = lines[0].body
        return len(stmts) == 1 and isinstance(stmts[0], cst.Raise) and stmts[0].exc is None

    def visit_Try(self, node: cst.Try) -> None:
        if not contains_yield(node.body):
            return
        for handler in node.handlers:
            if self._reraises_generator_exit(handler):
                break  # GeneratorExit cannot reach the handlers after this one
            if handler.type is None:
                self.report(handler, self.MESSAGE.format(what="except:", advice="catch `Exception`"))
            elif self.qualname(handler.type) in _CATCH_ALL:
                self.report(handler, self.MESSAGE.format(
                    what=f"except {self.qualname(handler.type).split('.')[-1]}:",  # type: ignore[union-attr]
                    advice="catch `Exception`"))
        if node.finalbody is not None:
            self.report(node.finalbody, self.MESSAGE.format(
                what="finally:", advice="move the clean-up after the `try` statement"))
