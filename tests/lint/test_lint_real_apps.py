"""durable-lint on function apps written the way public Durable apps are, findings pinned.

Each folder under ``fixtures/real_apps/`` is one app (its own ``host.json``) with an
``expected.json``: every finding (code, file, line, column, orchestrators) and why it is
right. The comparison is exact, so a new false positive fails as surely as a lost finding; the
apps are full of code that must not be flagged (activities, client functions, pure helpers,
guarded logging, ``generate_blob_sas``...). See ``fixtures/real_apps/README.md``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from durable_testkit.lint_rules import lint_paths
from durable_testkit.lint_rules.cli import main

REAL_APPS = Path(__file__).parent / "fixtures" / "real_apps"
APPS = sorted(p.name for p in REAL_APPS.iterdir() if (p / "host.json").is_file())
Row = tuple[str, str, int, int, tuple[str, ...]]


def _expected(app: str) -> list[Row]:
    entries = json.loads((REAL_APPS / app / "expected.json").read_text(encoding="utf-8"))
    return sorted((e["code"], e["file"], e["line"], e["column"], tuple(e["orchestrators"]))
                  for e in entries)


def _row(app: str, path: str, line: int, column: int, code: str,
         orchestrators: Any) -> Row:
    rel = Path(path).resolve().relative_to((REAL_APPS / app).resolve()).as_posix()
    return (code, rel, line, column, tuple(orchestrators))


def test_there_are_apps_of_both_generations() -> None:
    v1 = [a for a in APPS if any((REAL_APPS / a).rglob("function.json"))]
    assert len(APPS) >= 3 and v1 and len(v1) < len(APPS)


@pytest.mark.parametrize("app", APPS)
def test_expected_file_explains_every_finding(app: str) -> None:
    entries = json.loads((REAL_APPS / app / "expected.json").read_text(encoding="utf-8"))
    for e in entries:
        assert set(e) == {"code", "file", "line", "column", "orchestrators", "why"}, e
        assert len(e["why"].split()) >= 5, e
        assert (REAL_APPS / app / e["file"]).is_file(), e
    assert len({(e["code"], e["file"], e["line"]) for e in entries}) == len(entries)


@pytest.mark.parametrize("app", APPS)
def test_api_finds_exactly_the_expected(app: str) -> None:
    result = lint_paths([REAL_APPS / app], config=False, jobs=1)
    assert result.internal_errors == ()
    found = sorted(_row(app, f.path, f.line, f.col + 1, f.code, f.orchestrators)
                   for f in result.findings)
    assert found == _expected(app)


@pytest.mark.parametrize("app", APPS)
def test_cli_finds_exactly_the_expected(app: str, capsys, monkeypatch) -> None:
    monkeypatch.chdir(REAL_APPS / app)
    code = main(["check", "--no-config", "--no-cache", "--output-format", "json", "."])
    out = json.loads(capsys.readouterr().out)
    assert code == (1 if _expected(app) else 0)
    found = sorted(_row(app, f["path"], f["line"], f["column"], f["code"], f["orchestrators"])
                   for f in out)
    assert found == _expected(app)


@pytest.mark.parametrize("app", APPS)
def test_one_file_at_a_time_as_pre_commit_does(app: str) -> None:
    """Naming one file still indexes the whole app: the same findings for that file."""
    expected = _expected(app)
    for file in sorted({row[1] for row in expected}):
        result = lint_paths([REAL_APPS / app / file], config=False, jobs=1)
        found = sorted(_row(app, f.path, f.line, f.col + 1, f.code, f.orchestrators)
                       for f in result.findings)
        assert found == [row for row in expected if row[1] == file], file


@pytest.mark.skipif(not os.environ.get("DURABLE_LINT_SDK_SAMPLES"),
                    reason="set DURABLE_LINT_SDK_SAMPLES to a checkout's samples folders")
def test_the_sdks_own_samples_are_clean() -> None:
    """``DURABLE_LINT_SDK_SAMPLES=/path/samples:/path/samples-v2`` (azure-functions-durable-python)."""
    folders = [Path(p) for p in os.environ["DURABLE_LINT_SDK_SAMPLES"].split(os.pathsep) if p]
    result = lint_paths(folders, config=False, jobs=1)
    assert result.internal_errors == ()
    assert [str(f) for f in result.findings] == []
