"""docs/faults.md shows code copied from tests/faults: every sample must still be in a test file."""
from __future__ import annotations

import re
from pathlib import Path

HERE = Path(__file__).parent
DOC = HERE.parent.parent / "docs" / "faults.md"


def test_every_python_sample_is_copied_from_a_test():
    sources = "\n".join(p.read_text() for p in HERE.glob("*.py"))
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) >= 5
    for block in blocks:
        for chunk in block.split("\n\n\n"):
            assert chunk.strip() in sources, chunk[:200]


def test_the_message_shown_is_the_message_raised():
    from durable_testkit import FaultCheckFailed, check_at_least_once
    from test_guide import CHARGES, ORDER, make_runtime

    def check(result, rt):
        assert CHARGES == [30], f"charged {CHARGES}"

    try:
        check_at_least_once(make_runtime, "checkout", ORDER, check=check)
    except FaultCheckFailed as exc:
        raised = str(exc).splitlines()
    shown = re.search(r"```text\n(.*?)```", DOC.read_text(), re.S).group(1).splitlines()
    for line in shown:
        if "(...)" in line:
            assert any(r.startswith(line.split("(...)")[0]) for r in raised), line
        elif line.strip() != "...":
            assert line in raised, line
