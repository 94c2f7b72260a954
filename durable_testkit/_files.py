"""Reading a file the user named, safely: regular files only, bounded, one-line errors.

History files come from users, CI artifacts and production exports, and the CLI
reads whatever paths it is given. A plain ``open().read()`` blocks forever on a
FIFO, never ends on ``/dev/zero``, and fills memory with a runaway file; its
errors are tracebacks. ``read_user_file`` checks what the path is with
``os.stat`` *before* opening it, opens with ``O_NONBLOCK`` so a FIFO swapped in
between cannot block, re-checks the open descriptor, and reads at most
``max_bytes``. Every failure is an ``InputFileError`` naming the file.
``parse_json_text`` does the same for the JSON in it: Python's parser raises more
than ``JSONDecodeError`` on hostile text. ``reserve_free_name`` picks the name a new
corpus file is written under, never one another file holds.

(durable-lint reads its own files: it is standalone and must not import this.)
"""
from __future__ import annotations

import json
import os
import stat
import sys
from typing import Any, Callable, Optional, Tuple, Union

from .errors import HistoryFormatError, InputFileError

__all__ = ["DEFAULT_MAX_BYTES", "parse_json_text", "read_user_file", "reserve_free_name"]

#: The default size limit: 64 MiB. The largest production histories we have seen are a few
#: MiB (a 10,000-event export is about 5 MiB); anything far bigger is the wrong file.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024

_CHUNK = 1024 * 1024


def _kind(mode: int) -> Optional[str]:
    """What a non-regular file is, by name (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB" if n >= 1024 * 1024 else f"{n:,} bytes"


def _os_problem(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return exc.strerror or type(exc).__name__


def read_user_file(path: Union[str, "os.PathLike[str]"], *,
                   max_bytes: int = DEFAULT_MAX_BYTES, what: str = "file") -> bytes:
    """Read a whole regular file, refusing anything else before it is opened.

    Args:
        path: the file; symlinks are followed.
        max_bytes: refuse files larger than this (``DEFAULT_MAX_BYTES``, 64 MiB).
        what: what the file should be ("history file"), used in messages.

    Raises:
        InputFileError: missing, unreadable, not a regular file (a directory, FIFO,
            device or socket, named as such) or larger than ``max_bytes``.
    """
    try:
        where = os.fspath(path)
    except TypeError as exc:
        raise InputFileError(repr(path), f"not a file path: {exc}") from None
    shown = where if isinstance(where, str) else os.fsdecode(where)
    try:
        before = os.stat(where)
    except (OSError, ValueError) as exc:  # ValueError: an embedded NUL
        problem = _os_problem(exc) if isinstance(exc, OSError) else str(exc)
        raise InputFileError(shown, problem) from None
    kind = _kind(before.st_mode)
    if kind is not None:
        raise InputFileError(shown, f"is {kind}, not a regular {what}")
    if before.st_size > max_bytes:
        raise InputFileError(
            shown, f"is {_size(before.st_size)}, over the {_size(max_bytes)} limit for a {what}",
            advice="Pass a larger max_bytes if this really is one")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | \
        getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(where, flags)
    except OSError as exc:
        raise InputFileError(shown, _os_problem(exc)) from None
    try:
        kind = _kind(os.fstat(fd).st_mode)
        if kind is not None:  # swapped between stat and open
            raise InputFileError(shown, f"is {kind}, not a regular {what}")
        chunks = []
        total = 0
        while True:
            chunk = os.read(fd, min(_CHUNK, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:  # it grew while we read
                raise InputFileError(
                    shown, f"grew past the {_size(max_bytes)} limit for a {what} while "
                           "being read")
        return b"".join(chunks)
    except OSError as exc:
        if isinstance(exc, InputFileError):
            raise
        raise InputFileError(shown, _os_problem(exc)) from None
    finally:
        os.close(fd)


def parse_json_text(text: str, path: Optional[str] = None) -> Any:
    """``json.loads`` for text from a user's file: every failure a one-line HistoryFormatError.

    Besides malformed JSON, Python's parser raises ``RecursionError`` on deep nesting
    and a bare ``ValueError`` on integers over its 4,300-digit conversion limit.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise HistoryFormatError(
            f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            path=path) from None
    except RecursionError:
        raise HistoryFormatError(
            "not readable JSON: arrays or objects nested too deeply for Python's JSON "
            f"parser (the limit is about {sys.getrecursionlimit()} levels); no history "
            "nests like that", path=path) from None
    except ValueError as exc:
        # Not a JSONDecodeError: e.g. an integer over Python's 4,300-digit conversion limit.
        problem = str(exc).replace("\r", "\\r").replace("\n", "\\n")
        if len(problem) > 200:
            problem = problem[:197] + "..."
        raise HistoryFormatError(f"not readable JSON: {problem}", path=path) from None


def reserve_free_name(stem: str, reuse: Callable[[str], bool] = lambda path: False, *,
                      suffix: str = ".json", limit: int = 10_000) -> Tuple[str, bool]:
    """``stem.json``, else ``stem-2.json``, ``stem-3.json``...: the first name that is free,
    or that ``reuse(path)`` accepts (a file that already holds what is being written).

    A free name is reserved by creating it empty (``O_EXCL``): a parallel writer (an xdist
    worker) never gets the same one, and an atomic save then replaces the reservation.

    Returns:
        ``(path, reserved)``: ``reserved`` is True when the name was free and is now an
        empty file, which the caller removes if its save fails.

    Raises:
        FileExistsError: ``limit`` names are all taken.
    """
    for n in range(1, limit):
        path = f"{stem}{suffix}" if n == 1 else f"{stem}-{n}{suffix}"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            if reuse(path):
                return path, False
            continue
        os.close(fd)
        return path, True
    raise FileExistsError(f"{stem}{suffix}: {limit:,} files already hold this name and its "
                          "numbered variants")
