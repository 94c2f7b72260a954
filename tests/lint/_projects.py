"""Small lint projects written to disk, and their findings as (path, line, code)."""
from __future__ import annotations

import textwrap
from pathlib import Path

from durable_testkit.lint_rules import lint_paths

#: The top of a V2 function_app.py.
HEAD = "import azure.durable_functions as df\n\napp = df.DFApp()\n\n\n"


def write(root: Path, files: dict[str, str]) -> Path:
    """A V2 app under ``root``: host.json plus ``files`` (dedented)."""
    (root / "host.json").write_text('{"version": "2.0"}')
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def rel(root: Path, **kw) -> list[tuple[str, int, str]]:
    """The findings of linting ``root``, paths relative to it."""
    result = lint_paths([root], config=False, **kw)
    assert not result.internal_errors
    return [(Path(f.path).resolve().relative_to(root.resolve()).as_posix(), f.line, f.code)
            for f in result.findings]
