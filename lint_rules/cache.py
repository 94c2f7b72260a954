"""On-disk cache of per-file analyses, so pre-commit runs re-analyse only changed files.

A key covers the file's bytes and path, its module name, the options that change analysis, and
a fingerprint of durable-lint's own source and libcst's version, so an upgrade or a local edit
of a rule never serves stale results. Entries are pickled :class:`FileAnalysis` values; any
problem reading or writing one is treated as a miss.
"""
from __future__ import annotations

import hashlib
import os
import pickle
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import libcst

if TYPE_CHECKING:
    from .engine import FileAnalysis

_FORMAT = "1"


def default_cache_dir() -> str:
    """``$DURABLE_LINT_CACHE_DIR``, else ``$XDG_CACHE_HOME/durable-lint`` or ``~/.cache/...``."""
    explicit = os.environ.get("DURABLE_LINT_CACHE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "durable-lint")


@lru_cache(maxsize=1)
def _fingerprint() -> bytes:
    digest = hashlib.sha1(f"{_FORMAT}:{getattr(libcst, 'LIBCST_VERSION', '')}".encode())
    digest.update(repr(getattr(libcst, "__version__", "")).encode())
    package = Path(__file__).parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.digest()


class AnalysisCache:
    """A folder of cached analyses; ``AnalysisCache(None)`` caches nothing."""

    def __init__(self, folder: Optional[str]) -> None:
        self.folder = Path(folder) if folder else None
        self.hits = 0

    def key(self, source: bytes, *parts: Any) -> Optional[str]:
        if self.folder is None:
            return None
        digest = hashlib.sha1(_fingerprint())
        digest.update(repr(parts).encode("utf-8", errors="replace"))
        digest.update(source)
        return digest.hexdigest()

    def get(self, key: Optional[str]) -> Optional[FileAnalysis]:
        if key is None or self.folder is None:
            return None
        try:
            with open(self.folder / key[:2] / key, "rb") as fh:
                found = pickle.load(fh)
        except Exception:
            return None
        self.hits += 1
        return found  # type: ignore[no-any-return]

    def put(self, key: Optional[str], analysis: FileAnalysis) -> None:
        if key is None or self.folder is None or analysis.internal_error:
            return
        target = self.folder / key[:2] / key
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(f".{os.getpid()}.tmp")
            with open(tmp, "wb") as fh:
                pickle.dump(analysis, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, target)
        except Exception:
            pass  # a read-only or full disk only costs speed
