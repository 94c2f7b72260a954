"""README's usage sample runs as written."""
from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_usage_sample_runs() -> None:
    block = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)[0]
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)
    namespace["test_approval_times_out"]()
