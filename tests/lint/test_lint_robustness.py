"""The linter never crashes: arbitrary text gives findings (DF001 at worst), never an exception."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from durable_testkit.lint_rules import lint_source
from durable_testkit.lint_rules.rules import RULES

SNIPPETS = [ex.code for rule in RULES for ex in (*rule.VALID, *rule.INVALID)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_arbitrary_text_never_crashes(text: str) -> None:
    result = lint_source(text)
    assert result.internal_errors == ()
    assert all(f.code in ("DF001", "DF002") or f.line >= 1 for f in result.findings)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SNIPPETS), st.integers(min_value=0, max_value=400), st.text(max_size=5))
def test_mutated_orchestrators_never_crash(snippet: str, at: int, junk: str) -> None:
    text = snippet[:at] + junk + snippet[at:]
    result = lint_source(text, unsafe_fixes=True)
    assert result.internal_errors == ()


def test_deep_nesting_is_df001_not_a_crash() -> None:
    result = lint_source("x = " + "(" * 5000 + ")" * 5000 + "\n")
    assert result.internal_errors == ()
    assert {f.code for f in result.findings} <= {"DF001"}
