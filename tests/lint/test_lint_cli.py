"""The durable-lint command line on real files: exit codes, formats, fixes, selection."""
from __future__ import annotations

import json
import os
from pathlib import Path

import libcst as cst
import pytest

from durable_testkit.lint_rules.cli import main

FIXTURES = Path(__file__).parent / "fixtures"


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_clean_app_exits_zero(capsys) -> None:
    code, out, _ = run(capsys, "check", "--no-config", str(FIXTURES / "clean_app"))
    assert (code, out) == (0, "")


def test_findings_exit_one_and_name_the_orchestrators(capsys) -> None:
    code, out, _ = run(capsys, "check", "--no-config", str(FIXTURES / "v2app"))
    assert code == 1
    assert "helpers/clock.py:5:12: DF102" in out
    assert "(reached from ProcessOrder, nightly, refund)" in out
    assert "did you mean `ship_order`?" in out
    # Activities and module-level code are not orchestrator code; unreached helpers are skipped.
    assert "function_app.py:14" not in out and "function_app.py:37" not in out
    assert "clock.py:9" not in out


def test_exit_zero_and_usage_errors(capsys) -> None:
    assert run(capsys, "check", "--no-config", "--exit-zero", str(FIXTURES / "v2app"))[0] == 0
    code, _, err = run(capsys, "check", "--no-config", "does/not/exist")
    assert code == 2 and "path does not exist" in err
    with pytest.raises(SystemExit) as exc:
        main(["check", "--output-format", "xml"])
    assert exc.value.code == 2


def test_rule_command(capsys) -> None:
    code, out, _ = run(capsys, "rule", "DF101")
    assert code == 0 and "context.current_utc_datetime" in out
    code, _, err = run(capsys, "rule", "df101x")
    assert code == 2 and "Did you mean DF101?" in err
    assert run(capsys, "rule")[1].count("\n") >= 29


def test_select_and_ignore_match_prefixes(capsys) -> None:
    _, out, _ = run(capsys, "check", "--no-config", "--select", "DF1", str(FIXTURES / "v2app"))
    assert "DF102" in out and "DF103" in out and "DF301" not in out
    _, out, _ = run(capsys, "check", "--no-config", "--ignore", "DF10,DF112", str(FIXTURES / "v2app"))
    assert "DF301" in out and "DF103" not in out and "DF112" not in out


def test_a_selector_that_matches_no_rule_is_a_usage_error(capsys) -> None:
    code, out, err = run(capsys, "check", "--no-config", "--select", "DF9", str(FIXTURES / "v2app"))
    assert code == 2 and out == ""
    assert err.startswith("durable-lint: select: 'DF9' matches no rule (codes are prefix-matched")
    code, _, err = run(capsys, "check", "--no-config", "--ignore", "DF1,XX", str(FIXTURES / "v2app"))
    assert code == 2 and "ignore: 'XX' matches no rule" in err


def test_json_format(capsys) -> None:
    _, out, _ = run(capsys, "check", "--no-config", "--output-format", "json", str(FIXTURES / "v1app"))
    data = json.loads(out)
    assert {d["code"] for d in data} == {"DF301", "DF104", "DF106"}
    assert all(d["orchestrators"] == ["HelloOrchestrator"] for d in data)
    assert {"path", "line", "column", "message", "severity", "fix"} <= set(data[0])


def test_github_and_azure_formats(capsys) -> None:
    _, out, _ = run(capsys, "check", "--no-config", "--output-format", "github", str(FIXTURES / "v1app"))
    lines = out.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith(("::error ", "::warning ")) for line in lines)
    assert "title=DF301::" in out
    _, out, _ = run(capsys, "check", "--no-config", "--output-format", "azure", str(FIXTURES / "v1app"))
    assert out.count("##vso[task.logissue type=") == 3 and "code=DF104;]" in out


def test_sarif_is_valid_2_1_0_shape(capsys) -> None:
    _, out, _ = run(capsys, "check", "--no-config", "--output-format", "sarif", str(FIXTURES / "v2app"))
    doc = json.loads(out)
    assert doc["version"] == "2.1.0" and "sarif-2.1.0" in doc["$schema"]
    (run_,) = doc["runs"]
    driver = run_["tool"]["driver"]
    rule_ids = [r["id"] for r in driver["rules"]]
    assert driver["name"] == "durable-lint" and "DF101" in rule_ids
    for result in run_["results"]:
        assert result["level"] in ("error", "warning", "note", "none")
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["message"]["text"]
        loc = result["locations"][0]["physicalLocation"]
        assert not os.path.isabs(loc["artifactLocation"]["uri"])
        assert loc["region"]["startLine"] >= 1 and loc["region"]["startColumn"] >= 1


def test_statistics(capsys) -> None:
    _, out, _ = run(capsys, "check", "--no-config", "--statistics", str(FIXTURES / "v2app"))
    assert "    2  DF103  random-uuid" in out


def test_only_staged_helper_still_sees_project(capsys, monkeypatch) -> None:
    monkeypatch.chdir(FIXTURES / "v2app")
    code, out, _ = run(capsys, "check", "--no-config", "helpers/clock.py")
    assert code == 1
    assert out.splitlines()[0].startswith("helpers/clock.py:5:12: DF102")
    assert "reached from ProcessOrder, nightly, refund" in out


def test_diff_previews_without_writing(capsys, app_copy) -> None:
    app = app_copy("v2app")
    before = (app / "function_app.py").read_text()
    code, out, _ = run(capsys, "check", "--no-config", "--diff", str(app))
    assert code == 1
    assert "-    order_id = str(uuid.uuid4())" in out and "+    order_id = ctx.new_uuid()" in out
    assert (app / "function_app.py").read_text() == before


def test_fix_writes_safe_fixes_only_and_is_idempotent(capsys, app_copy) -> None:
    app = app_copy("v2app")
    code, out, err = run(capsys, "check", "--no-config", "--fix", str(app))
    assert "Fixed 3 problems." in err
    source = (app / "function_app.py").read_text()
    cst.parse_module(source)
    assert "order_id = ctx.new_uuid()" in source
    assert "    if not ctx.is_replaying:\n        logging.info(" in source
    assert "return context.new_guid()" in (app / "helpers" / "ids.py").read_text()
    # Unsafe fixes (time.time in a helper with no context in scope) are not applied.
    assert "time.time()" in (app / "helpers" / "clock.py").read_text()
    assert code == 1 and "DF103" not in out and "DF102" in out
    code, out, err = run(capsys, "check", "--no-config", "--fix", str(app))
    assert "Fixed" not in err


def test_fix_never_touches_code_outside_orchestrator_reach(capsys, app_copy) -> None:
    app = app_copy("v2app")
    run(capsys, "check", "--no-config", "--fix", "--unsafe-fixes", str(app))
    source = (app / "function_app.py").read_text()
    assert "STARTED = dt.datetime.now()" in source  # module level
    assert 'return f"charged {order} at {dt.datetime.now()}"' in source  # an activity


def test_config_is_read_from_pyproject(capsys, app_copy) -> None:
    app = app_copy("v2app")
    (app / "pyproject.toml").write_text(
        "[tool.durable-lint]\n"
        'ignore = ["DF112"]\n'
        'per-file-ignores = { "helpers/ids.py" = ["DF103"] }\n'
        'external-activities = ["ship_ordr"]\n'
        'deterministic-calls = ["helpers.clock.stamp"]\n'
        'exclude = ["orchestrations"]\n'
    )
    code, out, _ = run(capsys, "check", str(app))
    assert code == 1
    assert "DF112" not in out and "ids.py" not in out and "DF301" not in out
    assert "clock.py" not in out and "payments.py" not in out
    assert "function_app.py:19:16: DF103" in out


def test_bad_config_exits_two(capsys, app_copy) -> None:
    app = app_copy("clean_app")
    (app / "pyproject.toml").write_text('[tool.durable-lint]\nselectt = ["DF"]\n')
    code, _, err = run(capsys, "check", str(app))
    assert code == 2 and "unknown key(s) in [tool.durable-lint]: selectt" in err


def test_banned_calls_from_config(capsys, app_copy) -> None:
    app = app_copy("clean_app")
    (app / "pyproject.toml").write_text(
        '[tool.durable-lint]\nbanned-calls = { "builtins.isinstance" = "no isinstance here" }\n')
    (app / "function_app.py").write_text(
        (app / "function_app.py").read_text().replace(
            "    return [first", "    isinstance(first, str)\n    return [first"))
    code, out, _ = run(capsys, "check", str(app))
    assert code == 1 and "DF100 `builtins.isinstance` is banned in orchestrator code: no isinstance here" in out


def test_unparsable_file_is_df001(capsys, tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text("{}")
    (tmp_path / "function_app.py").write_text("import azure.durable_functions as df\ndef (:\n")
    code, out, _ = run(capsys, "check", "--no-config", str(tmp_path))
    assert code == 1 and "function_app.py:2:" in out and "DF001" in out
