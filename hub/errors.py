"""hub's own error types. Every module raises these, never a driver's or vendor's."""
from __future__ import annotations

__all__ = ["CliError", "ConfigError", "HubError"]


class HubError(Exception):
    """Base of every error hub raises on purpose."""


class ConfigError(HubError):
    """The configuration (environment or config file) is wrong; the message names the setting."""


class CliError(HubError):
    """A command failed in a way the user can act on; printed as one line, no traceback."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
