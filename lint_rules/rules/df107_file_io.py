"""DF107: file system access."""
from __future__ import annotations

from typing import Optional

import libcst as cst

from .base import BannedCallRule, Invalid, Valid, orchestrator_example

_PATH_IO = frozenset({
    "read_text", "read_bytes", "write_text", "write_bytes", "open", "exists", "is_file", "is_dir",
    "iterdir", "glob", "rglob", "stat", "mkdir", "unlink", "touch", "rmdir", "rename", "replace",
    "resolve", "cwd", "home", "owner", "lstat", "chmod",
})
_OS_IO = frozenset({
    "listdir", "scandir", "walk", "fwalk", "stat", "lstat", "remove", "unlink", "rename", "replace",
    "mkdir", "makedirs", "rmdir", "removedirs", "chdir", "getcwd", "access", "chmod", "chown",
    "open", "read", "write", "truncate", "utime", "symlink", "link", "readlink",
})
_OS_PATH_IO = frozenset({
    "exists", "lexists", "isfile", "isdir", "islink", "ismount", "getsize", "getmtime", "getatime",
    "getctime", "samefile", "realpath",
})
_PATH_TYPES = frozenset({"pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath"})


class FileSystemAccess(BannedCallRule):
    """``open()``, ``pathlib.Path`` I/O, ``os`` file functions, ``glob``, ``shutil``, ``tempfile``.

    Files change between replays and differ between workers, and I/O in an orchestrator also
    blocks the single orchestrator thread. Do I/O in an activity and pass the result back.
    Building paths (``os.path.join``, ``Path("a") / "b"``) is fine.
    """

    CODE = "DF107"
    NAME = "file-io"
    MESSAGE = "`{call}` does file I/O: {advice}"
    ADVICE = "move it into an activity"
    PREFIXES = ("glob.", "shutil.", "tempfile.", "fileinput.")
    NAMES = {"builtins.open": "", "io.open": ""}
    VALID = [
        Valid(orchestrator_example('return str(Path("data") / "in.json")', "from pathlib import Path\n")),
    ]
    INVALID = [
        Invalid(orchestrator_example('with open("in.json") as fh:\n    return fh.read()')),
        Invalid(orchestrator_example('return Path("in.json").read_text()', "from pathlib import Path\n")),
        Invalid(orchestrator_example('return os.path.exists("in.json")', "import os\n")),
    ]

    def advice_for(self, node: cst.Call, name: str) -> Optional[str]:
        found = super().advice_for(node, name)
        if found:
            return found
        module, _, func = name.rpartition(".")
        if (module == "os" and func in _OS_IO) or (module in ("os.path", "posixpath") and func in _OS_PATH_IO):
            return self.ADVICE
        if module in _PATH_TYPES and func in _PATH_IO:
            return self.ADVICE
        return None

    def visit_Call(self, node: cst.Call) -> None:
        super().visit_Call(node)
        # Path("x").read_text(): the method of a Path built in place.
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in _PATH_IO and isinstance(func.value, cst.Call):
            if self.qualname(func.value.func) in _PATH_TYPES:
                self.report(node, self.MESSAGE.format(call=f"Path.{func.attr.value}", advice=self.ADVICE))
