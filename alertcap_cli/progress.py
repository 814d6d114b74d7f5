"""Progress and notes for people: stderr only, and only when stderr is a terminal (not under CI).

rich's Console honours NO_COLOR on its own.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, TextIO


def progress_enabled(stream: TextIO | None = None) -> bool:
    """True when progress may be shown: stderr is a terminal and `CI` is not set."""
    stream = stream or sys.stderr
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false"):
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


class Progress:
    """Spinners and one-line notes on stderr; silent when not on a terminal."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.enabled = progress_enabled(stream)
        self._console: Any = None
        if self.enabled:
            from rich.console import Console

            self._console = Console(file=stream or sys.stderr, highlight=False)

    def note(self, text: str) -> None:
        """Print one line of progress."""
        if self._console is not None:
            self._console.print(text, markup=False)

    @contextmanager
    def spinner(self, text: str) -> Iterator[Any]:
        """A live spinner while the block runs; yields an object with `.update(text)` (or None)."""
        if self._console is None:
            with nullcontext():
                yield None
            return
        with self._console.status(text) as status:
            yield status
