"""Fixes: pick non-overlapping edits and apply them, never offering one that breaks the file."""
from __future__ import annotations

from typing import Collection, Iterable, Optional

import libcst as cst

from .config import Settings
from .model import FileAnalysis, Report
from .results import FileFix
from .sources import Source
from .suppressions import suppressing


def allowed(report: Report, settings: Settings) -> bool:
    """Whether the run may apply this report's edit (safe, or unsafe when asked)."""
    return report.edit is not None and (report.fix == "safe" or settings.unsafe_fixes)


def wants_edits(analysis: FileAnalysis, reached: Collection[str], settings: Settings) -> bool:
    """Whether a fix may be built from ``analysis``: a reached, unsuppressed, fixable report.

    The cache stores no edits, so such a cached file is analysed again for its edits.
    """
    return any(
        (r.fix == "safe" or (r.fix == "unsafe" and settings.unsafe_fixes))
        and r.owner in reached and suppressing(analysis.suppressions, r) is None
        for r in analysis.reports)


def chosen_edits(edits: Iterable[Optional[tuple[int, int, str]]]) -> list[tuple[int, int, str]]:
    """Non-overlapping edits, earliest first; the others wait for the next run."""
    chosen: list[tuple[int, int, str]] = []
    end = -1
    for e in sorted((e for e in edits if e is not None), key=lambda e: (e[0], -e[1])):
        if e[0] >= end:
            chosen.append(e)
            end = e[1]
    return chosen


def build_fix(shown: str, source: Optional[Source], reports: list[Report],
              settings: Settings) -> Optional[FileFix]:
    """The fixed file for the allowed edits among ``reports``, or None.

    Only UTF-8 files are fixed: the fix is written as UTF-8, which would contradict another
    encoding's coding cookie. A UTF-8 BOM is kept.
    """
    if source is None or not source.fixable:
        return None
    chosen = chosen_edits(r.edit for r in reports if allowed(r, settings))
    if not chosen:
        return None
    out = source.data
    for start, stop, text in reversed(chosen):
        out = out[:start] + text.encode("utf-8") + out[stop:]
    try:
        fixed = out.decode("utf-8")
        cst.parse_module(fixed)  # never offer a fix that breaks the file
    except Exception:
        return None
    bom = "\ufeff" if source.bom else ""
    return FileFix(shown, bom + source.text, bom + fixed, len(chosen))
