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

    What is flagged is I/O, by qualified name under the listed modules. Constructors of
    clients and connections (``BlobServiceClient(...)``, ``requests.Session()``,
    ``sqlite3.connect``) are flagged too: some read credentials or open sockets and files when
    built, and the I/O itself then happens in methods of a local object, which the linter
    cannot follow, so the constructor is the one place to catch it. Pure helpers of those
    libraries that do no I/O are not flagged: SAS-token builders and permission objects,
    retry and timeout policies, adapters, auth objects and exceptions (``PURE`` lists them).
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
    #: Callables under PREFIXES that compute values or build configuration, with no I/O.
    PURE = frozenset({
        "azure.storage.blob.generate_blob_sas", "azure.storage.blob.generate_container_sas",
        "azure.storage.blob.generate_account_sas", "azure.storage.blob.BlobSasPermissions",
        "azure.storage.blob.ContainerSasPermissions", "azure.storage.blob.AccountSasPermissions",
        "azure.storage.blob.ResourceTypes", "azure.storage.blob.ContentSettings",
        "azure.storage.queue.generate_queue_sas", "azure.storage.queue.QueueSasPermissions",
        "azure.storage.fileshare.generate_file_sas", "azure.data.tables.generate_table_sas",
        "azure.data.tables.TableSasPermissions", "azure.data.tables.UpdateMode",
        "urllib3.Retry", "urllib3.util.Retry", "urllib3.util.retry.Retry", "urllib3.Timeout",
        "urllib3.util.Timeout", "urllib3.util.timeout.Timeout", "urllib3.util.parse_url",
        "urllib3.make_headers", "urllib3.util.make_headers",
        "requests.adapters.HTTPAdapter", "requests.auth.HTTPBasicAuth",
        "requests.auth.HTTPDigestAuth", "requests.Request", "requests.models.Request",
        "requests.structures.CaseInsensitiveDict", "requests.utils.quote",
        "requests.utils.requote_uri", "httpx.Timeout", "httpx.Limits", "httpx.URL",
        "httpx.Headers", "httpx.QueryParams", "httpx.BasicAuth", "aiohttp.ClientTimeout",
        "aiohttp.BasicAuth", "socket.htons", "socket.ntohs", "socket.inet_aton",
        "socket.inet_ntoa", "subprocess.list2cmdline",
    })
    #: Modules whose callables are all pure (exceptions and their helpers).
    PURE_PREFIXES = ("requests.exceptions.", "httpx._exceptions.", "urllib3.exceptions.",
                     "aiohttp.client_exceptions.", "botocore.exceptions.",
                     "azure.storage.blob._shared.", "azure.core.exceptions.")
    VALID = [
        Valid(orchestrator_example('res = yield context.call_http("GET", "https://example.com")\n'
                                   "return res.content")),
        Valid(orchestrator_example('return urllib.parse.quote("a b")', "import urllib.parse\n")),
        Valid(orchestrator_example(
            "token = generate_blob_sas(account, container, blob, account_key=key,\n"
            "                          permission=BlobSasPermissions(read=True), expiry=when)\n"
            "return token",
            "from azure.storage.blob import BlobSasPermissions, generate_blob_sas\n")),
        Valid(orchestrator_example(
            "retry = urllib3.Retry(total=3)\nreturn requests.adapters.HTTPAdapter(max_retries=retry)",
            "import requests.adapters\nimport urllib3\n")),
    ]
    INVALID = [
        Invalid(orchestrator_example('return requests.get("https://example.com").json()',
                                     "import requests\n")),
        Invalid(orchestrator_example('return subprocess.run(["ls"])', "import subprocess\n")),
        Invalid(orchestrator_example(
            "return BlobServiceClient.from_connection_string(conn).list_containers()",
            "from azure.storage.blob import BlobServiceClient\n")),
    ]

    def advice_for(self, node: cst.Call, name: str) -> Optional[str]:
        if name in ("socket.gethostname", "socket.getfqdn"):
            return None  # DF106
        if name in self.PURE or name.startswith(self.PURE_PREFIXES):
            return None
        return super().advice_for(node, name)
