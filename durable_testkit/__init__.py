"""durable-testkit: test Azure Durable Functions (Python) orchestrators in process.

An in-memory host plays the Durable extension's part: it feeds the real
``azure-functions-durable`` orchestrator handles with history JSON, acts on the
actions they return, and keeps time on a virtual clock.
"""
from __future__ import annotations

__all__: list[str] = []
