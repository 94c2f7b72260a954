"""Hints that name the user's code when an SDK-internal error names none.

Appended to the failure text the host records; the SDK's own words come first,
unchanged, so a test comparing Azure's text with ``startswith`` still matches.
"""
from __future__ import annotations

import re

__all__ = ["input_hint"]

# The SDK's call sites that serialize an input while the orchestrator runs.
_CALLS = ("call_activity", "call_activity_with_retry", "call_sub_orchestrator",
          "call_sub_orchestrator_with_retry", "call_entity", "signal_entity")
_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<func>\S+)\n(?P<code>[^\n]*)')
_NAME = re.compile(r"""(call_\w+|signal_entity)\(\s*(?:[^,()]*,\s*)?(['"])(?P<name>[^'"]+)\2""")
_SERIALIZATION = ("does not expose a `to_json` function", "is not JSON serializable")


def input_hint(error: str, stack: str, orchestrator: str) -> str:
    """For an input the SDK could not serialize: which call, which line, what to do."""
    if not any(marker in error for marker in _SERIALIZATION):
        return ""
    frames = list(_FRAME.finditer(stack))
    for i, frame in enumerate(frames):
        if frame.group("func") in _CALLS and i > 0:
            user = frames[i - 1]
            code = user.group("code").strip()
            found = _NAME.search(code)
            target = (f"{frame.group('func').replace('call_', '').replace('_with_retry', '')} "
                      f"'{found.group('name')}'") if found else f"the {frame.group('func')} call"
            return (f" (durable-testkit: the input of {target}, called by orchestrator "
                    f"'{orchestrator}' at {user.group('file')}:{user.group('line')} `{code}`, "
                    "cannot be serialized to JSON, so the SDK fails the orchestration, in Azure "
                    "too. Pass plain JSON values, or give the class to_json/from_json.)")
    return ""
