"""Progress and notes for people: stderr only, and only when stderr is a terminal (not under CI).

rich's Console honours NO_COLOR on its own.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
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

            self._console = Console(file=stream or sys.stderr, highlight=False, markup=False)

    def note(self, text: str) -> None:
        """Print one line of progress."""
        if self._console is not None:
            self._console.print(text)

    @contextmanager
    def spinner(self, text: str) -> Iterator[Spinner | None]:
        """A live spinner while the block runs; yields a `Spinner` (None when progress is off)."""
        if self._console is None:
            yield None
            return
        from rich.text import Text

        with self._console.status(Text(text)) as status:
            yield Spinner(status)


class Spinner:
    """The running spinner's text; plain text (rich's Status would read `[...]` in run data as markup)."""

    def __init__(self, status: Any) -> None:
        self._status = status

    def update(self, text: str) -> None:
        """Replace the text next to the spinner."""
        from rich.text import Text

        self._status.update(Text(text))
