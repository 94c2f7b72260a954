"""Rule documentation generated from the rule classes (``docs/lint-rules.md``)."""
from __future__ import annotations

import inspect
import json
from typing import Any

from .rules import RULES, Rule

_HEADER = """# durable-lint rule reference

<!-- Generated from lint_rules/rules/*.py by `python -m durable_testkit.lint_rules.docs`.
     Do not edit: tests/lint/test_docs.py fails when this file is out of date. -->

| code | name | severity | fix |
|---|---|---|---|
"""


def rule_text(rule: type[Rule]) -> str:
    """Plain-text explanation of a rule, for ``durable-lint rule DF101``."""
    doc = inspect.cleandoc(rule.__doc__ or "")
    fix = {"safe": "safe fix with --fix", "unsafe": "fix with --unsafe-fixes"}.get(rule.FIX or "", "no automatic fix")
    parts = [f"{rule.CODE} ({rule.NAME}) [{rule.SEVERITY}, {fix}]", "", doc]
    if rule.INVALID:
        note = _settings_note(rule.INVALID[0].settings)
        if note:
            parts += ["", note.strip().replace("```toml\n", "").replace("\n```", "")]
        parts += ["", "Flagged:", "", _indent(rule.INVALID[0].code)]
        if rule.INVALID[0].expected_fix:
            parts += ["Fixed:", "", _indent(rule.INVALID[0].expected_fix)]
    if rule.VALID:
        parts += ["Fine:", "", _indent(rule.VALID[0].code)]
    return "\n".join(parts).rstrip() + "\n"


def _indent(code: str) -> str:
    return "".join(f"    {line}\n" if line else "\n" for line in code.rstrip("\n").split("\n"))


def _settings_note(settings: dict[str, Any]) -> str:
    """The ``[tool.durable-lint]`` table an example runs with, so the page shows why it is
    flagged (DF100's examples differ from a plain run only by their settings)."""
    if not settings:
        return ""
    lines = []
    for key, value in settings.items():
        if isinstance(value, tuple) and all(isinstance(v, tuple) and len(v) == 2 for v in value):
            pairs = ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in value)
            text = f"{{ {pairs} }}"
        else:
            text = json.dumps(value)
        lines.append(f"{key.replace('_', '-')} = {text}")
    body = "\n".join(lines)
    return f"\nWith this configuration:\n\n```toml\n[tool.durable-lint]\n{body}\n```\n"


def render_reference() -> str:
    """The whole rule reference page as Markdown."""
    out = [_HEADER]
    for rule in RULES:
        out.append(f"| [{rule.CODE}](#{rule.CODE.lower()}) | {rule.NAME} | {rule.SEVERITY} | "
                   f"{rule.FIX or '-'} |\n")
    for rule in RULES:
        out.append(f"\n## {rule.CODE}\n\n**{rule.NAME}** ({rule.SEVERITY}"
                   f"{', ' + rule.FIX + ' fix' if rule.FIX else ''})\n\n")
        out.append(inspect.cleandoc(rule.__doc__ or "") + "\n")
        for ex in rule.INVALID[:1]:
            out.append(_settings_note(ex.settings))
            out.append(f"\nFlagged:\n\n```python\n{ex.code.rstrip()}\n```\n")
            if ex.expected_fix:
                out.append(f"\nAfter the fix:\n\n```python\n{ex.expected_fix.rstrip()}\n```\n")
        for valid in rule.VALID[:1]:
            out.append(f"\nNot flagged:\n\n```python\n{valid.code.rstrip()}\n```\n")
    return "".join(out)


if __name__ == "__main__":  # pragma: no cover
    import sys
    from pathlib import Path

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/lint-rules.md")
    target.write_text(render_reference(), encoding="utf-8")
    print(f"wrote {target}")
