"""DF100: a call banned in ``[tool.durable-lint] banned-calls``."""
from __future__ import annotations

from typing import Optional

import libcst as cst

from .base import BannedCallRule, Invalid, Valid, orchestrator_example


_BANNED = {"banned_calls": (("mycorp.clock.now", "use context.current_utc_datetime"),)}


class ConfiguredBannedCall(BannedCallRule):
    """Calls your project bans in orchestrator code, with your own advice.

    Configure ``banned-calls = { "mycorp.clock.now" = "use context.current_utc_datetime" }``.
    A key matches the call's qualified name exactly or as a module prefix.
    """

    CODE = "DF100"
    NAME = "banned-by-config"
    MESSAGE = "`{call}` is banned in orchestrator code: {advice}"
    VALID = [
        # Other functions of a banned module are fine: only the listed name is banned.
        Valid(orchestrator_example("return mycorp.clock.parse(context.get_input())",
                                   "import mycorp.clock\n"), settings=_BANNED),
    ]
    INVALID = [Invalid(orchestrator_example("return mycorp.clock.now()", "import mycorp.clock\n"),
                       settings=_BANNED)]

    def advice_for(self, node: cst.Call, name: str) -> Optional[str]:
        for banned, advice in self.ctx.settings.banned_calls:
            if name == banned or name.startswith(banned + "."):
                return advice
        return None
