"""DF109: ``global`` and ``nonlocal`` in orchestrator code."""
from __future__ import annotations

from typing import Union

import libcst as cst

from .base import Invalid, Rule, Valid, orchestrator_example


class GlobalState(Rule):
    """``global`` or ``nonlocal`` in orchestrator code.

    Module state lives in one worker process and survives from one replay to the next, so a
    replay sees values the first run did not. Keep state in locals, the orchestration input
    or an entity. (Mutating module-level objects is not flagged: too many false positives.)
    """

    CODE = "DF109"
    NAME = "global-state"
    MESSAGE = "`{kind}` state outlives a replay and differs between workers: keep state in locals or an entity"
    VALID = [Valid(orchestrator_example("count = 0\ncount += 1\nreturn count"))]
    INVALID = [Invalid("COUNT = 0\n" + orchestrator_example("global COUNT\nCOUNT += 1\nreturn COUNT"))]

    def _flag(self, node: Union[cst.Global, cst.Nonlocal], kind: str) -> None:
        self.report(node, self.MESSAGE.format(kind=kind))

    def visit_Global(self, node: cst.Global) -> None:
        self._flag(node, "global")

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self._flag(node, "nonlocal")
