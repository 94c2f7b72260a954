"""History files under hostile conditions: odd JSON, odd files, symlinks, killed saves."""
from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Dict

import pytest

from durable_testkit import _files
from durable_testkit._files import DEFAULT_MAX_BYTES, read_user_file
from durable_testkit.errors import DurableTestkitError, HistoryFormatError, InputFileError
from durable_testkit.history import InstanceHistory, load_history, save_history

DATA = Path(__file__).parent / "data"
GOLDEN = DATA / "history_golden.json"
ROOT = Path(__file__).resolve().parents[2]
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file types and modes")


def golden_doc() -> Dict[str, Any]:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def write_doc(tmp_path: Path, doc: Any, name: str = "h.json") -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(doc), encoding="utf-8")
    return p


# ------------------------------------------------------------------ load: odd JSON

def test_deep_nesting_is_a_format_error(tmp_path: Path) -> None:
    p = tmp_path / "deep.json"
    p.write_text("[" * 5000 + "]" * 5000, encoding="utf-8")
    with pytest.raises(HistoryFormatError) as info:
        load_history(p)
    assert info.value.path == str(p)
    assert str(info.value).startswith(f"{p}: not readable JSON: arrays or objects nested too "
                                      "deeply for Python's JSON parser")


def test_deep_nesting_inside_an_event_names_the_event(tmp_path: Path) -> None:
    doc = golden_doc()
    depth = sys.getrecursionlimit() - 50  # json.loads accepts it; processing it may not
    doc["events"][3]["Extra"] = "@"
    text = json.dumps(doc).replace('"@"', "[" * depth + "]" * depth)
    p = tmp_path / "deep-event.json"
    p.write_text(text, encoding="utf-8")
    try:
        loaded = load_history(p)
    except HistoryFormatError as exc:
        assert exc.path == str(p)
        assert "nested too deeply" in exc.problem
    else:  # it fit after all: then it must survive intact
        assert loaded.events[3].extra["Extra"] is not None


def test_a_huge_integer_is_a_format_error(tmp_path: Path) -> None:
    doc = golden_doc()
    doc["events"][2]["EventId"] = "@"
    p = tmp_path / "huge.json"
    p.write_text(json.dumps(doc).replace('"@"', "9" * 5000), encoding="utf-8")
    with pytest.raises(HistoryFormatError) as info:
        load_history(p)
    assert str(info.value).startswith(f"{p}: not readable JSON: Exceeds the limit")


@pytest.mark.parametrize("stamp, problem", [
    ("0001-01-01T00:00:00+14:00", "outside what a Python datetime can hold in UTC"),
    ("9999-12-31T23:59:59-01:00", "outside what a Python datetime can hold in UTC"),
    ("2024-01-01T00:00:00+24:00", "is not a valid time: offset must be"),
    ("2024-02-30T00:00:00Z", "is not a valid time: day is out of range"),
])
def test_timestamps_python_cannot_hold_are_format_errors(tmp_path: Path, stamp: str,
                                                         problem: str) -> None:
    doc = golden_doc()
    doc["events"][4]["Timestamp"] = stamp
    p = write_doc(tmp_path, doc)
    with pytest.raises(HistoryFormatError) as info:
        load_history(p)
    assert (info.value.path, info.value.event_index) == (str(p), 4)
    assert f"bad Timestamp: {stamp!r} " in info.value.problem
    assert problem in info.value.problem


def test_a_bad_fire_at_is_a_format_error(tmp_path: Path) -> None:
    events = [{"EventType": 10, "EventId": 0, "IsPlayed": False,
               "Timestamp": "2024-01-01T00:00:00Z", "FireAt": "0001-01-01T00:00:00+01:00"}]
    p = write_doc(tmp_path, events)
    with pytest.raises(HistoryFormatError) as info:
        load_history(p)
    assert info.value.event_index == 0
    assert "outside what a Python datetime can hold in UTC" in info.value.problem


def test_not_utf8_is_a_format_error(tmp_path: Path) -> None:
    p = tmp_path / "latin1.json"
    p.write_bytes(b'["\xe9"]')
    with pytest.raises(HistoryFormatError, match="not UTF-8 text"):
        load_history(p)


# ------------------------------------------------------------------ load: odd files

def test_a_missing_file_is_an_input_file_error(tmp_path: Path) -> None:
    p = tmp_path / "nope.json"
    with pytest.raises(InputFileError) as info:
        load_history(p)
    assert str(info.value) == f"{p}: no such file"
    assert isinstance(info.value, OSError) and isinstance(info.value, DurableTestkitError)


def test_a_directory_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(InputFileError) as info:
        load_history(tmp_path)
    assert str(info.value) == f"{tmp_path}: is a directory, not a regular history file"


@posix_only
def test_a_fifo_is_refused_before_it_is_opened(tmp_path: Path) -> None:
    # If the code opened it, open() would block for a writer; run it in a subprocess with
    # a timeout so a regression fails instead of hanging the suite.
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    script = textwrap.dedent(f"""
        from durable_testkit.history import load_history
        from durable_testkit.errors import InputFileError
        try:
            load_history({str(fifo)!r})
        except InputFileError as exc:
            print(exc)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, cwd=str(ROOT))
    assert proc.stdout.strip() == f"{fifo}: is a FIFO (named pipe), not a regular history file"


@posix_only
def test_a_device_is_refused_by_name() -> None:
    with pytest.raises(InputFileError) as info:
        read_user_file("/dev/zero", what="history file")
    assert str(info.value) == "/dev/zero: is a character device, not a regular history file"


def test_a_file_over_the_limit_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "big.json"
    p.write_bytes(b" " * 2048)
    with pytest.raises(InputFileError) as info:
        load_history(p, max_bytes=1024)
    assert str(info.value) == (f"{p}: is 2,048 bytes, over the 1,024 bytes limit for a "
                               "history file. Pass a larger max_bytes if this really is one")
    assert read_user_file(p, max_bytes=2048) == b" " * 2048
    assert DEFAULT_MAX_BYTES == 64 * 1024 * 1024


def test_a_file_that_grows_while_read_is_refused(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "growing.json"
    p.write_bytes(b"x" * 10)
    real_stat = os.stat

    def small_stat(path: Any, *a: Any, **k: Any) -> Any:  # stat saw it small
        st = real_stat(path, *a, **k)
        return os.stat_result((st.st_mode, st.st_ino, st.st_dev, st.st_nlink, st.st_uid,
                               st.st_gid, 1, st.st_atime, st.st_mtime, st.st_ctime))

    monkeypatch.setattr(_files.os, "stat", small_stat)
    with pytest.raises(InputFileError, match="grew past the 5 bytes limit"):
        read_user_file(p, max_bytes=5)


@posix_only
def test_a_fifo_swapped_in_after_the_check_does_not_block(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fifo = tmp_path / "swapped"
    os.mkfifo(fifo)
    real_stat = os.stat
    regular = real_stat(GOLDEN)
    monkeypatch.setattr(_files.os, "stat",
                        lambda path, *a, **k: regular if path == str(fifo) else real_stat(path))
    # O_NONBLOCK: opening a FIFO for reading returns at once; fstat then refuses it.
    with pytest.raises(InputFileError, match="is a FIFO"):
        read_user_file(str(fifo))


def test_an_embedded_nul_is_an_input_file_error() -> None:
    with pytest.raises(InputFileError, match="embedded null"):
        read_user_file("a\0b")


# ------------------------------------------------------------------ save

def sample() -> InstanceHistory:
    return load_history(GOLDEN)


@posix_only
def test_save_writes_through_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old", encoding="utf-8")
    link = tmp_path / "link.json"
    link.symlink_to(real.name)
    save_history(sample(), link)
    assert link.is_symlink() and os.readlink(link) == real.name
    assert load_history(real) == sample()


@posix_only
def test_save_through_a_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "link.json"
    link.symlink_to("made.json")
    save_history(sample(), link)
    assert link.is_symlink() and load_history(tmp_path / "made.json") == sample()


@posix_only
def test_save_keeps_the_files_permissions(tmp_path: Path) -> None:
    p = tmp_path / "private.json"
    p.write_text("old", encoding="utf-8")
    p.chmod(0o600)
    save_history(sample(), p)
    assert stat.S_IMODE(p.stat().st_mode) == 0o600
    p.chmod(0o640)
    save_history(sample(), p)
    assert stat.S_IMODE(p.stat().st_mode) == 0o640


@posix_only
def test_a_new_file_gets_the_umask_mode(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        save_history(sample(), tmp_path / "new.json")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.json").stat().st_mode) == 0o640


def test_nan_is_never_written(tmp_path: Path) -> None:
    hist = InstanceHistory(orchestrator="o", instance_id="i", events=sample().events,
                           metadata={"score": float("nan")})
    p = tmp_path / "nan.json"
    with pytest.raises(HistoryFormatError) as info:
        save_history(hist, p)
    assert "NaN or Infinity" in str(info.value) and str(info.value).startswith(f"{p}: ")
    assert os.listdir(tmp_path) == []


def test_lone_surrogates_round_trip(tmp_path: Path) -> None:
    hist = InstanceHistory(orchestrator="o\udc80", instance_id="i", events=sample().events,
                           metadata={"note": "\ud800 lone"})
    p = tmp_path / "s.json"
    save_history(hist, p)
    p.read_bytes().decode("utf-8")  # valid UTF-8 on disk
    assert load_history(p) == hist


@posix_only
def test_a_killed_save_leaves_nothing_a_later_save_cannot_clean(tmp_path: Path) -> None:
    target = tmp_path / "golden.json"
    # A child starts a save and is SIGKILLed mid-write (os.fsync never returns for it).
    script = textwrap.dedent(f"""
        import os, signal
        from durable_testkit.history import load_history, save_history
        os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)
        save_history(load_history({str(GOLDEN)!r}), {str(target)!r})
    """)
    for _ in range(3):
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True,
                              timeout=60, cwd=str(ROOT))
        assert proc.returncode == -signal.SIGKILL, proc.stderr
        # each killed save first removed the one before it: they never pile up
        leftovers = [n for n in os.listdir(tmp_path) if n.endswith(".dtk-tmp")]
        assert len(leftovers) == 1 and leftovers[0].startswith(".golden.json."), leftovers
    unrelated = tmp_path / ".golden.json.notes"
    unrelated.write_text("keep", encoding="utf-8")
    save_history(sample(), target)
    assert sorted(os.listdir(tmp_path)) == [".golden.json.notes", "golden.json"]
    assert load_history(target) == sample()


def test_an_interrupted_save_removes_its_temporary(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_history(sample(), tmp_path / "h.json")
    assert os.listdir(tmp_path) == []


def test_a_live_processes_temporary_is_left_alone(tmp_path: Path) -> None:
    mine = tmp_path / f".h.json.{os.getpid()}.abc.dtk-tmp"  # e.g. another thread, mid-save
    mine.write_text("", encoding="utf-8")
    save_history(sample(), tmp_path / "h.json")
    assert mine.exists()
