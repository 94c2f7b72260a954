"""Issue 15 (durable-lint round 2): misses and false positives found on public apps.

Each test is a minimal reproduction written for this suite; rule-local cases live in the
rules' VALID/INVALID examples (DF105 sets in variables, DF207 GeneratorExit, DF108 pure
helpers, DF112 imported loggers).
"""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

from durable_testkit.lint_rules import lint_source

from _projects import HEAD, rel, write


STEPS = """\
    import datetime


    class Runner:
        def __init__(self, context):
            self.context = context

        def stamp(self):
            return self.clock()

        def clock(self):
            return datetime.datetime.now()
    """


def test_methods_of_a_class_imported_from_another_module_are_followed(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/steps.py": STEPS,
        "function_app.py": HEAD + textwrap.dedent("""\
            from pkg.steps import Runner


            @app.orchestration_trigger(context_name="context")
            def orch(context):
                runner = Runner(context)
                when = runner.stamp()
                yield context.call_activity("A", when)
            """),
    })
    assert rel(root, select=["DF101"]) == [("pkg/steps.py", 12, "DF101")]


def test_a_class_re_exported_by_a_package_is_followed(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "pkg/__init__.py": "from .steps import Runner\n",
        "pkg/steps.py": STEPS,
        "function_app.py": HEAD + textwrap.dedent("""\
            from pkg import Runner


            @app.orchestration_trigger(context_name="context")
            def orch(context):
                yield context.call_activity("A", Runner(context).stamp())
            """),
    })
    assert rel(root, select=["DF101"]) == [("pkg/steps.py", 12, "DF101")]


def test_functions_passed_to_callers_that_call_them_are_followed() -> None:
    src = HEAD + textwrap.dedent("""\
        import functools
        import time


        def age_key(item):
            return time.time() - item


        def total(a, b):
            return a + b + time.time()


        def keep(item):
            return item > time.time()


        def unused(item):
            return time.time()


        @app.orchestration_trigger(context_name="context")
        def orch(context):
            items = yield context.call_activity("Load")
            ordered = sorted(items, key=age_key)
            items.sort(key=age_key)
            biggest = max(items, key=age_key)
            s = functools.reduce(total, items)
            kept = list(filter(keep, items))
            shown = list(map(str, items))
            yield context.call_activity("Save", [ordered, biggest, s, kept, shown, unused])
        """)
    result = lint_source(src, select=["DF102"])
    assert [f.line for f in result.findings] == [11, 15, 19]  # not `unused`, a value passed on


def test_df301_only_the_registered_name_counts() -> None:
    src = HEAD + textwrap.dedent("""\
        @app.function_name("RotateKeys")
        @app.activity_trigger(input_name="payload")
        def rotate_keys(payload):
            return 1


        @app.activity_trigger(input_name="payload", activity="PurgeTemp")
        def purge_temp(payload):
            return 1


        @app.orchestration_trigger(context_name="context")
        def orch(context):
            yield context.call_activity("RotateKeys")
            yield context.call_activity("PurgeTemp")
            yield context.call_activity("rotate_keys")
            yield context.call_activity("purge_temp")
        """)
    result = lint_source(src, select=["DF301"])
    assert [(f.line, f.message) for f in result.findings] == [
        (21, "no activity named `rotate_keys` in this project: did you mean `RotateKeys`?"),
        (22, "no activity named `purge_temp` in this project: did you mean `PurgeTemp`?"),
    ]


def test_v1_binding_activity_property_is_the_registered_name(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "F_fetch/__init__.py": "def main(name: str) -> str:\n    return name\n",
        "Orch/__init__.py": textwrap.dedent("""\
            import azure.durable_functions as df


            def orchestrator_function(context: df.DurableOrchestrationContext):
                yield context.call_activity("fetch_data", "x")
                yield context.call_activity("F_fetch", "x")


            main = df.Orchestrator.create(orchestrator_function)
            """),
    })
    (root / "F_fetch/function.json").write_text(json.dumps({"bindings": [
        {"name": "name", "type": "activityTrigger", "direction": "in", "activity": "fetch_data"}]}))
    (root / "Orch/function.json").write_text(json.dumps({"bindings": [
        {"name": "context", "type": "orchestrationTrigger", "direction": "in"}]}))
    assert rel(root, select=["DF301"]) == [("Orch/__init__.py", 6, "DF301")]


def test_loggers_from_outside_and_inside_the_root(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "shared/__init__.py": "from .log import app_log\n",
        "shared/log.py": "import logging\n\napp_log = logging.getLogger('app')\nhelper = None\n",
        "function_app.py": HEAD + textwrap.dedent("""\
            from common.log import logger
            from shared import app_log
            from shared.log import helper


            @app.orchestration_trigger(context_name="context")
            def orch(context):
                logger.info("outside the root")
                app_log.info("a project logger, re-exported")
                helper.info("not a logger")
                yield context.call_activity("A")
            """),
    })
    assert rel(root, select=["DF112"]) == [("function_app.py", 13, "DF112"),
                                           ("function_app.py", 14, "DF112")]
