"""libcst's scope analysis for one module, without the metadata wrapper's extra traversals.

``MetadataWrapper.resolve(ScopeProvider)`` walks the whole tree four times: libcst runs both
``ExpressionContextProvider`` and ``ScopeProvider`` as batchable providers, and each batch is a
full traversal whose only work is in ``visit_Module``, where the provider starts its real
visitor over the module once more. :func:`resolve_scopes` runs those two real visitors exactly
as the providers' ``visit_Module`` do, and nothing else: the same scopes, in half the walks
(whitespace, newline and comment leaves get no scope: nothing asks for theirs).

This uses libcst internals (``ExpressionContextVisitor``, ``ScopeVisitor`` and the providers'
``_computed`` maps). If a libcst release moves them, the wrapper is used instead; a test
checks that both give every node the same scope and the same qualified names.
"""
from __future__ import annotations

from typing import Mapping, Optional, cast

import libcst as cst
from libcst.metadata import (
    ExpressionContext,
    ExpressionContextProvider,
    MetadataWrapper,
    Scope,
    ScopeProvider,
)

from .traversal import skip_leaves_for

try:
    from libcst.metadata.expression_context_provider import ExpressionContextVisitor
    from libcst.metadata.scope_provider import ScopeVisitor
except ImportError:  # pragma: no cover - a libcst without these internals
    ExpressionContextVisitor = None  # type: ignore[assignment,misc]
    ScopeVisitor = None  # type: ignore[assignment,misc]

Scopes = Mapping[cst.CSTNode, Optional[Scope]]

if ScopeVisitor is not None:
    # Its on_leave records the scope of every node it leaves; whitespace, newlines and comments
    # are about half of them, and nothing asks for their scope.
    skip_leaves_for(ScopeVisitor)


def resolve_scopes(wrapper: MetadataWrapper) -> Scopes:
    """The ``ScopeProvider`` metadata of ``wrapper.module``."""
    if ExpressionContextVisitor is not None and ScopeVisitor is not None:
        try:
            return _direct(wrapper.module)
        except AttributeError:  # pragma: no cover - internals changed shape
            pass
    return wrapper.resolve(ScopeProvider)  # pragma: no cover


def _direct(module: cst.Module) -> Scopes:
    contexts = ExpressionContextProvider()
    module.visit(ExpressionContextVisitor(contexts, ExpressionContext.LOAD))
    provider = ScopeProvider()
    provider.metadata = {ExpressionContextProvider: contexts._computed}
    visitor = ScopeVisitor(provider)
    module.visit(visitor)
    visitor.infer_accesses()
    return cast(Scopes, provider._computed)
