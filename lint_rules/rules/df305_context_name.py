"""DF305: ``context_name=`` that names no parameter."""
from __future__ import annotations

import libcst as cst

from .base import Invalid, Rule, Valid, orchestrator_example, string_value


class ContextNameMismatch(Rule):
    """``orchestration_trigger(context_name="x")`` where the function has no parameter ``x``.

    The host binds the context by that name, so the function fails to index or receives
    nothing. Make ``context_name`` match the parameter.
    """

    CODE = "DF305"
    NAME = "context-name-mismatch"
    MESSAGE = "`context_name={name!r}` names no parameter of `{func}`"
    VALID = [Valid(orchestrator_example("return 1"))]
    INVALID = [Invalid(orchestrator_example("return 1").replace("def orchestrator(context)",
                                                                "def orchestrator(ctx)"))]

    def visit_Decorator(self, node: cst.Decorator) -> None:
        call = node.decorator
        if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
                and call.func.attr.value == "orchestration_trigger"):
            return
        fdef = self.ctx.parents.get(node)
        if not isinstance(fdef, cst.FunctionDef):
            return
        params = {p.name.value for p in [*fdef.params.posonly_params, *fdef.params.params,
                                         *fdef.params.kwonly_params]}
        for i, arg in enumerate(call.args):
            is_ctx = (arg.keyword is not None and arg.keyword.value == "context_name") or (
                arg.keyword is None and i == 0)
            name = string_value(arg.value) if is_ctx else None
            if name is not None and name not in params:
                self.report(arg, self.MESSAGE.format(name=name, func=fdef.name.value))
