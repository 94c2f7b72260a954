"""An SDK attribute swapped for the host's faster equivalent while installed, then put back.

The host makes three such swaps (``_timestamps``: the timestamp parser;
``_sdk_executor``: the executor's ``namedtuple``; ``_sdk_context``: the context's
``from_json``). Each must be safe next to a user's own patches and to threads,
so each follows the same rules, kept here once:

- only an attribute that still holds the SDK's own value is swapped (a test's
  mock is left alone; an SDK without the attribute is simply not sped up);
- uninstalling puts back what was replaced, and only where our value is still
  in place (a patch made after install is not undone);
- installing twice swaps once, under a lock;
- ``DURABLE_TESTKIT_STOCK_SDK=1`` (and a swap's own variable, if it has one)
  keeps the stock path: ``install()`` then uninstalls instead.

docs/protocol.md records each swap's reason and source.
"""
from __future__ import annotations

import importlib
import os
import threading
from typing import Any, Callable, List, Optional, Sequence, Tuple

__all__ = ["ENV_STOCK_SDK", "SdkSwap"]

#: Set to ``1``: every SDK swap stays out and the SDK runs its own code paths.
ENV_STOCK_SDK = "DURABLE_TESTKIT_STOCK_SDK"

#: Where a swap applies: (module, class in it or None for the module itself, attribute).
Target = Tuple[str, Optional[str], str]


class SdkSwap:
    """One kind of SDK attribute, swapped where it still holds the SDK's own value.

    Args:
        targets: where the attribute lives, in every SDK version it is swapped in.
        is_stock: whether a value is the SDK's own (what may be replaced).
        replacement: our value, given the SDK's own value it replaces.
        is_ours: whether a value is the one ``replacement`` made.
        env: further variables that keep this swap stock when set to ``1``.
    """

    def __init__(self, targets: Sequence[Target], *, is_stock: Callable[[Any], bool],
                 replacement: Callable[[Any], Any], is_ours: Callable[[Any], bool],
                 env: Sequence[str] = ()) -> None:
        self.targets = tuple(targets)
        self._is_stock = is_stock
        self._replacement = replacement
        self._is_ours = is_ours
        self._env = (ENV_STOCK_SDK, *env)
        self._lock = threading.Lock()
        # (owner, attribute, the SDK's value we replaced), for every attribute swapped.
        self.swapped: List[Tuple[Any, str, Any]] = []

    def stock_requested(self) -> bool:
        """Whether the environment asks for the stock SDK (read now, on each call)."""
        return any(os.environ.get(name, "").strip() == "1" for name in self._env)

    def install(self, *, stock: Optional[bool] = None) -> bool:
        """Swap ours in wherever the SDK's own value is still in place; idempotent.

        Args:
            stock: True keeps (or restores) the stock path; False installs regardless
                of the environment; None reads the environment now.

        Returns:
            Whether our value is now installed somewhere.
        """
        if stock is None:
            stock = self.stock_requested()
        if stock:
            self.uninstall()
            return False
        with self._lock:
            for target in self.targets:
                owner = _owner(target)
                if owner is None:
                    continue
                attr = target[2]
                current = _read(owner, attr)
                if self._is_stock(current):
                    setattr(owner, attr, self._replacement(current))
                    self.swapped.append((owner, attr, current))
            return self.installed()

    def uninstall(self) -> None:
        """Put back the SDK's own values, where ours is still in place."""
        with self._lock:
            while self.swapped:
                owner, attr, original = self.swapped.pop()
                if self._is_ours(_read(owner, attr)):
                    setattr(owner, attr, original)

    def installed(self) -> bool:
        """Whether our value is in place in at least one target now.

        No lock: the host asks once per episode, and the answer can change right
        after it anyway; reading the list while another thread changes it is safe.
        """
        is_ours = self._is_ours
        for owner, attr, _ in self.swapped:
            if is_ours(_read(owner, attr)):
                return True
        return False


def _owner(target: Target) -> Any:
    """The module (or the class in it) a target names; None when this SDK has none."""
    module_name, class_name, _ = target
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return module if class_name is None else getattr(module, class_name, None)


def _read(owner: Any, attr: str) -> Any:
    """The attribute as stored in the owner's own namespace (a module's global; a class's
    own entry, e.g. the classmethod object itself, never an inherited or bound value)."""
    return owner.__dict__.get(attr)
