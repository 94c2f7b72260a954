"""From reports to findings: keep reached code, ask project-wide rules, suppress, select, fix."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

from .config import Settings
from .fixes import allowed, build_fix, chosen_edits
from .index import ProjectIndex
from .model import FileAnalysis, Report
from .results import FileFix, Finding, InternalError
from .rules import RULES_BY_CODE
from .sources import Source
from .suppressions import suppressing


@dataclass(frozen=True)
class Finished:
    """Findings, fixes and internal errors of the target files."""

    findings: tuple[Finding, ...]
    fixes: tuple[FileFix, ...]
    internal_errors: tuple[InternalError, ...]


def finish(
    analyses: Mapping[str, FileAnalysis],
    index: ProjectIndex,
    reached: Mapping[str, set[str]],
    settings: Settings,
    targets: set[str],
    sources: Mapping[str, Source],
    display: Callable[[str], str],
    relative: Callable[[str], str],
) -> Finished:
    """Filter the target files' reports to findings, apply suppressions and selection, fix."""
    findings: list[Finding] = []
    fixes: list[FileFix] = []
    errors: list[InternalError] = []
    for path in sorted(targets):
        analysis = analyses.get(path)
        if analysis is None:
            continue
        shown, rel = display(path), relative(path)
        if analysis.internal_error:
            errors.append(InternalError(shown, analysis.internal_error))
            continue
        if analysis.parse_error is not None:
            r = analysis.parse_error
            if settings.is_selected("DF001", rel):
                findings.append(Finding(shown, r.line, r.col, r.code, r.message, "error"))
            continue
        kept: list[tuple[Report, str, tuple[str, ...]]] = []
        for report in analysis.reports:
            if report.owner is None or report.owner not in reached:
                continue
            message = RULES_BY_CODE[report.code].project_check(report, index)
            if message is not None:
                kept.append((report, message, tuple(sorted(reached[report.owner]))))
        used: set[tuple[int, str]] = set()
        file_findings: list[tuple[Finding, Report]] = []
        for report, message, orchs in kept:
            sup = suppressing(analysis.suppressions, report)
            if sup is not None:
                used.add((sup.line, report.code))
                continue
            if not settings.is_selected(report.code, rel):
                continue
            rule = RULES_BY_CODE[report.code]
            file_findings.append(
                (Finding(shown, report.line, report.col, report.code, message, rule.SEVERITY,
                         orchs, report.fix), report)
            )
        if settings.is_selected("DF002", rel):
            for sup in analysis.suppressions:
                for code in sup.codes:
                    if (code in RULES_BY_CODE and settings.is_selected(code, rel)
                            and (sup.line, code) not in used):
                        file_findings.append((
                            Finding(shown, sup.line, sup.col, "DF002",
                                    f"unused suppression: no {code} finding here",
                                    RULES_BY_CODE["DF002"].SEVERITY),
                            Report("DF002", sup.line, sup.col, "", None)))
        fix = build_fix(shown, sources.get(path), [r for _, r in file_findings], settings)
        if fix is not None:
            fixes.append(fix)
            if settings.fix:  # what was fixed is no longer a finding; skipped overlaps still are
                applied = set(chosen_edits(r.edit for _, r in file_findings if allowed(r, settings)))
                file_findings = [(f, r) for f, r in file_findings if r.edit not in applied]
        findings.extend(sorted(f for f, _ in file_findings))
    return Finished(tuple(findings), tuple(fixes), tuple(errors))
