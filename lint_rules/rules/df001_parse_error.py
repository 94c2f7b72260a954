"""DF001: the file could not be parsed."""
from __future__ import annotations

from .base import Invalid, Rule, Valid


class ParseError(Rule):
    """The file is not valid Python, so nothing in it could be checked.

    The engine reports this instead of crashing; fix the syntax error first.
    """

    CODE = "DF001"
    NAME = "parse-error"
    MESSAGE = "cannot parse file"
    VALID = [Valid("import azure.durable_functions as df\n")]
    INVALID = [Invalid("import azure.durable_functions as df\ndef orchestrator(context:\n")]
