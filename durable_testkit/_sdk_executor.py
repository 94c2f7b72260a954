"""The SDK's per-episode executor set-up, without defining a class every episode.

``df.Orchestrator.create(fn)`` answers every call with a fresh ``Orchestrator``,
whose ``TaskOrchestrationExecutor.__init__`` calls
``collections.namedtuple("SetTaskValuePayload", ...)``: it defines a new class,
through ``exec``, on every episode. In Azure an episode is one call per
work item; here a test runs hundreds of episodes a second, and in a 3-activity
test that class definition was about a quarter of the time spent inside the SDK
(py-spy, ``benchmarks/peers.py``'s 3-step test).

``install()`` swaps the ``namedtuple`` global of that one SDK module for a cached
one: the same typename and field names give the same class, defined once. The SDK
only reads the instances' two fields, so nothing it does can tell the difference.
``DURABLE_TESTKIT_STOCK_SDK=1`` (or ``install(stock=True)``) keeps the stock path.
See docs/protocol.md, "The SDK's executor set-up".
"""
from __future__ import annotations

import collections
from typing import Any, Dict, Tuple

from ._sdk_swap import ENV_STOCK_SDK, SdkSwap

__all__ = ["ENV_STOCK", "SDK_TARGET", "cached_namedtuple", "install", "uninstall", "installed"]

#: Set to ``1``: the host leaves the SDK's own code paths alone (this one, the
#: timestamp parser and the parsed context; defined in ``_sdk_swap``).
ENV_STOCK = ENV_STOCK_SDK

#: The SDK module global install() swaps (``from collections import namedtuple``).
SDK_TARGET = ("azure.durable_functions.models.TaskOrchestrationExecutor", "namedtuple")

_real_namedtuple = collections.namedtuple
_classes: Dict[Tuple[str, Tuple[str, ...]], Any] = {}


def cached_namedtuple(typename: str, field_names: Any, **kwargs: Any) -> Any:
    """``collections.namedtuple``, defined once per (typename, field names)."""
    if kwargs or not isinstance(field_names, (tuple, list)):
        return _real_namedtuple(typename, field_names, **kwargs)
    key = (typename, tuple(field_names))
    cls = _classes.get(key)
    if cls is None:
        cls = _classes[key] = _real_namedtuple(typename, field_names)
    return cls


_SWAP = SdkSwap([(SDK_TARGET[0], None, SDK_TARGET[1])],
                is_stock=lambda value: value is _real_namedtuple,
                replacement=lambda _: cached_namedtuple,
                is_ours=lambda value: value is cached_namedtuple)


def install(*, stock: "bool | None" = None) -> bool:
    """Swap the cached ``namedtuple`` into the SDK's executor module; idempotent.

    Only a global that still holds ``collections.namedtuple`` is swapped (a test's
    own patch is left alone; an SDK without it is simply not sped up).

    Returns:
        Whether the cached version is now installed.
    """
    return _SWAP.install(stock=stock)


def uninstall() -> None:
    """Give the SDK's executor module ``collections.namedtuple`` back."""
    _SWAP.uninstall()


def installed() -> bool:
    """Whether the SDK's executor currently uses the cached ``namedtuple``."""
    return _SWAP.installed()
