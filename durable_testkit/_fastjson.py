"""``json.dumps``/``json.loads`` results, without their set-up cost on every call.

The host encodes and decodes a small payload per activity: an input like ``12``,
a result like ``24``. ``json.dumps`` builds a new C encoder for each call and
``json.loads`` runs two regular expressions around the C scanner, which costs
several times the work itself (about 2 µs against 0.4 µs for ``24``, measured on
the benchmark machine): on a 10,000-activity fan-out that is a tenth of the
host's time. These functions call the same C encoder and scanner directly and
give exactly the text and values ``json.dumps(value)`` and ``json.loads(text)``
give (a property test checks it); anything unusual (an error, whitespace around
the value, a circular structure) takes the stock path, so errors are the stock
ones too.
"""
from __future__ import annotations

import json
from json import encoder as _encoder
from typing import Any, Callable, List, Optional, Tuple

__all__ = ["dumps", "dumps_compact", "loads"]



def _unsupported(value: Any) -> Any:
    raise TypeError(type(value).__name__)  # the stock path raises json's own text


def _c_encoder(item_separator: str, key_separator: str
               ) -> Optional[Callable[[Any, int], List[str]]]:
    """json's C encoder with these separators and json.dumps' other defaults, made once.

    Defaults: ensure_ascii, allow_nan, no sorting. No markers (the cycle check): a
    cycle recurses until RecursionError, and the stock path then raises json's own
    "Circular reference detected".
    """
    try:
        from _json import make_encoder
    except ImportError:  # pragma: no cover - a Python without the C accelerator
        return None
    return make_encoder(None, _unsupported, _encoder.encode_basestring_ascii, None,
                        key_separator, item_separator, False, False, True)


_C_ENCODER = _c_encoder(", ", ": ")
_C_COMPACT = _c_encoder(",", ":")

_ESCAPE = _encoder.encode_basestring_ascii
_SCAN: Callable[[str, int], Tuple[Any, int]] = getattr(json.JSONDecoder(), "scan_once")
_INT_REPR = int.__repr__


def dumps(value: Any) -> str:
    """``json.dumps(value)``, the same text."""
    kind = type(value)
    if kind is int:
        return _INT_REPR(value)
    if kind is str:
        return _ESCAPE(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if _C_ENCODER is not None and (kind is list or kind is dict or kind is float):
        try:
            return "".join(_C_ENCODER(value, 0))
        except Exception:  # noqa: S110 - the stock call raises the stock error
            pass
    return json.dumps(value)


def dumps_compact(value: Any) -> str:
    """``json.dumps(value, separators=(",", ":"))``, the same text (the wire events' form)."""
    if _C_COMPACT is not None:
        try:
            return "".join(_C_COMPACT(value, 0))
        except Exception:  # noqa: S110 - the stock call raises the stock error
            pass
    return json.dumps(value, separators=(",", ":"))


def loads(text: str) -> Any:
    """``json.loads(text)`` of a ``str``, the same value (or the same error)."""
    try:
        value, end = _SCAN(text, 0)
    except Exception:  # StopIteration (not JSON at 0), or anything: take the stock path
        return json.loads(text)
    if end != len(text):
        return json.loads(text)  # whitespace after it, or extra data: json says what
    return value
