"""Typed errors raised by the pure product logic."""

from __future__ import annotations


class InvalidRequest(ValueError):
    """A client error in an alert or request: the HTTP layer answers 400 naming ``field``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def to_dict(self) -> dict[str, str]:
        """The JSON body of the 400 answer."""
        return {"error": "invalid_request", "field": self.field, "message": self.message}


class ConfigurationError(ValueError):
    """An app setting is missing or malformed (a server-side problem, never the caller's)."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(f"app setting {setting}: {message}")
        self.setting = setting
