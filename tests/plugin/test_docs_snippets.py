"""docs/testing.md shows code copied from files that run in CI: check the copies are current."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "testing.md"
TESTS = ROOT / "examples" / "order_app" / "tests"

_CITED = re.compile(r"From `examples/order_app/tests/(\S+)` \(snippet `([\w-]+)`\):\n\n"
                    r"```python\n(.*?)\n```", re.S)


def snippet(file: str, name: str) -> str:
    text = (TESTS / file).read_text()
    match = re.search(rf"# --8<-- \[start:{name}\]\n(.*?)\n# --8<-- \[end:{name}\]", text, re.S)
    assert match, f"no snippet {name!r} in {file}"
    return match.group(1)


def test_every_cited_sample_matches_its_source() -> None:
    cited = _CITED.findall(DOC.read_text())
    assert len(cited) >= 10
    for file, name, shown in cited:
        assert shown == snippet(file, name), f"docs/testing.md: snippet {name!r} of {file}"


def test_the_ini_shown_is_the_examples_ini() -> None:
    ini = (ROOT / "examples" / "order_app" / "pytest.ini").read_text().strip()
    assert f"```ini\n{ini}\n```" in DOC.read_text()
