"""The orchestration trigger's context handed to the SDK already parsed.

In Azure the worker gets each episode's context as JSON text, and the SDK's
handle parses it whole (``DurableOrchestrationContext.from_json``: ``json.loads``
then ``cls(**fields)``). The host holds that history as the very dicts the text
would parse to, so writing them out as text every episode only for the SDK to
read them back copied and parsed the whole history twice per episode: on a
2,000-step chain, 8,000 events, that ``json.loads`` alone took about 34 ms an
episode here, and building the text grew the host's own cost with the history.

``install()`` swaps ``from_json`` on the SDK's context class for one that, given
a :class:`ParsedContext`, calls ``cls(**fields)`` directly, and hands anything
else to the stock method. The stock handle's body runs unchanged
(``getattr(context, "body")``, ``from_json``, the input type, ``Orchestrator``):
only the text step is skipped. The host passes a ParsedContext only to a handle
whose code is the stock ``Orchestrator.create`` handle's (``_sdk.takes_parsed``),
and only dicts equal, type for type, to what ``json.loads`` of the text gives
(a property test holds the two equal). ``DURABLE_TESTKIT_STOCK_SDK=1`` (or
``install(stock=True)``) keeps the stock path: every episode gets text. See
docs/protocol.md, "The orchestration context, parsed".
"""
from __future__ import annotations

import importlib
import os
import threading
from typing import Any, Dict, List, Optional

from ._timestamps import ENV_STOCK_SDK  # the same opt-out as every SDK swap

__all__ = ["ParsedContext", "SDK_TARGET", "install", "uninstall", "installed"]

#: The SDK class whose ``from_json`` install() swaps.
SDK_TARGET = ("azure.durable_functions.models.DurableOrchestrationContext",
              "DurableOrchestrationContext")



class ParsedContext:
    """The context JSON's fields, as ``json.loads`` of its text would give them.

    Not a ``str``: the stock ``from_json`` would reject it, so a context that
    reaches the stock method by mistake fails loudly instead of replaying wrong.
    """

    __slots__ = ("fields",)

    def __init__(self, fields: Dict[str, Any]) -> None:
        self.fields = fields

    def __repr__(self) -> str:
        return f"ParsedContext(<{len(self.fields.get('history') or ())} events>)"


_lock = threading.Lock()
_stock: Optional[Any] = None  # the class's own from_json (the classmethod object)
_swapped: List[Any] = []


def _from_json(cls: Any, json_string: Any) -> Any:
    if type(json_string) is ParsedContext:
        return cls(**json_string.fields)
    assert _stock is not None
    return _stock.__func__(cls, json_string)


def install(*, stock: "bool | None" = None) -> bool:
    """Swap the parsed-context ``from_json`` into the SDK's context class; idempotent.

    Only a ``from_json`` that is still the SDK's own is swapped (a test's patch
    is left alone).

    Returns:
        Whether the swap is now installed.
    """
    global _stock
    if stock is None:
        stock = os.environ.get(ENV_STOCK_SDK, "").strip() == "1"
    if stock:
        uninstall()
        return False
    module_name, class_name = SDK_TARGET
    with _lock:
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError):
            return False
        own = cls.__dict__.get("from_json")
        if _stock is None and isinstance(own, classmethod) \
                and getattr(own.__func__, "__module__", None) == module_name:
            _stock = own  # the SDK's own method, defined in its module
        if own is _stock and _stock is not None:
            cls.from_json = classmethod(_from_json)
            _swapped.append(cls)
        return _installed_locked()


def uninstall() -> None:
    """Give the SDK's context class its own ``from_json`` back."""
    with _lock:
        while _swapped:
            cls = _swapped.pop()
            own = cls.__dict__.get("from_json")
            if isinstance(own, classmethod) and own.__func__ is _from_json and _stock:
                cls.from_json = _stock


def installed() -> bool:
    """Whether the SDK's context class currently takes a :class:`ParsedContext`."""
    with _lock:
        return _installed_locked()


def _installed_locked() -> bool:
    for cls in _swapped:
        own = cls.__dict__.get("from_json")
        if isinstance(own, classmethod) and own.__func__ is _from_json:
            return True
    return False
