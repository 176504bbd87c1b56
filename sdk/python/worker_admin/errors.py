"""The SDK's error: a stable upper-case code and a message, like the rest of worker-admin (docs/errors.md)."""
from __future__ import annotations


class WorkerAdminError(Exception):
    """An error with a code (CONFIG_INVALID, BAD_TOKEN, COMMANDS_MISSING, ROUTER_ERROR, STATE_INVALID, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
