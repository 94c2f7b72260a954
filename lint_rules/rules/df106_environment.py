"""DF106: reading the environment of the worker."""
from __future__ import annotations

import libcst as cst

from .base import BannedCallRule, Invalid, Valid, orchestrator_example

_ADVICE = "pass it in the orchestration input or read it in an activity"


class EnvironmentRead(BannedCallRule):
    """``os.environ``, ``os.getenv``, ``os.getpid``, ``socket.gethostname``, ``platform.node``.

    Settings and host facts can change between replays (a redeploy, another worker), so an
    orchestrator that branches on them can replay differently. Read them at module import time
    or in an activity, or pass them in the input.
    """

    CODE = "DF106"
    NAME = "environment-read"
    MESSAGE = "`{call}` reads the worker's environment: {advice}"
    ADVICE = _ADVICE
    NAMES = {
        "os.getenv": "", "os.getenvb": "", "os.getpid": "", "os.getppid": "", "os.getlogin": "",
        "os.getuid": "", "os.cpu_count": "", "socket.gethostname": "", "socket.getfqdn": "",
        "platform.node": "", "getpass.getuser": "",
    }
    VALID = [
        Valid("import os\nREGION = os.environ.get('REGION')\n"
              + orchestrator_example("return REGION")),
        Valid(orchestrator_example("return os.path.join('a', 'b')", "import os\n")),
    ]
    INVALID = [
        Invalid(orchestrator_example('return os.environ["REGION"]', "import os\n")),
        Invalid(orchestrator_example('return os.getenv("REGION")', "import os\n")),
        Invalid(orchestrator_example('return environ.get("REGION")', "from os import environ\n")),
    ]

    def _environ(self, node: cst.BaseExpression) -> None:
        if self.qualname(node) == "os.environ":
            self.report(node, self.MESSAGE.format(call="os.environ", advice=_ADVICE))

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value == "environ":
            self._environ(node)

    def visit_Name(self, node: cst.Name) -> None:
        if node.value != "environ":
            return
        parent = self.ctx.parents.get(node)
        if isinstance(parent, cst.ImportAlias) or (
                isinstance(parent, cst.Attribute) and parent.attr is node):
            return
        self._environ(node)
