"""docs/scenario.md quotes tests verbatim: every code block must still be in a test file."""
from __future__ import annotations

import re
from pathlib import Path

HERE = Path(__file__).parent
DOC = HERE.parent.parent / "docs" / "scenario.md"


def test_every_sample_is_copied_from_a_test():
    sources = "\n".join(p.read_text() for p in HERE.glob("*.py"))
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) > 5
    for block in blocks[1:]:  # the first is the API summary
        for chunk in block.split("\n\n\n"):
            assert chunk.strip() in sources, chunk[:200]
