"""Small questions about libcst syntax trees that both the engine and the rules ask."""
from __future__ import annotations

from typing import Optional

import libcst as cst


def contains_yield(node: cst.CSTNode) -> bool:
    """Whether ``node`` contains a yield outside nested functions and classes."""
    finder = _YieldFinder()
    node.visit(finder)
    return finder.found


class _YieldFinder(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found = False

    def visit_Yield(self, node: cst.Yield) -> bool:
        self.found = True
        return False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False


def code_of(node: cst.CSTNode) -> str:
    """Source of a node on its own, for messages."""
    return cst.Module(body=[]).code_for_node(node)


def string_value(node: object) -> Optional[str]:
    """The text of a plain string literal, or None (bytes, f-strings, or unevaluable source)."""
    if not isinstance(node, cst.SimpleString):
        return None
    try:
        value = node.evaluated_value  # literal_eval: rejects e.g. null bytes with SyntaxError
    except Exception:
        return None
    return value if isinstance(value, str) else None
