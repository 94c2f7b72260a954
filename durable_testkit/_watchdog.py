"""The exception that stops user code past its wall-clock limit (raised by ``_guard``).

``EpisodeTimeout`` derives from BaseException so the SDK's and the user's
``except Exception`` cannot swallow it.
"""
from __future__ import annotations

# pytest hides this module's frames in failure reports (--full-trace shows them):
# what the user needs is the line of their own code.
__tracebackhide__ = True

__all__ = ["EpisodeTimeout"]


class EpisodeTimeout(BaseException):
    """Raised inside an episode or function call that ran past its wall-clock limit."""
