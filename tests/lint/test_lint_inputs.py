"""Bad inputs (issue 16): the cache, FIFOs, devices, huge files, encodings, grammar versions.

Every test runs in bounded time: anything that could block runs in a subprocess with a
timeout, so a regression fails instead of hanging CI.
"""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest

from durable_testkit.lint_rules import lint_paths, lint_source, write_fixes
from durable_testkit.lint_rules.cache import AnalysisCache, Expected
from durable_testkit.lint_rules.rules import RULES
from durable_testkit.lint_rules.sources import DEFAULT_MAX_FILE_BYTES, decode

ORCH = (
    "import datetime\n"
    "import azure.durable_functions as df\n\n"
    "app = df.DFApp()\n\n\n"
    '@app.orchestration_trigger(context_name="context")\n'
    "def orch(context):\n"
    "    now = datetime.datetime.now()\n"
    '    yield context.call_activity("A", now)\n'
)


def _app(tmp_path: Path, source: str = ORCH, name: str = "function_app.py") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    (tmp_path / name).write_text(source, encoding="utf-8")
    return tmp_path


def _codes(result) -> list[tuple[str, int, str]]:
    return [(Path(f.path).name, f.line, f.code) for f in result.findings]


# -- cache ----------------------------------------------------------------------------------


class _Boom:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_poisoned_cache_entries_are_misses_and_never_run(tmp_path: Path) -> None:
    app = _app(tmp_path / "app")
    cache = tmp_path / "cache"
    first = lint_paths([app], config=False, cache_dir=cache)
    entries = [p for p in cache.rglob("*") if p.is_file()]
    assert entries and first.findings
    marker = tmp_path / "pwned"
    for entry in entries:  # a planted pickle that would run code if unpickled
        entry.write_bytes(pickle.dumps(_Boom()))
    again = lint_paths([app], config=False, cache_dir=cache)
    assert again.findings == first.findings and not again.internal_errors
    assert not marker.exists() and not (Path.cwd() / "pwned").exists()


@pytest.mark.parametrize("payload", [
    "[]", "null", '{"format": "2-json"}', "not json", '{"format": "2-json", "key": 5}',
])
def test_cache_entries_of_the_wrong_shape_are_misses(tmp_path: Path, payload: str) -> None:
    app = _app(tmp_path / "app")
    cache = tmp_path / "cache"
    first = lint_paths([app], config=False, cache_dir=cache)
    for entry in (p for p in cache.rglob("*") if p.is_file()):
        entry.write_text(payload)
    assert lint_paths([app], config=False, cache_dir=cache).findings == first.findings


def test_a_valid_entry_with_one_wrong_field_is_a_miss(tmp_path: Path) -> None:
    app = _app(tmp_path / "app")
    cache_dir = tmp_path / "cache"
    lint_paths([app], config=False, cache_dir=cache_dir)
    entry = next(p for p in cache_dir.rglob("*") if p.is_file())
    data = json.loads(entry.read_text())
    assert data["format"] == "3-json"
    data["reports"][0]["line"] = "9"  # a string where an int belongs
    entry.write_text(json.dumps(data))
    assert AnalysisCache(str(cache_dir)).get(entry.name, _expected(app)) is None


def test_cache_round_trip_is_a_hit(tmp_path: Path) -> None:
    app = _app(tmp_path / "app")
    cache_dir = tmp_path / "cache"
    first = lint_paths([app], config=False, cache_dir=cache_dir)
    entry = next(p for p in cache_dir.rglob("*") if p.is_file())
    assert AnalysisCache(str(cache_dir)).get(entry.name, _expected(app)) is not None
    assert lint_paths([app], config=False, cache_dir=cache_dir) == first


def _expected(app: Path, name: str = "function_app.py") -> Expected:
    path = app / name
    source = decode(str(path), path.read_bytes())
    assert not isinstance(source, str) and hasattr(source, "text")
    return Expected.of(source, "function_app", [r.CODE for r in RULES])  # type: ignore[arg-type]


def _entries(cache: Path) -> list[Path]:
    return [p for p in cache.rglob("*") if p.is_file()]


#: A safe fix (DF103) and an unsafe one (DF101), so a run with --fix builds edits.
FIXABLE = ORCH.replace("    now = datetime.datetime.now()\n",
                       "    now = datetime.datetime.now()\n    tag = uuid.uuid4()\n"
                       ).replace("import datetime\n", "import datetime\nimport uuid\n")


def test_cache_entries_hold_no_edits_and_fixes_are_recomputed(tmp_path: Path) -> None:
    # A planted entry (the key is no secret) once made --fix write its text into the source.
    app = _app(tmp_path / "app", FIXABLE)
    cache = tmp_path / "cache"
    lint_paths([app], config=False, cache_dir=cache)
    [entry] = _entries(cache)
    data = json.loads(entry.read_text())
    assert all("edit" not in r for r in data["reports"])
    kinds = {r["code"]: r["fix"] for r in data["reports"]}
    assert (kinds["DF101"], kinds["DF103"]) == ("unsafe", "safe")
    expected = lint_paths([app], config=False, fix=True, unsafe_fixes=True)
    for r in data["reports"]:
        r["fix"] = "safe"  # even the unsafe fix: a cached fix kind only asks for a fresh look
    entry.write_text(json.dumps(data))
    fixed = lint_paths([app], config=False, cache_dir=cache, fix=True)
    assert [f.fixed for f in fixed.fixes] == [
        f.fixed for f in lint_paths([app], config=False, fix=True).fixes]
    assert "context.new_guid()" in fixed.fixes[0].fixed
    assert "current_utc_datetime" not in fixed.fixes[0].fixed  # unsafe: not asked for
    both = lint_paths([app], config=False, cache_dir=cache, fix=True, unsafe_fixes=True)
    assert both == expected


def test_a_planted_edit_is_a_miss_and_never_written(tmp_path: Path) -> None:
    app = _app(tmp_path / "app", FIXABLE)
    cache = tmp_path / "cache"
    lint_paths([app], config=False, cache_dir=cache)
    [entry] = _entries(cache)
    data = json.loads(entry.read_text())
    for r in data["reports"]:
        r["edit"] = [0, 0, "__import__('os').system('echo INJECTED')\n"]
        r["fix"] = "safe"
    entry.write_text(json.dumps(data))
    assert AnalysisCache(str(cache)).get(entry.name, _expected(app)) is None
    write_fixes(lint_paths([app], config=False, cache_dir=cache, fix=True))
    assert "INJECTED" not in (app / "function_app.py").read_text()
    assert "context.new_guid()" in (app / "function_app.py").read_text()


_MUTATIONS = {
    "unknown code": lambda d: d["reports"][0].update(code="DF999"),
    "parse error with a rule's code": lambda d: d.update(parse_error={
        "code": "DF101", "line": 1, "col": 0, "message": "x", "owner": None, "fix": None,
        "data": {}}),
    "negative line": lambda d: d["reports"][0].update(line=-5),
    "line past the end": lambda d: d["reports"][0].update(line=10_000),
    "column past the line": lambda d: d["reports"][0].update(col=500),
    "owner from elsewhere": lambda d: d["reports"][0].update(owner="other.orch"),
    "another file's path": lambda d: d.update(path="/elsewhere/function_app.py"),
    "another module": lambda d: d.update(module="elsewhere"),
    "function of another file": lambda d: d["functions"][0].update(path="/x.py"),
    "function line past the end": lambda d: d["functions"][0].update(line=10_000),
    "suppression past the end": lambda d: d["suppressions"].append([1, 0, 1, 10_000, []]),
    "project check data missing": lambda d: d["reports"].append({
        "code": "DF301", "line": 10, "col": 4, "message": "m", "owner": "function_app.orch",
        "fix": None, "data": {}}),
    "terminal escape in a message": lambda d: d["reports"][0].update(message="\x1b[2Jok"),
}


@pytest.mark.parametrize("mutation", sorted(_MUTATIONS))
def test_cache_entries_with_wrong_values_are_misses(tmp_path: Path, mutation: str) -> None:
    app = _app(tmp_path / "app")
    cache = tmp_path / "cache"
    first = lint_paths([app], config=False, cache_dir=cache)
    [entry] = _entries(cache)
    data = json.loads(entry.read_text())
    _MUTATIONS[mutation](data)
    entry.write_text(json.dumps(data))
    assert AnalysisCache(str(cache)).get(entry.name, _expected(app)) is None
    again = lint_paths([app], config=False, cache_dir=cache)
    assert again == first and not again.internal_errors


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_or_link_at_a_cache_entry_is_a_miss(tmp_path: Path) -> None:
    app = _app(tmp_path / "app")
    first = _cli("check", "--no-config", ".", cwd=app)
    [entry] = _entries(app / ".cache")
    real = tmp_path / "entry.json"
    real.write_bytes(entry.read_bytes())
    entry.unlink()
    os.symlink(real, entry)  # a link, even to a valid entry, was not written by us
    assert AnalysisCache(str(app / ".cache")).get(entry.name, _expected(app)) is None
    entry.unlink()
    os.mkfifo(entry)  # opening it for reading would block until a writer comes
    again = _cli("check", "--no-config", ".", cwd=app, timeout=30)
    assert (again.returncode, again.stdout) == (first.returncode, first.stdout)
    assert entry.is_file()  # the miss wrote a good entry over the FIFO


# -- files that are not regular, unreadable or too large -----------------------------------


def _cli(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    code = "import sys; from durable_testkit.lint_rules.cli import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=str(cwd), text=True,
                          capture_output=True, timeout=timeout,
                          env={**os.environ, "DURABLE_LINT_CACHE_DIR": str(cwd / ".cache")})


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_is_refused_by_name_and_the_run_goes_on(tmp_path: Path) -> None:
    app = _app(tmp_path)
    os.mkfifo(app / "pipe.py")
    (app / "dev.py").symlink_to(os.devnull)
    out = _cli("check", "--no-config", ".", cwd=app)  # hangs without the fix: the timeout fails
    assert out.returncode == 1, out.stderr
    lines = out.stdout.splitlines()
    assert any(line.startswith("pipe.py:1:1: DF001 not a regular file (a FIFO)") for line in lines)
    assert any(line.startswith("dev.py:1:1: DF001 not a regular file (a device)") for line in lines)
    assert any("function_app.py:9:11: DF101" in line for line in lines)  # the rest was linted


def test_unreadable_files_are_reported_not_skipped(tmp_path: Path, monkeypatch) -> None:
    app = _app(tmp_path)
    (app / "gone.py").symlink_to(app / "missing.py")  # listed by the walk, cannot be opened
    (app / "locked.py").write_text("x = 1\n")
    from durable_testkit.lint_rules import sources

    real_open = os.open

    def deny(path, flags, *a):  # running as root, chmod cannot make a file unreadable
        if str(path).endswith("locked.py"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *a)

    monkeypatch.setattr(sources.os, "open", deny)
    found = {(Path(f.path).name, f.code, f.message.split(":")[0]) for f in
             lint_paths([app], config=False).findings}
    assert ("gone.py", "DF001", "cannot read file") in found
    assert ("locked.py", "DF001", "cannot read file") in found


def test_a_file_past_the_size_limit_is_df001_fast(tmp_path: Path) -> None:
    big = ORCH + "DATA = [" + ", ".join("0" for _ in range(1_000_000)) + "]\n"
    app = _app(tmp_path, big)
    start = time.perf_counter()
    result = lint_paths([app], config=False)
    assert time.perf_counter() - start < 5
    (finding,) = result.findings
    assert finding.code == "DF001" and "too large to analyse" in finding.message
    assert f"{DEFAULT_MAX_FILE_BYTES:,}" in finding.message and "max-file-bytes" in finding.message


def test_a_dense_file_under_the_byte_limit_is_df001_by_tokens(tmp_path: Path) -> None:
    source = ORCH + "DATA = [" + ", ".join("0" for _ in range(60_000)) + "]\n"
    assert len(source) < DEFAULT_MAX_FILE_BYTES
    start = time.perf_counter()
    (finding,) = lint_source(source).findings
    assert time.perf_counter() - start < 5
    assert finding.code == "DF001" and "tokens, over the limit" in finding.message


def test_max_file_bytes_is_configurable(tmp_path: Path) -> None:
    app = _app(tmp_path)
    (app / "pyproject.toml").write_text("[tool.durable-lint]\nmax-file-bytes = 100\n")
    (finding,) = lint_paths([app]).findings
    assert "over the limit of 100" in finding.message
    assert [f.code for f in lint_source(ORCH, max_file_bytes=100).findings] == ["DF001"]


def test_a_long_line_under_the_limit_finishes_in_bounded_time(tmp_path: Path) -> None:
    # One line of 20k elements: positions used to be quadratic in the line's length.
    source = ORCH + "DATA = [" + ", ".join("0" for _ in range(20_000)) + "]\n"
    assert len(source) < DEFAULT_MAX_FILE_BYTES
    out = _cli("check", "--no-config", "--no-cache", ".", cwd=_app(tmp_path, source),
               timeout=120)
    assert "function_app.py:9:11: DF101" in out.stdout, out.stderr


# -- decoding -------------------------------------------------------------------------------


def test_utf16_file_is_df001_not_a_pass(tmp_path: Path) -> None:
    app = _app(tmp_path, "x = 1\n")
    (app / "orch16.py").write_bytes(ORCH.encode("utf-16"))
    (finding,) = lint_paths([app], config=False).findings
    assert (Path(finding.path).name, finding.code) == ("orch16.py", "DF001")
    assert "UTF-16" in finding.message and "save it as UTF-8" in finding.message


def test_coding_cookie_is_honoured_and_columns_count_characters(tmp_path: Path) -> None:
    source = ("# -*- coding: latin-1 -*-\n" + ORCH.replace(
        "    now = datetime", "    é = 1; now = datetime"))
    app = _app(tmp_path, "x = 1\n")
    (app / "legacy.py").write_bytes(source.encode("latin-1"))
    result = lint_paths([app], config=False, unsafe_fixes=True)
    assert [(Path(f.path).name, f.line, f.col, f.code) for f in result.findings] == [
        ("legacy.py", 10, 17, "DF101")]
    assert result.fixes == ()  # a fix is written as UTF-8: not for a latin-1 file


def test_utf8_bom_is_read_and_kept_by_fixes(tmp_path: Path) -> None:
    source = ORCH.replace('    yield context.call_activity("A", now)\n',
                          '    yield context.call_activity("A", now)\n    print("x")\n')
    app = _app(tmp_path, "x = 1\n")
    (app / "bom.py").write_bytes(b"\xef\xbb\xbf" + source.encode())
    result = lint_paths([app], config=False)
    assert {f.code for f in result.findings} == {"DF101", "DF112"}
    (fix,) = result.fixes
    assert fix.fixed.startswith("\ufeff") and "if not context.is_replaying:" in fix.fixed


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    app = _app(tmp_path, "x = 1\n")
    (app / "bad.py").write_bytes(ORCH.encode() + b"s = '\xff'\n")
    (finding,) = lint_paths([app], config=False).findings
    assert (finding.code, finding.line) == ("DF001", 11)
    assert "byte 0xff is not valid utf-8" in finding.message


def test_null_bytes_and_lone_surrogates_are_df001() -> None:
    assert [f.code for f in lint_source("x = 1\x00\n").findings] == ["DF001"]
    assert [f.code for f in lint_source("x = '\udc80'\n").findings] == ["DF001"]


# -- grammar of the target Python -----------------------------------------------------------


def test_newer_syntax_than_the_target_is_df001() -> None:
    match = ORCH + "\n\ndef f(x):\n    match x:\n        case 1:\n            return 1\n"
    (finding,) = lint_source(match, target_version="3.9").findings
    assert finding.code == "DF001" and "as Python 3.9" in finding.message
    assert {f.code for f in lint_source(match, target_version="3.10").findings} == {"DF101"}


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.12 accepts PEP 695 syntax")
def test_312_syntax_is_df001_on_311_by_default() -> None:
    (finding,) = lint_source("type Alias = list[int]\n").findings
    assert finding.code == "DF001" and "target-version" in finding.message


def test_target_version_is_validated(tmp_path: Path) -> None:
    from durable_testkit.lint_rules import ConfigError

    with pytest.raises(ConfigError, match="target-version"):
        lint_source("x = 1\n", target_version="python3")
    out = _cli("check", "--no-config", "--target-version", "3.9", ".",
               cwd=_app(tmp_path, ORCH + "\nmatch = 1\nmatch match:\n    case _:\n        pass\n"))
    assert out.returncode == 1 and "DF001 cannot parse file as Python 3.9" in out.stdout


# -- the command line -----------------------------------------------------------------------


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    app = _app(tmp_path, ORCH + "".join(f"\n\ndef f{i}(context):\n    return hash(1)\n"
                                        for i in range(3)))
    for i in range(200):
        (app / f"o{i}.py").write_text(ORCH.replace("def orch", f"def orch{i}"))
    code = ("import sys; from durable_testkit.lint_rules.cli import main; "
            "sys.exit(main(['check', '--no-config', '--no-cache', '.']))")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=str(app), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    _, err = proc.communicate(timeout=120)
    assert b"BrokenPipeError" not in err and b"Traceback" not in err, err.decode()
