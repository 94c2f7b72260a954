"""Output formats: text, json, github, sarif (2.1.0) and azure (Azure Pipelines logging commands)."""
from __future__ import annotations

import json
from collections import Counter
from typing import Any, Callable

from .results import Finding, LintResult
from .rules import RULES, RULES_BY_CODE

FORMATS = ("text", "json", "github", "sarif", "azure")
_TOOL_URI = "https://github.com/durable-testkit/durable-testkit/blob/main/docs/lint-rules.md"


def render(result: LintResult, fmt: str) -> str:
    """``result`` in format ``fmt`` (one of :data:`FORMATS`)."""
    renderers: dict[str, Callable[[LintResult], str]] = {
        "text": _text, "json": _json, "github": _github, "sarif": _sarif, "azure": _azure,
    }
    return renderers[fmt](result)


def statistics(result: LintResult) -> str:
    """One line per code: count, code, rule name, sorted by count."""
    counts = Counter(f.code for f in result.findings)
    lines = []
    for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        rule = RULES_BY_CODE.get(code)
        lines.append(f"{n:5d}  {code}  {rule.NAME if rule else ''}")
    return "\n".join(lines)


def _text(result: LintResult) -> str:
    lines = []
    for f in result.findings:
        fix = " [*]" if f.fix == "safe" else " [unsafe fix]" if f.fix == "unsafe" else ""
        lines.append(f"{f}{fix}")
    for err in result.internal_errors:
        lines.append(f"{err.path}: internal error in durable-lint (please report):\n{err.error}")
    n = len(result.findings)
    if n:
        fixable = sum(1 for f in result.findings if f.fix == "safe")
        lines.append(f"Found {n} problem{'s' if n != 1 else ''}"
                     + (f" ({fixable} fixable with --fix)." if fixable else "."))
    return "\n".join(lines)


def _as_dict(f: Finding) -> dict[str, Any]:
    return {
        "path": f.path, "line": f.line, "column": f.col + 1, "code": f.code,
        "message": f.message, "severity": f.severity, "orchestrators": list(f.orchestrators),
        "fix": f.fix,
    }


def _json(result: LintResult) -> str:
    return json.dumps([_as_dict(f) for f in result.findings], indent=2)


def _escape_gh(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def _github(result: LintResult) -> str:
    level = {"error": "error", "warning": "warning", "info": "notice"}
    return "\n".join(
        f"::{level.get(f.severity, 'error')} file={_escape_gh(f.path, True)},line={f.line},"
        f"col={f.col + 1},title={f.code}::{_escape_gh(f.code + ' ' + f.message)}"
        for f in result.findings
    )


def _azure(result: LintResult) -> str:
    def esc(text: str) -> str:
        return text.replace("%", "%AZP25").replace(";", "%3B").replace("\r", "%0D").replace(
            "\n", "%0A").replace("]", "%5D")

    return "\n".join(
        f"##vso[task.logissue type={'error' if f.severity == 'error' else 'warning'};"
        f"sourcepath={esc(f.path)};linenumber={f.line};columnnumber={f.col + 1};code={f.code};]"
        f"{esc(f.message)}"
        for f in result.findings
    )


def _sarif(result: LintResult) -> str:
    level = {"error": "error", "warning": "warning", "info": "note"}
    rules = [
        {
            "id": r.CODE,
            "name": r.NAME,
            "shortDescription": {"text": (r.__doc__ or r.NAME).strip().splitlines()[0]},
            "fullDescription": {"text": " ".join((r.__doc__ or "").split())},
            "helpUri": f"{_TOOL_URI}#{r.CODE.lower()}",
            "defaultConfiguration": {"level": level.get(r.SEVERITY, "error")},
        }
        for r in RULES
    ]
    index = {r.CODE: i for i, r in enumerate(RULES)}
    results = [
        {
            "ruleId": f.code,
            "ruleIndex": index.get(f.code, 0),
            "level": level.get(f.severity, "error"),
            "message": {"text": f.message + (
                f" (reached from {', '.join(f.orchestrators)})" if f.orchestrators else "")},
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": {"uri": f.path.replace("\\", "/")},
                    "region": {"startLine": f.line, "startColumn": f.col + 1},
                }
            }],
        }
        for f in result.findings
    ]
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "durable-lint", "informationUri": _TOOL_URI,
                                "version": "0.1.0", "rules": rules}},
            "results": results,
        }],
    }
    return json.dumps(doc, indent=2)
