"""Reading and decoding source files the way Python does, refusing what it would refuse.

Only regular files are opened (a FIFO or a device would block or never end), a file past the
size limit is not read, and bytes are decoded as the interpreter decodes a module: a UTF-8 BOM,
else a PEP 263 coding cookie, else UTF-8. Anything else becomes a :class:`Unreadable` with a
message that says what to do, which the engine reports as DF001.
"""
from __future__ import annotations

import ast
import codecs
import io
import os
import re
import stat
import sys
import tokenize
import warnings
from dataclasses import dataclass
from typing import Optional, Union

#: Files larger than this many bytes are reported (DF001) instead of analysed. Analysis time
#: and memory grow with the size of the syntax tree (libcst keeps every token, whitespace
#: included, and walks the tree in Python), about 0.1 ms and a few KB per token.
DEFAULT_MAX_FILE_BYTES = 256 * 1024
#: A file may hold at most ``max_file_bytes // BYTES_PER_TOKEN`` tokens: ordinary code has one
#: token per 5-8 bytes, a one-line data table (``[0, 0, 0, ...]``) one per 1.5, and it is the
#: number of tokens that costs time and memory.
BYTES_PER_TOKEN = 5
_TOKEN = re.compile(rb"\w+|[^\w\s]")

_UTF16_32_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16"),
)


@dataclass(frozen=True)
class Source:
    """A decoded file: ``text``, and ``data`` = ``text`` as UTF-8 (what byte spans measure)."""

    path: str
    text: str
    data: bytes
    encoding: str = "utf-8"
    bom: bool = False

    @property
    def fixable(self) -> bool:
        """Fixes are written as UTF-8, so only UTF-8 files get them."""
        return codecs.lookup(self.encoding).name in ("utf-8", "utf-8-sig")


@dataclass(frozen=True)
class Unreadable:
    """A file that cannot be linted, and why (reported as DF001 at ``line``:``col``)."""

    path: str
    message: str
    line: int = 1
    col: int = 0


def too_large(size: int, limit: int) -> str:
    return (f"file too large to analyse: {size:,} bytes, over the limit of {limit:,} "
            "(set `max-file-bytes` in [tool.durable-lint] to raise it, or exclude the file)")


def too_many_tokens(data: bytes, max_bytes: int) -> Optional[str]:
    """A DF001 message if ``data`` has more tokens than ``max_bytes`` allows, else None."""
    limit = max_bytes // BYTES_PER_TOKEN
    if len(data) <= limit:  # cannot have more tokens than bytes
        return None
    count = sum(1 for _ in _TOKEN.finditer(data))
    if count <= limit:
        return None
    return (f"file too large to analyse: about {count:,} tokens, over the limit of {limit:,} "
            f"(max-file-bytes / {BYTES_PER_TOKEN}; set `max-file-bytes` in "
            "[tool.durable-lint] to raise it, or exclude the file)")


def read_bytes(path: str, max_bytes: int, *,
               follow_symlinks: bool = True) -> Union[bytes, Unreadable]:
    """The bytes of a regular file of at most ``max_bytes``; never blocks on FIFOs or devices.

    ``follow_symlinks=False`` refuses a symbolic link too: the cache reads files it wrote
    itself, so a link there was planted.
    """
    try:
        info = os.stat(path) if follow_symlinks else os.lstat(path)
        if not stat.S_ISREG(info.st_mode):
            return Unreadable(path, f"not a regular file ({_kind(info.st_mode)}): not read")
        if info.st_size > max_bytes:
            return Unreadable(path, too_large(info.st_size, max_bytes))
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
        flags |= getattr(os, "O_BINARY", 0)
        if not follow_symlinks:
            flags |= getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(path, flags)
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):  # swapped since the stat
                return Unreadable(path, "not a regular file: not read")
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        return Unreadable(path, f"cannot read file: {exc.strerror or exc}")
    if len(data) > max_bytes:  # grew since the stat
        return Unreadable(path, too_large(len(data), max_bytes))
    return data


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "not a plain file"


def decode(path: str, raw: bytes) -> Union[Source, Unreadable]:
    """Decode ``raw`` as Python decodes a module, or say why Python could not import it."""
    for mark, name in _UTF16_32_BOMS:
        if raw.startswith(mark):
            return Unreadable(path, f"file is {name} (it starts with a {name} byte-order mark): "
                                    "Python reads source as UTF-8 or a PEP 263 cookie's "
                                    "encoding and cannot import it; save it as UTF-8")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    except SyntaxError as exc:
        return Unreadable(path, f"cannot decode file: {exc}")
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return Unreadable(path, f"cannot decode file: byte 0x{raw[exc.start]:02x} is not valid "
                                f"{encoding}; Python cannot import it. Save it as UTF-8 or "
                                "declare its encoding (PEP 263)", line)
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        return Unreadable(path, "source contains a null byte: Python refuses such files", line)
    bom = raw.startswith(codecs.BOM_UTF8)
    return Source(path, text, text.encode("utf-8"), encoding, bom)


def from_text(path: str, text: str) -> Union[Source, Unreadable]:
    """A :class:`Source` for text given directly (``lint_source``)."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        line = text.count("\n", 0, exc.start) + 1
        return Unreadable(path, "cannot encode source: it contains a lone surrogate", line)
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        return Unreadable(path, "source contains a null byte: Python refuses such files", line)
    return Source(path, text, data)


def parse_version(value: str) -> tuple[int, int]:
    """``"3.11"`` -> ``(3, 11)``; raises ValueError for anything else."""
    major, _, minor = value.strip().partition(".")
    if major != "3" or not minor.isdigit():
        raise ValueError(f"{value!r} is not a Python version such as '3.11'")
    return 3, int(minor)


def grammar_error(source: Source, target: Optional[str]) -> Optional[Unreadable]:
    """The syntax error CPython's parser reports for the target Python version, if any.

    libcst accepts the newest grammar whatever its ``python_version`` says, so CPython's own
    parser decides: with ``feature_version`` for an older target. A target newer than the
    running interpreter is checked by libcst alone.
    """
    version = parse_version(target) if target else sys.version_info[:2]
    if version > sys.version_info[:2]:
        return None
    feature = max(version, (3, 7))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning: invalid escape sequences and such
            ast.parse(source.text, source.path, feature_version=feature)
    except SyntaxError as exc:
        where = f"Python {version[0]}.{version[1]}"
        return Unreadable(source.path, f"cannot parse file as {where}: {exc.msg} (set "
                                       "`target-version` to the Python your app runs on)",
                          max(exc.lineno or 1, 1), max((exc.offset or 1) - 1, 0))
    except (RecursionError, MemoryError, ValueError):
        return Unreadable(source.path, "cannot parse file: nesting too deep")
    return None
