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

from typing import Any, Dict, Optional

from ._sdk_swap import SdkSwap

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


_stock: Optional[Any] = None  # the class's own from_json (the classmethod object)


def _from_json(cls: Any, json_string: Any) -> Any:
    if type(json_string) is ParsedContext:
        return cls(**json_string.fields)
    assert _stock is not None
    return _stock.__func__(cls, json_string)


def _is_stock(value: Any) -> bool:
    """The SDK's own ``from_json``: a classmethod defined in the SDK's module."""
    return isinstance(value, classmethod) \
        and getattr(value.__func__, "__module__", None) == SDK_TARGET[0]


#: The classmethod install() puts on the class: one object, so "is it ours" is one check.
_OURS = classmethod(_from_json)


def _ours(stock: Any) -> Any:
    global _stock
    _stock = stock
    return _OURS


_SWAP = SdkSwap([(SDK_TARGET[0], SDK_TARGET[1], "from_json")], is_stock=_is_stock,
                replacement=_ours, is_ours=lambda value: value is _OURS)


def install(*, stock: "bool | None" = None) -> bool:
    """Swap the parsed-context ``from_json`` into the SDK's context class; idempotent.

    Only a ``from_json`` that is still the SDK's own is swapped (a test's patch
    is left alone).

    Returns:
        Whether the swap is now installed.
    """
    return _SWAP.install(stock=stock)


def uninstall() -> None:
    """Give the SDK's context class its own ``from_json`` back."""
    _SWAP.uninstall()


def installed() -> bool:
    """Whether the SDK's context class currently takes a :class:`ParsedContext`."""
    return _SWAP.installed()
