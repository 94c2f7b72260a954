"""Generated docs are current, the public surface is exactly __all__, hooks are well formed."""
from __future__ import annotations

from pathlib import Path

import durable_testkit.lint_rules as lint
from durable_testkit.lint_rules.docs import render_reference

REPO = Path(__file__).resolve().parents[2]


def test_rule_reference_is_up_to_date() -> None:
    current = (REPO / "docs" / "lint-rules.md").read_text(encoding="utf-8")
    assert current == render_reference(), (
        "docs/lint-rules.md is out of date: run "
        "`python -m durable_testkit.lint_rules.docs docs/lint-rules.md`"
    )


def test_documented_examples_show_a_difference() -> None:
    # The page shows each rule's first INVALID and first VALID example: identical code (DF100's
    # once differed only by settings the page did not show) teaches nothing.
    from durable_testkit.lint_rules.rules import RULES

    for rule in RULES:
        if rule.INVALID and rule.VALID:
            assert rule.INVALID[0].code != rule.VALID[0].code, rule.CODE


def test_public_surface_is_all() -> None:
    import types

    public = {n for n, v in vars(lint).items()
              if not n.startswith("_") and not isinstance(v, types.ModuleType)}
    assert public - {"annotations"} == set(lint.__all__)


def test_pre_commit_hooks() -> None:
    text = (REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    assert "- id: durable-lint\n" in text and "- id: durable-lint-fix\n" in text
    assert "entry: durable-lint check --fix" in text
