"""DF104: random numbers."""
from __future__ import annotations

from typing import Optional

import libcst as cst

from .base import BannedCallRule, Invalid, Valid, orchestrator_example

_NUMPY_SEEDED = frozenset({"default_rng", "RandomState", "Generator", "SeedSequence", "PCG64",
                           "MT19937", "Philox", "SFC64"})


class RandomNumbers(BannedCallRule):
    """Module-level ``random`` functions, ``secrets``, ``os.urandom`` and global ``numpy.random``.

    Each replay draws different numbers. A ``random.Random(seed)`` (or numpy generator) seeded
    from something replayed, such as ``context.new_uuid()`` or the orchestration input, is
    deterministic and fine; an unseeded one is not.
    """

    CODE = "DF104"
    NAME = "random"
    MESSAGE = "`{call}()` is not replay-safe: {advice}"
    ADVICE = "seed `random.Random(...)` from `context.new_uuid()`, or draw in an activity"
    VALID = [
        Valid(orchestrator_example(
            "rng = random.Random(context.new_uuid())\nreturn rng.random()", "import random\n")),
        Valid(orchestrator_example(
            "def pick(random):\n    return random.choice([1, 2])\nreturn 1", "import random\n")),
    ]
    INVALID = [
        Invalid(orchestrator_example("return random.randint(1, 6)", "import random\n")),
        Invalid(orchestrator_example("return choice([1, 2])", "from random import choice\n")),
        Invalid(orchestrator_example("return secrets.token_hex()", "import secrets\n")),
        Invalid(orchestrator_example("return random.Random().random()", "import random\n")),
    ]

    def advice_for(self, node: cst.Call, name: str) -> Optional[str]:
        module, _, func = name.rpartition(".")
        if module == "random":
            if func == "Random" and node.args:
                return None
            return self.ADVICE
        if module == "secrets" or name in ("os.urandom", "os.getrandom"):
            return "generate secrets in an activity"
        if module == "numpy.random":
            if func in _NUMPY_SEEDED and node.args:
                return None
            return self.ADVICE
        return None
