"""Walking libcst trees cheaply: the one traversal of the rules, and a faster ``visit`` for all.

libcst's ``CSTNode.visit`` rebuilds every node it passes (``_visit_and_replace_children``
constructs and validates a new node per node, even for a read-only ``CSTVisitor`` whose result
is thrown away) and looks up a callback per field. An analysis walks each file several times
(libcst's expression-context and scope providers, the rules, the rules' own sub-walks), so
that rebuilding cost more than everything else together.

While :func:`fast_libcst` is active, a ``CSTVisitor`` (never a transformer) walks the original
nodes in the same lexical order with the same callbacks, without rebuilding them. The order of
each node type's fields is read once from libcst itself (by recording which fields its
``_visit_and_replace_children`` visits), so it stays libcst's order across versions; a test
compares :func:`children` with libcst's ``children`` on every node of real files.
"""
from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional, Sequence, Union

import libcst as cst

_NODE, _SEQUENCE, _OTHER = 1, 2, 0

#: Node class -> its fields in the order libcst visits them.
_FIELDS: dict[type, tuple[str, ...]] = {}
#: Node class -> the fields libcst calls ``on_visit_attribute`` for (not plain values).
_VISITED: dict[type, frozenset[str]] = {}
#: Node classes libcst never descends into (about half the nodes of a file are whitespace).
_LEAVES: set[type] = set()
#: Fields libcst visits (and calls attribute callbacks for) only when they are not None.
_ONLY_WHEN_SET = frozenset({"format_spec"})
#: Value type -> _NODE, _SEQUENCE or _OTHER (``isinstance`` on libcst's ABCs is slow).
_KINDS: dict[type, int] = {}


class _FieldRecorder(cst.CSTVisitor):
    """Records the fields ``_visit_and_replace_children`` visits, without descending."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[str] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        return False

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        self.fields.append(attribute)


def _field_order(cls: type, node: cst.CSTNode) -> tuple[str, ...]:
    recorder = _FieldRecorder()
    node._visit_and_replace_children(recorder)  # one shallow rebuild per node class
    order = list(dict.fromkeys(recorder.fields))
    _VISITED[cls] = frozenset(order) | (_ONLY_WHEN_SET & {f.name for f in dataclasses.fields(node)})
    # A field libcst visits only when it is set (an f-string's format_spec) is still walked.
    order.extend(f.name for f in dataclasses.fields(node)
                 if f.name not in order)
    found = tuple(order)
    _FIELDS[cls] = found
    if not recorder.fields:  # whitespace, newlines, comments: nothing below them
        _LEAVES.add(cls)
    return found


def _kind(value: object) -> int:
    cls = type(value)
    kind = _KINDS.get(cls)
    if kind is None:
        if isinstance(value, cst.CSTNode):
            kind = _NODE
        elif isinstance(value, (tuple, list)):
            kind = _SEQUENCE
        else:
            kind = _OTHER
        _KINDS[cls] = kind
    return kind


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The direct children of ``node`` in lexical order, as libcst's ``node.children``."""
    out: list[cst.CSTNode] = []
    cls = type(node)
    for name in _FIELDS.get(cls) or _field_order(cls, node):
        value = getattr(node, name)
        kind = _KINDS.get(type(value))
        if kind is None:
            kind = _kind(value)
        if kind == _NODE:
            out.append(value)
        elif kind == _SEQUENCE:
            out.extend(v for v in value if _kind(v) == _NODE)
    return out


#: Visitor classes whose ``on_visit``/``on_leave`` overrides do nothing we need for leaves.
_LEAF_BLIND: set[type] = set()


def skip_leaves_for(cls: type) -> None:
    """Declare that ``cls``'s dispatcher overrides need not run for whitespace leaves."""
    _LEAF_BLIND.add(cls)
    _PLANS.pop(cls, None)




class _Plan:
    """How to call one visitor class's callbacks, looked up once per node class.

    ``CSTVisitor``'s default ``on_visit`` and friends find ``visit_<Node>`` by name with
    ``getattr`` on every call; most names resolve to libcst's no-op stubs. A plan resolves
    each name once and skips the stubs; a visitor that overrides a dispatcher gets it called.
    """

    def __init__(self, cls: type) -> None:
        base = cst.CSTVisitor
        self.cls = cls
        self.custom_visit = cls.on_visit is not base.on_visit  # type: ignore[attr-defined]
        self.custom_leave = cls.on_leave is not base.on_leave  # type: ignore[attr-defined]
        self.custom_attributes = (
            cls.on_visit_attribute is not base.on_visit_attribute  # type: ignore[attr-defined]
            or cls.on_leave_attribute is not base.on_leave_attribute)  # type: ignore[attr-defined]
        self.visits: dict[type, Optional[Callable[..., object]]] = {}
        self.leaves: dict[type, Optional[Callable[..., object]]] = {}
        # node class -> [(field, visit_<Node>_<field>, leave_<Node>_<field>)] with a real one
        self.skip: dict[type, bool] = {}  # leaf class -> no callback would run for it
        self.fields: dict[type, list[tuple[str, Optional[Callable[..., object]],
                                           Optional[Callable[..., object]]]]] = {}

    def method(self, name: str) -> Optional[Callable[..., object]]:
        found = getattr(self.cls, name, None)
        if found is None or not callable(found) or getattr(found, "_is_no_op", False):
            return None
        return found  # type: ignore[no-any-return]

    def skip_of(self, node_cls: type) -> bool:
        """Whether visiting a node of this class would call nothing (a leaf without methods)."""
        if node_cls not in _FIELDS:
            return False  # not seen yet: not known to be a leaf
        plain = self.cls in _LEAF_BLIND or not (self.custom_visit or self.custom_leave)
        found = self.skip[node_cls] = (
            node_cls in _LEAVES and plain
            and self.method(f"visit_{node_cls.__name__}") is None
            and self.method(f"leave_{node_cls.__name__}") is None)
        return found

    def visit_of(self, node_cls: type) -> Optional[Callable[..., object]]:
        found = self.visits[node_cls] = self.method(f"visit_{node_cls.__name__}")
        return found

    def leave_of(self, node_cls: type) -> Optional[Callable[..., object]]:
        found = self.leaves[node_cls] = self.method(f"leave_{node_cls.__name__}")
        return found

    def fields_of(self, node_cls: type, order: tuple[str, ...]) -> list[
            tuple[str, Optional[Callable[..., object]], Optional[Callable[..., object]]]]:
        found = []
        for name in order:
            enter = self.method(f"visit_{node_cls.__name__}_{name}")
            leave = self.method(f"leave_{node_cls.__name__}_{name}")
            if enter is not None or leave is not None:
                found.append((name, enter, leave))
        self.fields[node_cls] = found
        return found


_PLANS: dict[type, Optional[_Plan]] = {}


def _plan_of(visitor: object) -> Optional[_Plan]:
    """The plan of a read-only visitor; None for a transformer (its result is the new tree)."""
    cls = type(visitor)
    if cls in _PLANS:
        return _PLANS[cls]
    plan = _Plan(cls) if isinstance(visitor, cst.CSTVisitor) else None
    _PLANS[cls] = plan
    return plan


def _walk(node: cst.CSTNode, visitor: Any, plan: _Plan) -> None:
    cls = type(node)
    if plan.custom_visit:
        descend = visitor.on_visit(node)
    else:
        enter = plan.visits[cls] if cls in plan.visits else plan.visit_of(cls)
        descend = enter is None or enter(visitor, node) is not False
    if descend:
        order = _FIELDS.get(cls) or _field_order(cls, node)
        if plan.custom_attributes:
            hooks = None
        else:
            hooks = plan.fields[cls] if cls in plan.fields else plan.fields_of(cls, order)
        visited = _VISITED[cls]
        for name in order:
            value = getattr(node, name)
            kind = _KINDS.get(type(value))
            if kind is None:
                kind = _kind(value)
            fire = name in visited and (value is not None or name not in _ONLY_WHEN_SET)
            if not fire:
                pass
            elif hooks is None:
                visitor.on_visit_attribute(node, name)
            elif hooks:
                for field, enter_field, _ in hooks:
                    if field == name and enter_field is not None:
                        enter_field(visitor, node)
            if kind == _NODE:
                child = type(value)
                if not (plan.skip[child] if child in plan.skip else plan.skip_of(child)):
                    _walk(value, visitor, plan)
            elif kind == _SEQUENCE:
                for item in value:
                    if _kind(item) == _NODE:
                        _walk(item, visitor, plan)
            if not fire:
                pass
            elif hooks is None:
                visitor.on_leave_attribute(node, name)
            elif hooks:
                for field, _, leave_field in hooks:
                    if field == name and leave_field is not None:
                        leave_field(visitor, node)
    if plan.custom_leave:
        visitor.on_leave(node)
    else:
        leave = plan.leaves[cls] if cls in plan.leaves else plan.leave_of(cls)
        if leave is not None:
            leave(visitor, node)


_VisitResult = Union[cst.CSTNode, cst.RemovalSentinel, cst.FlattenSentinel[cst.CSTNode]]


def _make_fast_visit(
        original: Callable[[cst.CSTNode, cst.CSTVisitorT], _VisitResult],
) -> Callable[[cst.CSTNode, cst.CSTVisitorT], _VisitResult]:
    def visit(self: cst.CSTNode, visitor: cst.CSTVisitorT) -> _VisitResult:
        plan = _plan_of(visitor)
        if plan is None:  # a transformer: its result is the rebuilt tree
            return original(self, visitor)
        _walk(self, visitor, plan)
        return self

    return visit


_METHODS: dict[type, tuple[str, ...]] = {}


def visitor_methods(cls: type) -> tuple[str, ...]:
    """Names of the visit_/leave_ methods a visitor class defines (cached per class)."""
    found = _METHODS.get(cls)
    if found is None:
        base = cst.BatchableCSTVisitor
        found = tuple(
            name for name in dir(cls)
            if name.startswith(("visit_", "leave_"))
            and callable(getattr(cls, name))
            and not getattr(getattr(cls, name), "_is_no_op", False)
            and getattr(cls, name) is not getattr(base, name, None)
        )
        _METHODS[cls] = found
    return found


def _cached_get_visitors(
        self: cst.BatchableCSTVisitor) -> dict[str, Callable[[cst.CSTNode], None]]:
    return {name: getattr(self, name) for name in visitor_methods(type(self))}


@contextmanager
def fast_libcst() -> Iterator[None]:
    """Make libcst's read-only visits cheap while we analyse; restored on exit.

    Touches two libcst internals: ``CSTNode.visit`` (see the module docstring) and
    ``BatchableCSTVisitor.get_visitors``, which runs ``inspect.getmembers`` over ~1,600
    attributes for every metadata provider of every file; the replacement returns the same
    methods, looked up once per class.
    """
    visit = cst.CSTNode.visit
    get_visitors = cst.BatchableCSTVisitor.get_visitors
    cst.CSTNode.visit = _make_fast_visit(visit)  # type: ignore[method-assign,assignment]
    cst.BatchableCSTVisitor.get_visitors = _cached_get_visitors  # type: ignore[method-assign]
    try:
        yield
    finally:
        cst.CSTNode.visit = visit  # type: ignore[method-assign]
        cst.BatchableCSTVisitor.get_visitors = get_visitors  # type: ignore[method-assign]


def dispatch(module: cst.Module, visitors: Sequence[cst.BatchableCSTVisitor],
             enter: Callable[[cst.CSTNode], None], leave: Callable[[], None]) -> None:
    """One traversal calling every visitor's ``visit_<Node>``/``leave_<Node>`` methods.

    ``enter`` and ``leave`` are called around every node that is walked; leaves that no
    visitor has a method for (whitespace, newlines) are not walked. Return values of the
    methods are ignored: every visitor sees the whole tree. libcst's own ``visit_batched``
    looks up each visitor's methods with ``inspect.getmembers`` on every call, which costs
    more than the traversal for small files.
    """
    by_name: dict[str, list[Callable[[cst.CSTNode], object]]] = {}
    for v in visitors:
        for name in visitor_methods(type(v)):
            by_name.setdefault(name, []).append(getattr(v, name))
    visits: dict[type, Sequence[Callable[[cst.CSTNode], object]]] = {}
    leaves: dict[type, Sequence[Callable[[cst.CSTNode], object]]] = {}
    skip: dict[type, bool] = {}

    def methods(table: dict[type, Sequence[Callable[[cst.CSTNode], object]]], prefix: str,
                cls: type) -> Sequence[Callable[[cst.CSTNode], object]]:
        found = table[cls] = tuple(by_name.get(prefix + cls.__name__, ()))
        return found

    def skips(cls: type) -> bool:
        if cls not in _FIELDS:
            return False
        found = skip[cls] = cls in _LEAVES and not (
            by_name.get("visit_" + cls.__name__) or by_name.get("leave_" + cls.__name__))
        return found

    def walk(node: cst.CSTNode) -> None:
        enter(node)
        cls = type(node)
        for method in visits[cls] if cls in visits else methods(visits, "visit_", cls):
            method(node)
        for name in _FIELDS.get(cls) or _field_order(cls, node):
            value = getattr(node, name)
            kind = _KINDS.get(type(value))
            if kind is None:
                kind = _kind(value)
            if kind == _NODE:
                child = type(value)
                if not (skip[child] if child in skip else skips(child)):
                    walk(value)
            elif kind == _SEQUENCE:
                for item in value:
                    if _kind(item) == _NODE:
                        walk(item)
        for method in leaves[cls] if cls in leaves else methods(leaves, "leave_", cls):
            method(node)
        leave()

    walk(module)
