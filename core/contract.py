"""The typed orchestration contract: what an orchestrator and an activity hand each other, as dataclasses.

Durable passes activity inputs and results as JSON, and keeps them in the orchestration's history, where a
replay reads them again. A payload is a frozen dataclass that derives from :class:`Payload`: the sender calls
``to_dict()``, the receiver ``from_dict()``, and both sides name the same fields. ``to_dict`` writes the
fields under their own names (nested payloads as dicts, tuples as lists), so the JSON keeps the shape the
earlier dict literals had and histories written before the dataclasses still decode.

``from_dict`` checks every field against its annotation and names the field that does not fit: a wrong
payload is a programming error that should fail loudly, not travel on as a half-filled dict.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import Any, Self, Union


class PayloadError(ValueError):
    """A payload that does not fit its dataclass: names the class and the field."""


class Payload:
    """Base of the frozen dataclasses that travel between an orchestrator and an activity."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: each field under its name, nested ``to_dict`` objects as dicts."""
        return {f.name: _encode(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    @classmethod
    def from_dict(cls, data: Any) -> Self:
        """Inverse of :meth:`to_dict`; absent fields take their defaults, unknown keys are ignored."""
        if not isinstance(data, dict):
            raise PayloadError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
        hints = _field_types(cls)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name in data:
                values[f.name] = _decode(hints[f.name], data[f.name], f"{cls.__name__}.{f.name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise PayloadError(f"{cls.__name__}.{f.name}: missing")
        return cls(**values)


@functools.cache
def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _encode(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    return value


def _decode(kind: Any, value: Any, where: str) -> Any:
    """``value`` as an instance of the annotation ``kind`` (what ``to_dict`` wrote for it)."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        return _decode(next(a for a in args if a is not type(None)), value, where)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise PayloadError(f"{where}: expected a list, got {type(value).__name__}")
        items = [_decode(args[0] if args else Any, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict or kind is dict:
        if not isinstance(value, dict):
            raise PayloadError(f"{where}: expected an object, got {type(value).__name__}")
        return dict(value)
    if kind is Any:
        return value
    if hasattr(kind, "from_dict"):
        return kind.from_dict(value)
    return _scalar(kind, value, where)


def _scalar(kind: type, value: Any, where: str) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise PayloadError(f"{where}: expected {kind.__name__}, got {type(value).__name__}")
    return value
