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
    """

    CODE = "DF207"
    NAME = "handler-around-yield"
    MESSAGE = "`{what}` around a `yield` runs every time the SDK discards the generator: {advice}"
    VALID = [Valid(orchestrator_example(
        'try:\n    yield context.call_activity("A")\nexcept Exception:\n'
        '    yield context.call_activity("Compensate")'))]
    INVALID = [
        Invalid(orchestrator_example(
            'try:\n    yield context.call_activity("A")\nfinally:\n'
            '    context.set_custom_status("done")')),
        Invalid(orchestrator_example(
            'try:\n    yield context.call_activity("A")\nexcept:\n    return "failed"')),
    ]

    def visit_Try(self, node: cst.Try) -> None:
        if not contains_yield(node.body):
            return
        for handler in node.handlers:
            if handler.type is None:
                self.report(handler, self.MESSAGE.format(what="except:", advice="catch `Exception`"))
            elif self.qualname(handler.type) in _CATCH_ALL:
                self.report(handler, self.MESSAGE.format(
                    what=f"except {self.qualname(handler.type).split('.')[-1]}:",  # type: ignore[union-attr]
                    advice="catch `Exception`"))
        if node.finalbody is not None:
            self.report(node.finalbody, self.MESSAGE.format(
                what="finally:", advice="move the clean-up after the `try` statement"))
