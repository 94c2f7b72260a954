"""Issue 15, round 3 (an audit of durable-lint): inherited methods, names, sets and loggers.

Apps are written to disk, as a project looks to the command line. Rule-local cases also live
in the rules' VALID/INVALID examples (DF105 set unions, pop and list(), DF112 get_logger,
DF301 case-insensitive names).
"""
from __future__ import annotations

import textwrap
from pathlib import Path

from durable_testkit.lint_rules import lint_paths

from _projects import HEAD, rel, write

ACTIVITY = '''

@app.activity_trigger(input_name="n")
def work(n):
    return n
'''


def test_an_inherited_method_in_the_same_module_is_followed(tmp_path: Path) -> None:
    app = write(tmp_path, {"function_app.py": HEAD + textwrap.dedent('''\
        import datetime

        class Base:
            def __init__(self, context):
                self.context = context

            def stamp(self):
                return datetime.datetime.now()

        class Child(Base):
            pass

        @app.orchestration_trigger(context_name="context")
        def orch(context):
            c = Child(context)
            yield context.call_activity("work", str(c.stamp()))
            yield context.call_activity("work", str(Child(context).stamp()))
        ''') + ACTIVITY})
    assert rel(app) == [("function_app.py", 13, "DF101")]


def test_an_override_hides_the_base_method(tmp_path: Path) -> None:
    app = write(tmp_path, {"function_app.py": HEAD + textwrap.dedent('''\
        import datetime

        class Base:
            def stamp(self):
                return datetime.datetime.now()

        class Child(Base):
            def stamp(self):
                return "fixed"

        @app.orchestration_trigger(context_name="context")
        def orch(context):
            yield context.call_activity("work", Child().stamp())
        ''') + ACTIVITY})
    assert rel(app) == []


def test_bases_in_other_modules_super_and_multiple_inheritance(tmp_path: Path) -> None:
    app = write(tmp_path, {
        "function_app.py": HEAD + textwrap.dedent('''\
            from steps.child import Child, Mixed

            @app.orchestration_trigger(context_name="context")
            def orch(context):
                yield context.call_activity("work", Child().stamp())
                yield context.call_activity("work", Mixed().tick())
            ''') + ACTIVITY,
        "steps/__init__.py": "",
        "steps/base.py": '''\
            import random
            import time
            import uuid


            class Base:
                def stamp(self):
                    return time.time()


            class Left:
                def other(self):
                    return 1


            class Right:
                def tick(self):
                    return random.random()

                def unused(self):
                    return uuid.uuid4()
            ''',
        "steps/child.py": '''\
            from .base import Base, Left, Right


            class Child(Base):
                def stamp(self):
                    return super().stamp()


            class Mixed(Left, Right):
                pass
            ''',
    })
    assert rel(app) == [("steps/base.py", 8, "DF102"), ("steps/base.py", 18, "DF104")]


def test_yield_from_a_run_method_defined_on_an_imported_base(tmp_path: Path) -> None:
    # The class-based workflow pattern: ``run`` lives on the base, ``finish`` is overridden,
    # and ``self.finish()`` inside ``run`` calls the subclass's.
    app = write(tmp_path, {
        "function_app.py": HEAD + textwrap.dedent('''\
            from workflows.impl import InvoiceWorkflow

            @app.orchestration_trigger(context_name="context")
            def invoice(context):
                wf = InvoiceWorkflow(context)
                out = yield from wf.run()
                return out

            @app.activity_trigger(input_name="x")
            def Load(x):
                return x
            '''),
        "workflows/__init__.py": "",
        "workflows/base.py": '''\
            import datetime

            class Workflow:
                def __init__(self, context):
                    self.context = context

                def started_at(self):
                    return datetime.datetime.now()

                def run(self):
                    data = yield self.context.call_activity("Load", self.started_at().isoformat())
                    return self.finish(data)

                def finish(self, data):
                    return data
            ''',
        "workflows/impl.py": '''\
            import uuid
            from .base import Workflow

            class InvoiceWorkflow(Workflow):
                def finish(self, data):
                    return {"data": data, "id": uuid.uuid4().hex}
            ''',
    })
    assert rel(app) == [("workflows/base.py", 8, "DF101"), ("workflows/impl.py", 6, "DF103")]
    # The cache stores the class hierarchy too: a warm run finds the same.
    cache = tmp_path / ".cache"
    assert rel(app, cache_dir=cache) == rel(app, cache_dir=cache) == rel(app)


def test_a_cyclic_hierarchy_does_not_hang(tmp_path: Path) -> None:
    app = write(tmp_path, {"function_app.py": HEAD + textwrap.dedent('''\
        class A(B):
            pass

        class B(A):
            pass

        @app.orchestration_trigger(context_name="context")
        def orch(context):
            yield context.call_activity("work", A().missing())
        ''') + ACTIVITY})
    assert rel(app) == []


def test_activity_and_orchestrator_names_match_ignoring_case(tmp_path: Path) -> None:
    # The extension's FunctionName.Equals uses StringComparison.OrdinalIgnoreCase.
    app = write(tmp_path, {"function_app.py": HEAD + textwrap.dedent('''\
        @app.orchestration_trigger(context_name="context")
        def orch(context):
            yield context.call_activity("WORK", 1)
            yield context.call_sub_orchestrator("Child")
            yield context.call_activity("wrok", 1)

        @app.orchestration_trigger(context_name="context")
        def child(context):
            return (yield context.call_activity("Work", 2))
        ''') + ACTIVITY})
    result = lint_paths([app], config=False)
    assert [(f.line, f.code) for f in result.findings] == [(10, "DF301")]
    assert "did you mean `work`?" in result.findings[0].message


def test_sets_built_by_operators_popped_or_listed_are_unordered(tmp_path: Path) -> None:
    app = write(tmp_path, {"function_app.py": HEAD + textwrap.dedent('''\
        @app.orchestration_trigger(context_name="context")
        def orch(context):
            pending = set(context.get_input()) | {"extra"}
            for n in pending:
                yield context.call_activity("work", n)
            yield context.call_activity("work", pending.pop())
            yield context.call_activity("work", list(pending))
            yield context.call_activity("work", tuple(pending))
            if "extra" in pending and len(pending) > 1:
                yield context.call_activity("work", sorted(pending))
        ''') + ACTIVITY})
    assert rel(app) == [("function_app.py", n, "DF105") for n in (9, 11, 12, 13)]


def test_a_module_logger_from_an_outside_get_logger_is_a_logger(tmp_path: Path) -> None:
    # ``common`` is a shared package installed outside the linted root.
    app = write(tmp_path, {"function_app.py": textwrap.dedent('''\
        import azure.durable_functions as df
        from common.log import get_logger
        from structlog import getLogger

        app = df.DFApp()
        log = get_logger(__name__)
        events = getLogger()
        client = make_client()


        @app.orchestration_trigger(context_name="context")
        def orch(context):
            log.info("started")
            events.info("started")
            client.info("not a logger")
            return 1
        ''')})
    assert rel(app) == [("function_app.py", 13, "DF112"), ("function_app.py", 14, "DF112")]
