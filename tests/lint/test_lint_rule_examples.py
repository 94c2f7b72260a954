"""Every rule's VALID and INVALID examples, run as tests (the Fixit way)."""
from __future__ import annotations

import libcst as cst
import pytest

from durable_testkit.lint_rules import RULES, lint_source

VALID = [
    pytest.param(rule, ex, id=f"{rule.CODE}-valid-{i}")
    for rule in RULES for i, ex in enumerate(rule.VALID)
]
INVALID = [
    pytest.param(rule, ex, id=f"{rule.CODE}-invalid-{i}")
    for rule in RULES for i, ex in enumerate(rule.INVALID)
]


def test_every_rule_has_examples_and_docs() -> None:
    for rule in RULES:
        assert rule.VALID and rule.INVALID, rule.CODE
        assert rule.__doc__ and rule.MESSAGE and rule.NAME, rule.CODE
        assert rule.SEVERITY in ("error", "warning", "info"), rule.CODE
    assert len({r.CODE for r in RULES}) == len(RULES)


@pytest.mark.parametrize(("rule", "example"), VALID)
def test_valid_example_is_not_flagged(rule, example) -> None:
    result = lint_source(example.code, **example.settings)
    assert not result.internal_errors
    assert [f for f in result.findings if f.code == rule.CODE] == []


@pytest.mark.parametrize(("rule", "example"), INVALID)
def test_invalid_example_is_flagged(rule, example) -> None:
    result = lint_source(example.code, **example.settings)
    assert not result.internal_errors
    hits = [f for f in result.findings if f.code == rule.CODE]
    assert hits, f"{rule.CODE} not reported; got {result.findings}"
    assert all(f.severity == rule.SEVERITY for f in hits)


@pytest.mark.parametrize(
    ("rule", "example"),
    [p for p in INVALID if p.values[1].expected_fix is not None],
)
def test_invalid_example_fix(rule, example) -> None:
    result = lint_source(example.code, select=[rule.CODE], unsafe_fixes=True, **example.settings)
    assert len(result.fixes) == 1
    fixed = result.fixes[0].fixed
    assert fixed == example.expected_fix
    cst.parse_module(fixed)
    # Idempotent: the fixed code has nothing left to fix for this rule.
    again = lint_source(fixed, select=[rule.CODE], unsafe_fixes=True, **example.settings)
    assert again.fixes == ()
    assert [f for f in again.findings if f.code == rule.CODE] == []
