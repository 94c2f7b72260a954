"""Suppression comments: ``# noqa: DF101`` and ``# durable-lint: ignore[DF101]``.

Parsed from libcst comment nodes during analysis; a comment on a ``def`` line (or on its own
line just above one) covers the whole function. :func:`suppressing` finds the comment that
silences a report.
"""
from __future__ import annotations

import re
from typing import Iterable, Optional

from .model import Report, Suppression

_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.I)
_IGNORE = re.compile(r"#\s*durable-lint:\s*ignore(?:\[(?P<codes>[^\]]*)\])?")


def _parse_codes(text: Optional[str]) -> tuple[str, ...]:
    if not text:
        return ()
    return tuple(c.strip().upper() for c in re.split(r"[\s,]+", text) if c.strip())


def parse_comment(text: str, line: int, col: int, own_line: bool) -> Optional[Suppression]:
    """The suppression a comment makes, or None (another tool's ``noqa`` is not ours)."""
    if "noqa" not in text.lower() and "durable-lint" not in text:
        return None
    m = _IGNORE.search(text) or _NOQA.search(text)
    if not m:
        return None
    codes = _parse_codes(m.group("codes"))
    if m.re is _NOQA and codes and not any(c.startswith("DF") for c in codes):
        return None
    codes = tuple(c for c in codes if c.startswith("DF"))
    target = line + 1 if own_line else line
    return Suppression(line, col, target, target, codes)


def widen_to_functions(sups: Iterable[Suppression],
                       def_spans: Iterable[tuple[frozenset[int], int, int]]) -> list[Suppression]:
    """A suppression on a ``def`` or decorator line covers the whole function."""
    spans = list(def_spans)
    out = []
    for sup in sups:
        first, last = sup.first, sup.last
        for header, start, end in spans:
            if sup.first in header:
                first, last = min(first, start), max(last, end)
                break
        out.append(Suppression(sup.line, sup.col, first, last, sup.codes))
    return out


def suppressing(sups: Iterable[Suppression], report: Report) -> Optional[Suppression]:
    """The suppression that covers ``report``, if any."""
    for sup in sups:
        if sup.first <= report.line <= sup.last and (not sup.codes or any(
                report.code.startswith(c) for c in sup.codes)):
            return sup
    return None
