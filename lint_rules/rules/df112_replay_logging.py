"""DF112: logging that repeats on every replay."""
from __future__ import annotations

import re
from typing import Optional

import libcst as cst

from ..index import ProjectIndex
from .base import Invalid, Report, Rule, Valid, orchestrator_example

_LEVELS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log"})
#: How a shared logger is conventionally named (``from common.log import logger``).
_LOGGER_NAME = re.compile(r"^_*(log|logger|[a-z0-9_]*_(log|logger))$", re.I)


class ReplayLogging(Rule):
    """``print()`` and logging not guarded by ``if not context.is_replaying:``.

    Orchestrator code runs again on each replay, so every line is logged once per replay:
    noisy, and misleading when debugging. The safe fix wraps the statement in the guard.

    Loggers are ``logging.getLogger(...)`` results (or any imported ``get_logger(...)``'s, such
    as structlog's or a shared package's) bound at module level, here or in another project
    module (``from .log import logger``). A logger imported from a package outside the
    linted root cannot be seen, so an imported name that is conventionally a logger's
    (``logger``, ``log``, ``audit_logger``) counts too.
    """

    CODE = "DF112"
    NAME = "replay-logging"
    MESSAGE = "`{call}` repeats on every replay: guard it with `if not {ctx}.is_replaying:`"
    SEVERITY = "info"
    FIX = "safe"
    VALID = [
        Valid(orchestrator_example(
            'if not context.is_replaying:\n    logging.info("started")\nreturn 1', "import logging\n")),
    ]
    INVALID = [
        Invalid(
            orchestrator_example('logger.info("started")\nreturn 1',
                                 'import logging\nlogger = logging.getLogger(__name__)\n'),
            expected_fix=orchestrator_example(
                'if not context.is_replaying:\n    logger.info("started")\nreturn 1',
                'import logging\nlogger = logging.getLogger(__name__)\n'),
        ),
        Invalid(orchestrator_example('print("hi")\nreturn 1')),
        Invalid(orchestrator_example('logger.info("started")\nreturn 1',
                                     "from common.log import logger\n")),
        Invalid(
            orchestrator_example('log.info("started")\nreturn 1',
                                 "from common.log import get_logger\n"
                                 "log = get_logger(__name__)\n"),
            expected_fix=orchestrator_example(
                'if not context.is_replaying:\n    log.info("started")\nreturn 1',
                "from common.log import get_logger\nlog = get_logger(__name__)\n"),
        ),
    ]

    def __init__(self, ctx: object) -> None:
        super().__init__(ctx)  # type: ignore[arg-type]
        self._loggers = set(self.ctx.analysis.loggers)  # found by the context's pre-pass

    def _imported_logger(self, func: cst.Attribute) -> Optional[str]:
        """The qualified name of ``logger`` in ``logger.info(...)`` if it is imported."""
        if not isinstance(func.value, cst.Name) or func.attr.value not in _LEVELS:
            return None
        name = self.qualname(func.value)
        if name is None or name.startswith(("logging.", "builtins.")) or ".<locals>." in name:
            return None
        if name == f"{self.ctx.mod.name}.{func.value.value}":
            return None  # defined in this module
        return name

    def _call_name(self, node: cst.Call) -> Optional[str]:
        name = self.qualname(node.func)
        if name == "builtins.print":
            return "print()"
        if name and name.startswith("logging.") and name.rpartition(".")[2] in _LEVELS:
            return f"{name}()"
        func = node.func
        if (isinstance(func, cst.Attribute) and func.attr.value in _LEVELS
                and isinstance(func.value, cst.Name) and func.value.value in self._loggers
                and self.qualname(func.value) == f"{self.ctx.mod.name}.{func.value.value}"):
            return f"{func.value.value}.{func.attr.value}()"
        return None

    def _guarded(self, node: cst.CSTNode, names: frozenset[str]) -> bool:
        child, cur = node, self.ctx.parents.get(node)
        while cur is not None and not isinstance(cur, cst.FunctionDef):
            if isinstance(cur, cst.If) and child is cur.body:
                test = cur.test
                if (isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not)
                        and isinstance(test.expression, cst.Attribute)
                        and test.expression.attr.value == "is_replaying"):
                    return True
            child, cur = cur, self.ctx.parents.get(cur)
        return False

    def visit_Call(self, node: cst.Call) -> None:
        call = self._call_name(node)
        data: dict[str, str] = {}
        if call is None and isinstance(node.func, cst.Attribute):
            imported = self._imported_logger(node.func)
            if imported is not None:
                call = f"{node.func.value.value}.{node.func.attr.value}()"  # type: ignore[attr-defined]
                data["logger"] = imported
        if call is None or self._guarded(node, self.context_names(node)):
            return
        ctx = self.context_expr(node)
        replacement = target = None
        expr = self.ctx.parents.get(node)
        line = self.ctx.parents.get(expr) if isinstance(expr, cst.Expr) else None
        if (ctx and isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1
                and line.trailing_whitespace.comment is None):
            target = line
            replacement = cst.If(
                test=cst.parse_expression(f"not {ctx}.is_replaying"),
                body=cst.IndentedBlock(body=[line.with_changes(leading_lines=[])]),
            )
        self.report(node, self.MESSAGE.format(call=call, ctx=ctx or "context"),
                    replacement=replacement, replacement_target=target, data=data)

    @classmethod
    def project_check(cls, report: Report, index: ProjectIndex) -> Optional[str]:
        imported = report.data.get("logger")
        if imported is None:
            return report.message
        if index.canonical(imported) in index.loggers:
            return report.message
        if _LOGGER_NAME.match(imported.rpartition(".")[2]) and index.resolve(imported) is None:
            return report.message
        return None
