"""The project index and reachability: which functions an orchestrator's execution reaches.

The index holds every analysed function, the re-exports between modules and the registered
activity and orchestrator names; :func:`reach` walks the call graph from each orchestrator,
analysing helper modules on demand through a callback.
"""
from __future__ import annotations

import difflib
from typing import Callable, Iterable, Optional

from .config import Settings
from .model import FileAnalysis, FunctionInfo, V1Function, norm

#: Analyse the module of this dotted name if it is in the project and not yet fully analysed;
#: True when something new was added to the index.
LoadModule = Callable[[str], bool]


class ProjectIndex:
    """Functions, registered names and call graph of one project."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.functions: dict[str, FunctionInfo] = {}
        self.aliases: dict[str, str] = {}
        self.loggers: set[str] = set()  # qualified names of module-level loggers
        self.classes: dict[str, list[str]] = {}  # class -> its bases, in order
        self._mro: dict[str, list[str]] = {}  # cleared whenever a module is added
        self.activity_names: set[str] = set(settings.external_activities)
        self.orchestration_names: set[str] = set(settings.external_orchestrators)
        self.defines_activities = False

    def add(self, analysis: FileAnalysis) -> None:
        self.functions.update((norm(k), v) for k, v in analysis.functions.items())
        self._mro.clear()
        self.aliases.update((norm(k), norm(v)) for k, v in analysis.aliases.items())
        module = norm(analysis.module)
        self.loggers.update(f"{module}.{name}" if module else name for name in analysis.loggers)
        self.classes.update((norm(k), [norm(b) for b in v]) for k, v in analysis.classes.items())
        self.activity_names.update(analysis.activities)
        self.orchestration_names.update(analysis.orchestrations)
        if analysis.activities:
            self.defines_activities = True

    def add_v1(self, fn: V1Function) -> None:
        if fn.kind == "activityTrigger":
            self.activity_names.add(fn.name)
            self.defines_activities = True
        elif fn.kind == "orchestrationTrigger":
            self.orchestration_names.add(fn.name)

    def canonical(self, name: str) -> str:
        """``name`` with re-exports followed (``pkg.Runner.stamp`` -> ``pkg.steps.Runner.stamp``).

        A re-export may cover a prefix: the class is re-exported, its methods are not.
        """
        name = norm(name)
        for _ in range(8):
            if name in self.functions:
                return name
            parts = name.split(".")
            for i in range(len(parts), 0, -1):
                target = self.aliases.get(".".join(parts[:i]))
                if target is not None:
                    name = ".".join([target, *parts[i:]])
                    break
            else:
                return name
        return name

    def resolve(self, name: str) -> Optional[FunctionInfo]:
        """The project function ``name`` refers to, following re-exports and inheritance.

        ``Child.stamp`` is ``Base.stamp`` when ``Child`` does not define it: the first class in
        ``Child``'s method resolution order that does.
        """
        found = self.functions.get(self.canonical(name))
        if found is not None:
            return found
        cls, _, method = name.rpartition(".")
        for base in self.mro(cls)[1:] if cls else ():
            found = self.functions.get(self.canonical(f"{base}.{method}"))
            if found is not None:
                return found
        return None

    def mro(self, cls: str) -> list[str]:
        """``cls`` and its known ancestors in method resolution order.

        A depth-first walk keeping each class's last occurrence, which is C3's order for the
        hierarchies seen in practice (a diamond gives ``D, B, C, A``).
        """
        cls = self.canonical(cls)
        cached = self._mro.get(cls)
        if cached is not None:
            return cached
        order: list[str] = []

        def visit(name: str, path: tuple[str, ...]) -> None:
            if name in path or len(path) > 32 or len(order) > 1000:
                return  # a cycle (invalid Python) or an absurd hierarchy
            order.append(name)
            for base in self.classes.get(name, ()):
                visit(self.canonical(base), (*path, name))

        visit(cls, ())
        kept = [n for i, n in enumerate(order) if n not in order[i + 1:]]
        self._mro[cls] = kept
        return kept

    def overrides(self, name: str) -> list[FunctionInfo]:
        """Definitions of method ``name`` (``Base.meth``) in the known subclasses of ``Base``."""
        cls, _, method = name.rpartition(".")
        if not cls:
            return []
        base = self.canonical(cls)
        found = []
        for sub in self.classes:
            if sub != base and base in self.mro(sub)[1:]:
                info = self.functions.get(self.canonical(f"{sub}.{method}"))
                if info is not None:
                    found.append(info)
        return found

    @staticmethod
    def registers(names: Iterable[str], name: str) -> bool:
        """Whether ``name`` is among the registered ``names``, ignoring case.

        The extension compares function names with ``StringComparison.OrdinalIgnoreCase``
        (``FunctionName.Equals``), so ``call_activity("WORK")`` runs ``def work``.
        """
        folded = _ordinal_fold(name)
        return any(_ordinal_fold(n) == folded for n in names)

    @staticmethod
    def suggest(name: str, candidates: Iterable[str]) -> Optional[str]:
        """A close candidate for "did you mean", case-insensitive first."""
        pool = sorted(candidates)
        for c in pool:
            if c.lower() == name.lower():
                return c
        close = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
        return close[0] if close else None


def _ordinal_fold(text: str) -> str:
    """Upper case one character at a time, as .NET's ordinal ignore-case comparison does
    (``"ß"`` stays ``"ß"``, where ``str.upper`` makes it ``"SS"``)."""
    return "".join(u if len(u := c.upper()) == 1 else c for c in text)


def reach(index: ProjectIndex, load_module: Optional[LoadModule] = None) -> dict[str, set[str]]:
    """Map each function reached from an orchestrator to the orchestrators reaching it."""
    reached: dict[str, set[str]] = {}
    for info in list(index.functions.values()):
        if info.is_orchestrator:
            _walk(index, info, info.display_name, reached, load_module)
    return reached


def _load_prefix(dotted: str, load_module: LoadModule) -> bool:
    """Load the longest module prefix of ``dotted`` that the project has."""
    parts = dotted.split(".")
    for i in range(len(parts) - 1, 0, -1):
        if load_module(".".join(parts[:i])):
            return True
    return False


def _walk(index: ProjectIndex, start: FunctionInfo, orch: str, reached: dict[str, set[str]],
          load_module: Optional[LoadModule]) -> None:
    stack = [start]
    while stack:
        info = stack.pop()
        names = reached.setdefault(info.fqn, set())
        if orch in names:
            continue
        names.add(orch)
        for callee in info.calls:
            if index.settings.is_deterministic(callee):
                continue
            target = _resolve(index, callee, load_module)
            if target is not None and not target.is_activity:
                stack.append(target)
        for callee in info.self_calls:  # ``self.finish()`` may run a subclass's ``finish``
            stack.extend(t for t in index.overrides(callee) if not t.is_activity)


def _resolve(index: ProjectIndex, callee: str,
             load_module: Optional[LoadModule]) -> Optional[FunctionInfo]:
    """``index.resolve(callee)``, analysing the modules it needs on the way."""
    target = index.resolve(callee)
    if target is not None or load_module is None:
        return target
    _load_prefix(callee, load_module)
    target = index.resolve(callee)
    for _ in range(8):  # the alias may point into another module, and so on
        if target is not None:
            return target
        canonical = index.canonical(callee)
        if not _load_prefix(canonical, load_module):
            break
        target = index.resolve(callee)
    cls, _, method = callee.rpartition(".")
    for _ in range(8):  # an inherited method: its base classes may be in other modules
        if target is not None or not cls:
            break
        loaded = [_load_prefix(f"{b}.{method}", load_module) for b in index.mro(cls)[1:]]
        if not any(loaded):
            break
        target = index.resolve(callee)
    return target
