"""The demo's progress display: a live rich table on a terminal, plain timestamped lines otherwise."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

PENDING, ACTIVE, DONE, FAILED = "pending", "active", "done", "failed"
_MARKS = {PENDING: ("·", "dim"), DONE: ("✔", "green"), FAILED: ("✘", "bold red")}


@dataclass
class Step:
    """One line of the display."""

    title: str
    state: str = PENDING
    detail: str = ""


class DemoProgress:
    """Named steps with a state and a detail line each; `live=None` picks rich only on a terminal."""

    def __init__(self, titles: dict[str, str], stream: TextIO | None = None,
                 live: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.steps = {key: Step(title) for key, title in titles.items()}
        self.started = time.monotonic()
        self.live = self.stream.isatty() if live is None else live
        self.console = Console(file=self.stream, highlight=False, soft_wrap=False, markup=False)
        self._live: Live | None = None
        self._last_line: dict[str, str] = {}

    def __enter__(self) -> DemoProgress:
        if self.live:
            self._live = Live(self._render(), console=self.console, refresh_per_second=8, transient=False,
                              get_renderable=self._render)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None

    def elapsed(self) -> float:
        """Seconds since the display was created."""
        return time.monotonic() - self.started

    def update(self, key: str, detail: str, state: str = ACTIVE, quiet: bool = False) -> None:
        """Set a step's state and detail (plain mode prints a line when the text changed, unless `quiet`)."""
        step = self.steps[key]
        step.state, step.detail = state, detail
        if not self.live and not quiet:
            text = f"{step.title}: {detail}" + (" (failed)" if state == FAILED else "")
            if self._last_line.get(key) != text:
                self._last_line[key] = text
                print(f"[{self.elapsed():5.1f}s] {text}", file=self.stream, flush=True)

    def done(self, key: str, detail: str) -> None:
        """Mark a step finished."""
        self.update(key, detail, DONE)

    def fail(self, key: str, detail: str) -> None:
        """Mark a step failed."""
        self.update(key, detail, FAILED)

    def current(self) -> str | None:
        """The first step still in progress (where a failure belongs), if any."""
        return next((key for key, step in self.steps.items() if step.state == ACTIVE), None)

    def settle(self) -> None:
        """Mark every step still in progress as done, keeping its last detail (quietly)."""
        for step in self.steps.values():
            if step.state == ACTIVE:
                step.state = DONE

    def note(self, text: str) -> None:
        """A line printed above the live table (or plainly)."""
        if self._live is not None:
            self.console.print(text)
        else:
            print(text, file=self.stream, flush=True)

    def _render(self) -> Group:
        table = Table.grid(padding=(0, 1))
        table.add_column(width=2)
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
        for step in self.steps.values():
            if step.state == ACTIVE:
                mark: Spinner | Text = Spinner("dots", style="cyan")
            else:
                symbol, style = _MARKS[step.state]
                mark = Text(symbol, style=style)
            table.add_row(mark, step.title, Text(step.detail, style="red" if step.state == FAILED else ""))
        footer = Text(f"elapsed {self.elapsed():.0f}s", style="dim")
        return Group(table, footer)
