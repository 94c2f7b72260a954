"""Orchestrator discovery, name resolution, helper following and suppressions."""
from __future__ import annotations

import textwrap
from pathlib import Path

from durable_testkit.lint_rules import lint_paths, lint_source

HEAD = 'import azure.durable_functions as df\n\napp = df.DFApp()\n\n\n'


def codes(source: str, **kw) -> list[tuple[int, str]]:
    result = lint_source(textwrap.dedent(source), **kw)
    assert not result.internal_errors
    return [(f.line, f.code) for f in result.findings]


def test_context_name_is_honoured() -> None:
    src = HEAD + textwrap.dedent('''\
        @app.orchestration_trigger(context_name="ctx")
        def orch(ctx):
            ctx.call_activity("A")
            yield ctx.call_activity("A")
        ''')
    assert (8, "DF203") in codes(src)


def test_aliases_are_followed_and_shadowed_names_are_not() -> None:
    src = HEAD + textwrap.dedent('''\
        import datetime as d
        from time import sleep as zz

        @app.orchestration_trigger(context_name="context")
        def orch(context):
            zz(1)
            now = d.datetime.now()
            def inner(d):
                return d.datetime.now()
            return now, inner
        ''')
    assert codes(src) == [(11, "DF110"), (12, "DF101")]


def test_function_references_are_not_calls_and_lambdas_are() -> None:
    src = HEAD + textwrap.dedent('''\
        import time

        def clock():
            return time.time()

        def other():
            return time.time()

        @app.orchestration_trigger(context_name="context")
        def orch(context):
            f = lambda: clock()
            yield context.call_activity(other, 1)
            return f()
        ''')
    assert codes(src, select=["DF102"]) == [(9, "DF102")]


def test_helper_findings_name_every_orchestrator_once() -> None:
    src = HEAD + textwrap.dedent('''\
        import random

        def roll():
            return random.random()

        @app.orchestration_trigger(context_name="context")
        def first(context):
            return roll()

        @app.orchestration_trigger(context_name="context", orchestration="Second")
        def second(context):
            return roll()
        ''')
    result = lint_source(src)
    assert [(f.line, f.code, f.orchestrators) for f in result.findings] == [
        (9, "DF104", ("Second", "first"))
    ]


def test_v1_orchestrator_create() -> None:
    src = textwrap.dedent('''\
        import uuid
        import azure.durable_functions as df

        def orchestrator_function(context):
            yield context.call_activity("A", str(uuid.uuid4()))

        main = df.Orchestrator.create(orchestrator_function)
        ''')
    assert codes(src) == [(5, "DF103")]


def test_files_without_orchestrators_have_no_findings() -> None:
    assert codes("import time\n\ndef f():\n    return time.time()\n") == []


def test_type_checking_and_annotations_are_fine() -> None:
    src = HEAD + textwrap.dedent('''\
        from typing import TYPE_CHECKING
        import datetime
        if TYPE_CHECKING:
            import os
            x = os.environ

        @app.orchestration_trigger(context_name="context")
        def orch(context) -> datetime.datetime:
            start: datetime.datetime = datetime.datetime.fromisoformat("2024-01-01")
            return start
        ''')
    assert codes(src) == []


SUPPRESSED = HEAD + textwrap.dedent('''\
    import time

    def helper():  # durable-lint: ignore[DF102]
        a = time.time()
        return a, time.time()

    @app.orchestration_trigger(context_name="context")
    def orch(context):
        a = time.time()  # noqa: DF102
        # durable-lint: ignore[DF102]
        b = time.time()
        c = time.time()  # noqa: DF101
        d = time.time()  # noqa
        return helper(), a, b, c, d
    ''')


def test_suppressions_on_line_above_and_def() -> None:
    assert codes(SUPPRESSED) == [(17, "DF102"), (17, "DF002")]


def test_unused_suppression_ignores_unselected_rules() -> None:
    assert codes(SUPPRESSED, select=["DF102", "DF002"], ignore=["DF101"]) == [(17, "DF102")]


def test_project_helpers_across_modules(tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text("{}")
    pkg = tmp_path / "shared"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from .clock import now\n")
    (pkg / "clock.py").write_text("import datetime\n\ndef now():\n    return datetime.datetime.now()\n")
    (tmp_path / "function_app.py").write_text(HEAD + textwrap.dedent('''\
        from shared import now

        @app.orchestration_trigger(context_name="context")
        def orch(context):
            return now()
        '''))
    result = lint_paths([tmp_path], config=False)
    assert [(Path(f.path).name, f.line, f.code, f.orchestrators) for f in result.findings] == [
        ("clock.py", 4, "DF101", ("orch",))
    ]
    # clock.py has no durable marker: it was parsed only because an orchestrator reached it.
    assert result.files_parsed == 3 and result.files_seen == 3


def test_parallel_analysis_matches_serial(tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text("{}")
    for i in range(30):
        (tmp_path / f"orch_{i}.py").write_text(HEAD + textwrap.dedent(f'''\
            import time

            @app.orchestration_trigger(context_name="context")
            def orch_{i}(context):
                return time.time()
            '''))
    serial = lint_paths([tmp_path], config=False, jobs=1)
    parallel = lint_paths([tmp_path], config=False, jobs=2)
    assert len(serial.findings) == 30 and serial.findings == parallel.findings


def test_a_fix_that_would_break_the_file_is_dropped() -> None:
    from durable_testkit.lint_rules.config import Settings
    from durable_testkit.lint_rules.fixes import build_fix
    from durable_testkit.lint_rules.model import Report
    from durable_testkit.lint_rules.sources import Source

    source = Source("x.py", "x = 1\n", b"x = 1\n")
    report = Report("DF103", 1, 0, "m", "f", edit=(0, 1, "def ("), fix="safe")
    assert build_fix("x.py", source, [report], Settings()) is None
    report = Report("DF103", 1, 0, "m", "f", edit=(0, 1, "y"), fix="safe")
    fix = build_fix("x.py", source, [report], Settings())
    assert fix is not None and fix.fixed == "y = 1\n"


def test_config_without_toml_reader_warns(tmp_path: Path, monkeypatch) -> None:
    from durable_testkit.lint_rules import config

    (tmp_path / "pyproject.toml").write_text('[tool.durable-lint]\nignore = ["DF1"]\n')
    monkeypatch.setattr(config, "_load_toml", lambda path: None)
    settings = config.load_settings(tmp_path / "pyproject.toml")
    assert settings.ignore == ()
    assert "needs Python 3.11+ or the 'tomli' package" in settings.warnings[0]


def test_overlapping_fixes_apply_one_per_run(tmp_path: Path) -> None:
    from durable_testkit.lint_rules import write_fixes

    (tmp_path / "host.json").write_text("{}")
    app = tmp_path / "function_app.py"
    app.write_text(HEAD + textwrap.dedent('''\
        import uuid

        @app.orchestration_trigger(context_name="context")
        def orch(context):
            for x in {str(uuid.uuid4())}:
                yield context.call_activity("A", x)
        '''))
    first = lint_paths([tmp_path], config=False, fix=True, unsafe_fixes=True)
    assert [f.code for f in first.findings] == ["DF103"]  # not applied yet: still reported
    write_fixes(first)
    assert "for x in sorted({str(uuid.uuid4())}):" in app.read_text()
    second = lint_paths([tmp_path], config=False, fix=True, unsafe_fixes=True)
    write_fixes(second)
    assert "for x in sorted({context.new_uuid()}):" in app.read_text()
    assert lint_paths([tmp_path], config=False).findings == ()


def test_cache_serves_unchanged_files_and_notices_changes(tmp_path: Path) -> None:
    from durable_testkit.lint_rules import engine

    app = tmp_path / "app"
    app.mkdir()
    (app / "host.json").write_text("{}")
    source = HEAD + textwrap.dedent('''\
        import time

        @app.orchestration_trigger(context_name="context")
        def orch(context):
            return time.time()
        ''')
    (app / "function_app.py").write_text(source)
    cache = tmp_path / "cache"
    first = lint_paths([app], config=False, cache_dir=cache)
    calls = []
    original = engine.analyze_source
    engine.analyze_source = lambda *a, **k: calls.append(a[0]) or original(*a, **k)
    try:
        second = lint_paths([app], config=False, cache_dir=cache)
        assert calls == [] and second.findings == first.findings
        (app / "function_app.py").write_text(source.replace("time.time()", "1"))
        third = lint_paths([app], config=False, cache_dir=cache)
        assert len(calls) == 1 and third.findings == ()
    finally:
        engine.analyze_source = original
