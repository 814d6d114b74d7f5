"""JSON as RFC 8259 defines it: Python's ``json`` also accepts ``NaN``, ``Infinity`` and ``-Infinity``."""

from __future__ import annotations

import json
from typing import Any


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (RFC 8259 has no NaN or Infinity)")


def loads(data: str | bytes) -> Any:
    """Parse ``data``; raise ``ValueError`` for bad JSON including the non-standard constants."""
    return json.loads(data, parse_constant=_reject_constant)
