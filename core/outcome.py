"""The typed result activities return for permanent errors, instead of raising (which would be retried)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class JsonPayload(Protocol):
    """Anything with a JSON-ready ``to_dict`` (a ``core.contract.Payload``)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        ...


@dataclass(frozen=True)
class Outcome:
    """``ok`` with a JSON ``value``, or a permanent failure with an error code and message."""

    ok: bool
    value: dict[str, Any] = field(default_factory=dict)
    error_code: str = ""
    message: str = ""

    @classmethod
    def success(cls, **value: Any) -> Outcome:
        """A successful outcome carrying ``value``."""
        return cls(True, value)

    @classmethod
    def of(cls, value: JsonPayload) -> Outcome:
        """A successful outcome carrying a typed payload (in its ``to_dict`` form)."""
        return cls(True, value.to_dict())

    @classmethod
    def failure(cls, error_code: str, message: str) -> Outcome:
        """A permanent failure: retrying will not help."""
        return cls(False, {}, error_code, message[:1000])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the wire form between activities and the orchestrator)."""
        return {"ok": self.ok, "value": self.value, "error_code": self.error_code, "message": self.message}

    @classmethod
    def from_dict(cls, data: Any) -> Outcome:
        """Inverse of :meth:`to_dict`; anything else is a programming error."""
        if not isinstance(data, dict) or not isinstance(data.get("ok"), bool):
            raise TypeError(f"not an activity outcome: {data!r:.200}")
        return cls(data["ok"], dict(data.get("value") or {}), str(data.get("error_code", "")),
                   str(data.get("message", "")))
