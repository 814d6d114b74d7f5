"""Persisting emulator state across `python -m devstack up` restarts: one codec, one file type, one autosaver.

Each emulator keeps its state in dataclasses (its `models.py`); a small `store.py` next to it says which
dataclass is the root and where the file lives, and uses what is here:

- `codec`: a cattrs converter that turns any (nested) dataclass into JSON-able data and back, using the type
  hints. A field that only makes sense in a running process (an asyncio task, a subprocess, a callback) is
  declared with `field(..., metadata=TRANSIENT)`: it is not written, and gets its default when read back. So a
  new resource kind persists as soon as it is a field of the root dataclass; no extra code.
- `JsonStateFile`: one JSON document written atomically (temp file + rename) and read strictly: a damaged file
  raises `PersistedStateError`, which names the file and the two ways out.
- `Autosaver`: writes a snapshot a moment after something changed (`touch()`), and keeps doing so while
  background work may still change it (`busy()`), so state changed by tasks rather than requests is saved too.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin

from cattrs.errors import BaseValidationError
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.preconf.json import make_converter
from cattrs.v import transform_error

from devstack.common.statefile import write_text_atomic

log = logging.getLogger(__name__)
T = TypeVar("T")

TRANSIENT = {"transient": True}  # dataclass field metadata: runtime-only, never persisted
FORMAT_KEY = "format"
DATA_KEY = "data"
FRESH_HINT = "run `python -m devstack up --fresh` to start empty (or remove the file)"


class PersistedStateError(RuntimeError):
    """A persisted state file cannot be read; the message names it and says how to start over."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"persisted devstack state {path} is unreadable: {problem}; {FRESH_HINT}")
        self.path = path


def _omitted(cls: type) -> dict[str, Any]:
    return {f.name: override(omit=True) for f in dataclasses.fields(cls) if f.metadata.get("transient")}


def _tuple_keyed(t: Any) -> bool:
    args = get_args(t)
    return get_origin(t) is dict and len(args) == 2 and get_origin(args[0]) is tuple


def _make_codec():
    converter = make_converter()
    converter.register_unstructure_hook(Path, str)
    converter.register_structure_hook(Path, lambda value, _: Path(value))
    converter.register_unstructure_hook(datetime, datetime.isoformat)
    converter.register_structure_hook(datetime, lambda value, _: datetime.fromisoformat(value))
    converter.register_unstructure_hook_factory(
        dataclasses.is_dataclass, lambda cls: make_dict_unstructure_fn(cls, converter, **_omitted(cls))
    )
    # JSON object keys are strings: a dict keyed by tuples is written as a list of [key, value] pairs
    converter.register_unstructure_hook_factory(
        _tuple_keyed,
        lambda t: lambda d: [[list(k), converter.unstructure(v, get_args(t)[1])] for k, v in d.items()],
    )
    converter.register_structure_hook_factory(
        _tuple_keyed,
        lambda t: lambda data, _: {
            converter.structure(k, get_args(t)[0]): converter.structure(v, get_args(t)[1]) for k, v in data
        },
    )
    converter.register_structure_hook_factory(
        dataclasses.is_dataclass, lambda cls: make_dict_structure_fn(cls, converter, **_omitted(cls))
    )
    return converter


codec = _make_codec()


class JsonStateFile:
    """One persisted document: `{"format": N, "data": <the root dataclass, unstructured>}`.

    `format` is bumped when a change of the dataclasses makes old files unreadable; a file of another format
    is refused with the same clear error as a damaged one.
    """

    def __init__(self, path: Path, root: type, format_version: int = 1) -> None:
        self.path, self.root, self.format_version = path, root, format_version
        self._last_written: str | None = None

    def load(self) -> Any | None:
        """The root dataclass from the file; None when there is no file; PersistedStateError if damaged."""
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise PersistedStateError(self.path, str(exc)) from None
        try:
            document = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise PersistedStateError(self.path, f"not JSON ({exc})") from None
        if not isinstance(document, dict) or set(document) != {FORMAT_KEY, DATA_KEY}:
            raise PersistedStateError(self.path, f"expected an object with '{FORMAT_KEY}' and '{DATA_KEY}'")
        if document[FORMAT_KEY] != self.format_version:
            raise PersistedStateError(
                self.path, f"format {document[FORMAT_KEY]!r}; this devstack reads {self.format_version}"
            )
        state = structure(document[DATA_KEY], self.root, self.path)
        self._last_written = text
        return state

    def save(self, state: Any) -> bool:
        """Write `state` atomically unless the file already holds exactly it; True when written."""
        text = json.dumps({FORMAT_KEY: self.format_version, DATA_KEY: codec.unstructure(state)}, indent=1)
        if text == self._last_written:
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.path, text)
        self._last_written = text
        return True

    def remove(self) -> None:
        """Delete the file (the next `save` writes it again)."""
        self.path.unlink(missing_ok=True)
        self._last_written = None


def structure(data: Any, cls: type[T], path: Path, where: str = "data") -> T:
    """`data` as a `cls`; PersistedStateError naming `path` and the first misfits (`where` is the JSON path of
    `data` in the file) when it does not fit."""
    try:
        return codec.structure(data, cls)
    except BaseValidationError as exc:
        problems = transform_error(exc, path=where)
        more = f" and {len(problems) - 3} more" if len(problems) > 3 else ""
        raise PersistedStateError(path, f"not a {cls.__name__}: {'; '.join(problems[:3])}{more}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PersistedStateError(path, f"not a {cls.__name__}: {type(exc).__name__}: {exc}") from None


class Autosaver:
    """Calls `save()` (which writes only what changed) `delay` s after `touch()`, and every `delay` s while
    `busy()` says background work may still change the state; `close()` saves one last time."""

    def __init__(
        self, save: Callable[[], Any], busy: Callable[[], bool] = lambda: False, delay: float = 0.25
    ) -> None:
        self._save, self._busy, self.delay = save, busy, delay
        self._dirty = asyncio.Event()
        self._task: asyncio.Task | None = None

    def touch(self) -> None:
        """Something changed (or may change soon): save shortly. Needs a running event loop."""
        self._dirty.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await self._dirty.wait()
            await asyncio.sleep(self.delay)  # coalesce a burst of changes into one write
            self._dirty.clear()
            self.save_now()
            if self._busy():
                self._dirty.set()

    def save_now(self) -> None:
        """Save at once (errors are logged: the emulator keeps serving)."""
        try:
            self._save()
        except OSError as exc:
            log.warning("could not save devstack state: %s", exc)

    async def close(self) -> None:
        """Stop the background saver and save the final state."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.save_now()
