"""DF108: network clients, databases and subprocesses."""
from __future__ import annotations

from typing import Optional

import libcst as cst

from .base import BannedCallRule, Invalid, Valid, orchestrator_example


class NetworkAccess(BannedCallRule):
    """HTTP clients, sockets, cloud SDK clients, database drivers and subprocesses.

    Their answers are not recorded in the history, so a replay sees different data, and a
    blocking call stalls the orchestrator. Call them from an activity; for plain HTTP,
    ``yield context.call_http(...)`` is recorded and replay-safe.
    """

    CODE = "DF108"
    NAME = "network-io"
    MESSAGE = "`{call}` does I/O that is not recorded in the history: {advice}"
    ADVICE = "call it from an activity (or use `yield context.call_http(...)` for HTTP)"
    PREFIXES = (
        "requests.", "httpx.", "urllib.request.", "urllib3.", "aiohttp.", "http.client.",
        "socket.", "subprocess.", "azure.storage.", "azure.cosmos.", "azure.servicebus.",
        "azure.data.tables.", "azure.eventhub.", "azure.keyvault.", "psycopg2.", "psycopg.",
        "pymysql.", "MySQLdb.", "sqlite3.", "pyodbc.", "pymongo.", "redis.", "boto3.",
        "botocore.", "smtplib.", "ftplib.", "asyncpg.", "sqlalchemy.create_engine",
    )
    NAMES = {"os.system": "", "os.popen": "", "os.startfile": ""}
    VALID = [
        Valid(orchestrator_example('res = yield context.call_http("GET", "https://example.com")\n'
                                   "return res.content")),
        Valid(orchestrator_example('return urllib.parse.quote("a b")', "import urllib.parse\n")),
    ]
    INVALID = [
        Invalid(orchestrator_example('return requests.get("https://example.com").json()',
                                     "import requests\n")),
        Invalid(orchestrator_example('return subprocess.run(["ls"])', "import subprocess\n")),
    ]

    def advice_for(self, node: cst.Call, name: str) -> Optional[str]:
        if name in ("socket.gethostname", "socket.getfqdn"):
            return None  # DF106
        return super().advice_for(node, name)
