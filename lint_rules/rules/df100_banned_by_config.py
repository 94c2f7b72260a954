"""DF100: a call banned in ``[tool.durable-lint] banned-calls``."""
from __future__ import annotations

from typing import Optional

import libcst as cst

from .base import BannedCallRule, Invalid, Valid, orchestrator_example


class ConfiguredBannedCall(BannedCallRule):
    """Calls your project bans in orchestrator code, with your own advice.

    Configure ``banned-calls = { "mycorp.clock.now" = "use context.current_utc_datetime" }``.
    A key matches the call's qualified name exactly or as a module prefix.
    """

    CODE = "DF100"
    NAME = "banned-by-config"
    MESSAGE = "`{call}` is banned in orchestrator code: {advice}"
    VALID = [Valid(orchestrator_example("return mycorp.clock.now()", "import mycorp.clock\n"))]
    INVALID = [
        Invalid(
            orchestrator_example("return mycorp.clock.now()", "import mycorp.clock\n"),
            settings={"banned_calls": (("mycorp.clock.now", "use context.current_utc_datetime"),)},
        )
    ]

    def advice_for(self, node: cst.Call, name: str) -> Optional[str]:
        for banned, advice in self.ctx.settings.banned_calls:
            if name == banned or name.startswith(banned + "."):
                return advice
        return None
