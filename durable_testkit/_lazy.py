"""Record fields decoded from their JSON text on first read, not when the record is made.

The host keeps the JSON text of every activity result (it goes into the history),
and the records the tests read (``ActivityCall.result``, ``ActivityOutcome.result``)
carry the decoded value. Decoding it for each of 10,000 fanned-out activities,
when a test reads a handful, was a second parse per activity on the host's
hottest path; now the record holds the text and decodes it the first time the
field is read, through the SDK's decoder (custom classes come back rebuilt, as
the orchestrator receives them).
"""
from __future__ import annotations

from typing import Any, Optional

# pytest hides this module's frames in failure reports (--full-trace shows them):
# what the user needs is the line of their own code.
__tracebackhide__ = True

__all__ = ["Encoded", "EncodedInput", "DecodedOnRead", "stored"]


class Encoded:
    """A field's value as JSON text, not decoded yet (what the host passes in)."""

    __slots__ = ("text",)

    def __init__(self, text: Optional[str]) -> None:
        self.text = text

    def decode(self) -> Any:
        """The value, as the SDK decodes an activity's result for the orchestrator."""
        from ._sdk import decode_activity_result  # the SDK adapter, when first needed

        return decode_activity_result(self.text)

    def __repr__(self) -> str:
        return f"Encoded({self.text!r})"


class EncodedInput(Encoded):
    """An activity's input as JSON text: decoded as the worker decodes the input it passes.

    Kept as text, not as the object the activity received: an activity that edits its
    input (``order["status"] = "charged"``) must not change what the record says it got.
    """

    __slots__ = ()

    def decode(self) -> Any:
        from ._sdk import decode_activity_input

        return decode_activity_input(self.text)

    def __repr__(self) -> str:
        return f"EncodedInput({self.text!r})"


class DecodedOnRead:
    """A dataclass field (frozen too) whose :class:`Encoded` value is decoded when read.

    Declared as the field's class attribute (``result: Any = DecodedOnRead()``):
    the dataclass treats it as a field with the given ``default`` (or a required
    one, with none), ``__init__`` stores whatever it is passed, and reading the
    field decodes an :class:`Encoded` once and keeps the value. Any other value is
    returned as given. ``repr``, ``==`` and ``dataclasses.replace`` read the field,
    so they see the decoded value.
    """

    _NO_DEFAULT: Any = object()

    def __init__(self, default: Any = _NO_DEFAULT) -> None:
        self.default = default
        self.slot = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_{name}_stored"

    def __get__(self, obj: Any, owner: Optional[type] = None) -> Any:
        if obj is None:
            if self.default is DecodedOnRead._NO_DEFAULT:
                # The dataclass looks the default up on the class: none, a required field.
                raise AttributeError(self.slot)
            return self.default
        d = obj.__dict__
        value = d[self.slot]
        if isinstance(value, Encoded):
            value = d[self.slot] = value.decode()
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.slot] = value


def stored(obj: Any, name: str) -> Any:
    """The field as stored (an :class:`Encoded` not decoded yet), to pass it on unread."""
    return obj.__dict__[f"_{name}_stored"]
