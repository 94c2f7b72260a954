"""Hostile sources for ``import_history`` and ``durable-testkit import`` (issue 16).

Every bad source is a one-line HistoryImportError naming it, never a hang, a
traceback or a full read of an endless file, and the sources after it are still
imported. The gzip bomb is small and the limit lowered (``max_bytes``), so the
tests stay fast; the property is that decompression stops at the limit.
"""
from __future__ import annotations

import csv
import gzip
import json
import os
import shutil
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any, List

import pytest

from durable_testkit.errors import HistoryFormatError, HistoryImportError
from durable_testkit.importers import import_history, import_to_corpus

from test_guards import bounded

DATA = Path(__file__).resolve().parent.parent / "replay" / "data"
GOOD = DATA / "order-17.core-tools.json"
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
needs_dev_zero = pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")


def _message(source: Any, **kw: Any) -> str:
    with pytest.raises(HistoryImportError) as info:
        bounded(lambda: import_history(source, **kw))
    assert isinstance(info.value, HistoryFormatError)
    text = str(info.value)
    assert "\n" not in text
    return text


def _bomb(path: Path, size: int) -> Path:
    """A gzip file of ``size`` spaces inside brackets, written in chunks (no big buffer)."""
    with gzip.open(path, "wb", compresslevel=9) as fh:
        fh.write(b"[")
        chunk = b" " * (64 * 1024)
        for _ in range(size // len(chunk)):
            fh.write(chunk)
        fh.write(b"]")
    return path


@needs_fifo
def test_a_fifo_is_refused_by_name_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "export.json"
    os.mkfifo(fifo)
    assert _message(str(fifo)) == f"{fifo}: is a FIFO (named pipe), not a regular history export"


@needs_dev_zero
def test_dev_zero_is_refused_as_a_device() -> None:
    # Its size is 0, so a size check alone would read it without end.
    assert _message("/dev/zero") == "/dev/zero: is a character device, not a regular history export"


def test_a_directory_and_a_missing_file(tmp_path: Path) -> None:
    assert _message(str(tmp_path)) == f"{tmp_path}: is a directory, not a regular history export"
    assert _message(str(tmp_path / "nope.json")) == f"{tmp_path / 'nope.json'}: no such file"


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_bytes(b"[" + b" " * 2000 + b"]")
    assert _message(str(path), max_bytes=1000) == (
        f"{path}: is 2,002 bytes, over the 1,000 bytes limit for a history export. Split a "
        "table export by PartitionKey (instance), or pass a larger max_bytes")


def test_an_integer_of_5000_digits(tmp_path: Path) -> None:
    path = tmp_path / "bigint.json"
    path.write_text('[{"EventType": 0, "EventId": ' + "9" * 5000 + "}]")
    message = _message(str(path))
    # Python's own words, which differ between versions (3.9: "the limit (4300) for ...").
    assert message.startswith(f"{path}: not readable JSON: Exceeds the limit (4300")
    assert "for integer string conversion" in message


def test_deep_nesting(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    assert _message(str(path)).startswith(
        f"{path}: not readable JSON: arrays or objects nested too deeply")


def test_an_event_type_of_5000_digits_is_an_unknown_name(tmp_path: Path) -> None:
    events = json.loads(GOOD.read_text())
    events[0]["EventType"] = "9" * 5000
    message = _message(events)
    assert message.startswith("<object>, core-tools export, event 0 (" + "9" * 5000 + "): "
                              "unknown event type name '99999")
    assert "'... (did you mean" not in message and "...;" in message  # the value is cut short


def test_a_gzip_bomb_stops_at_the_limit(tmp_path: Path) -> None:
    path = _bomb(tmp_path / "bomb.json.gz", 32 * 1024 * 1024)
    assert path.stat().st_size < 256 * 1024
    tracemalloc.start()
    try:
        message = _message(str(path), max_bytes=256 * 1024)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert message == (
        f"{path}: decompresses to more than the 262,144 bytes this reads (the file itself is "
        f"{path.stat().st_size:,} bytes). Split a table export by PartitionKey (instance), or "
        "pass a larger max_bytes")
    assert peak < 8 * 1024 * 1024, f"decompressed {peak:,} bytes before stopping"


def test_gzip_members_are_all_read_and_damage_is_reported(tmp_path: Path) -> None:
    text = GOOD.read_bytes()
    joined = tmp_path / "two-members.json.gz"
    joined.write_bytes(gzip.compress(text[:100]) + gzip.compress(text[100:]) + b"\0" * 8)
    assert import_history(str(joined)).instance_id == "order-17"
    truncated = tmp_path / "truncated.json.gz"
    truncated.write_bytes(gzip.compress(text)[:-20])
    assert _message(str(truncated)) == (
        f"{truncated}: not a valid gzip file: it ends before its compressed data does "
        "(truncated?)")
    corrupt = tmp_path / "corrupt.json.gz"
    data = bytearray(gzip.compress(text))
    data[-8] ^= 0xFF  # the CRC
    corrupt.write_bytes(bytes(data))
    assert _message(str(corrupt)).startswith(f"{corrupt}: not a valid gzip file: Error -3")


def test_text_that_is_not_utf8(tmp_path: Path) -> None:
    utf16 = tmp_path / "utf16.json"
    utf16.write_bytes(GOOD.read_text().encode("utf-16"))
    assert _message(str(utf16)) == (
        f"{utf16}: UTF-16 text (it starts with a UTF-16 byte-order mark); this reads UTF-8. "
        "Save the export as UTF-8 (e.g. iconv -f UTF-16 -t UTF-8)")
    latin = tmp_path / "latin1.csv"
    latin.write_bytes(b"PartitionKey,RowKey,Name\na,0,Bj\xf6rk\n")
    assert _message(str(latin)).startswith(
        f"{latin}: not UTF-8 text: 'utf-8' codec can't decode byte 0xf6")


def test_csv_problems(tmp_path: Path) -> None:
    huge = tmp_path / "HubHistory.csv"
    huge.write_text("PartitionKey,RowKey,Input\na,0000000000000000,\""
                    + "x" * (csv.field_size_limit() + 1) + "\"\n")
    assert _message(str(huge)) == (
        f"{huge}: not a readable CSV: field larger than field limit "
        f"({csv.field_size_limit()}) (line 2)")
    nul = tmp_path / "nul.csv"
    nul.write_bytes(b"PartitionKey,RowKey,EventType\na,0000000000000000,Execution\0Started\n")
    # Python < 3.13 refuses the NUL in the reader; later ones read it and the row is rejected.
    assert _message(str(nul)).startswith(f"{nul}")
    deep = tmp_path / "deep.csv"
    deep.write_text("PartitionKey,RowKey,EventType,OrchestrationInstance\n"
                    "a,0000000000000000,ExecutionStarted,\"" + "[" * 50_000 + "\"\n")
    assert _message(str(deep)).startswith(
        f"{deep}, storage-table export, event 0 (ExecutionStarted): OrchestrationInstance is "
        "not readable JSON: arrays or objects nested too deeply")


def _hostile(tmp_path: Path) -> List[str]:
    """One of each bad source, in a folder of their own."""
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "bigint.json").write_text("[" + "9" * 5000 + "]")
    (bad / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    _bomb(bad / "bomb.json.gz", 4 * 1024 * 1024)
    (bad / "nul.csv").write_bytes(b"PartitionKey,RowKey\na\0,b\n")
    sources = [str(bad / n) for n in ("bigint.json", "deep.json", "bomb.json.gz", "nul.csv")]
    if hasattr(os, "mkfifo"):
        os.mkfifo(bad / "pipe.json")
        sources.append(str(bad / "pipe.json"))
    if os.path.exists("/dev/zero"):
        sources.append("/dev/zero")
    return sources


def test_import_to_corpus_reports_each_bad_source_and_imports_the_rest(tmp_path: Path) -> None:
    sources = _hostile(tmp_path) + [str(GOOD)]
    out = tmp_path / "corpus"
    outcomes = bounded(lambda: import_to_corpus(sources, out, max_bytes=1024 * 1024))
    assert [o.source for o in outcomes] == sources
    for outcome in outcomes[:-1]:
        assert not outcome.ok and outcome.message.startswith(outcome.source), outcome
        assert "\n" not in outcome.message and "unexpectedly" not in outcome.message, outcome
    assert outcomes[-1].ok, outcomes[-1]
    assert [p.name for p in out.rglob("*.json")] == ["order-17.json"]


def test_the_cli_goes_on_after_hostile_sources(tmp_path: Path) -> None:
    sources = [s for s in _hostile(tmp_path) if not s.endswith(".gz")]  # bomb: under 256 MiB
    good = tmp_path / "good.json"
    shutil.copy(GOOD, good)
    out = tmp_path / "corpus"
    done = subprocess.run(
        [sys.executable, "-m", "durable_testkit", "import", *sources, str(good), "--out",
         str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done
    assert "Traceback" not in done.stdout + done.stderr, done
    lines = done.stdout.splitlines()
    assert len(lines) == len(sources) + 1, lines
    for line, source in zip(lines, sources):
        assert line.startswith(f"FAIL {source}: {source}"), line
    assert lines[-1].startswith(f"ok   {good}: "), lines[-1]
    assert [p.name for p in out.rglob("*.json")] == ["order-17.json"]


def test_an_unexpected_failure_is_one_source_s_failure(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import durable_testkit.importers as importers

    def broken(*args: Any, **kw: Any) -> Any:
        raise KeyError("boom")

    monkeypatch.setattr(importers, "import_histories", broken)
    outcomes = import_to_corpus([str(GOOD)], tmp_path / "corpus")
    assert outcomes[0].message == (
        f"{GOOD}: the import failed unexpectedly (KeyError: 'boom'); please report it with "
        "this file")

