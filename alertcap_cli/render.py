"""The one renderer behind `--output json|table|tsv|none`.

Commands hand over the stable JSON value plus human views of the same data (tables, records, messages).
`json` prints the JSON value, `tsv` prints view rows tab-separated with no headers, `table` prints aligned
text that fits the terminal (80 columns when not a terminal), using rich only when stdout is a terminal.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TextIO


class OutputFormat(StrEnum):
    """The values of `--output/-o`."""

    JSON = "json"
    TABLE = "table"
    TSV = "tsv"
    NONE = "none"


@dataclass(frozen=True)
class Column:
    """A table column; `flex` columns shrink (with an ellipsis) so the table fits the width."""

    title: str
    flex: bool = False
    min_width: int = 4


@dataclass(frozen=True)
class Table:
    """Rows under column titles."""

    columns: list[Column]
    rows: Sequence[Sequence[Any]]  # each cell is shown as `cell(value)`
    title: str | None = None
    empty: str = "(none)"


@dataclass(frozen=True)
class Record:
    """Label/value pairs describing one thing."""

    fields: Sequence[tuple[str, Any]]  # each value is shown as `cell(value)`
    title: str | None = None


@dataclass(frozen=True)
class Message:
    """A sentence for people (`table` only; tsv prints it as one line)."""

    text: str


View = Table | Record | Message


@dataclass
class Rendering:
    """What a command produced: the JSON value and the human views of it."""

    data: Any
    views: Sequence[View] = field(default_factory=list)


def cell(value: Any) -> str:
    """The text of one table or tsv cell (`-` for nothing, compact JSON for structures)."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return " ".join(str(value).split())


class Renderer:
    """Writes a `Rendering` to stdout in the chosen format."""

    def __init__(self, fmt: OutputFormat, stream: TextIO | None = None, width: int | None = None) -> None:
        self.format = fmt
        self.stream = stream or sys.stdout
        self.is_terminal = bool(getattr(self.stream, "isatty", lambda: False)())
        self.width = width or self._detect_width()

    def _detect_width(self) -> int:
        if self.is_terminal:
            return shutil.get_terminal_size((80, 24)).columns
        columns = os.environ.get("COLUMNS", "")
        return int(columns) if columns.isdigit() and int(columns) >= 40 else 80

    def render(self, rendering: Rendering) -> None:
        """Print `rendering` in this renderer's format."""
        if self.format is OutputFormat.NONE:
            return
        if self.format is OutputFormat.JSON:
            self.stream.write(json.dumps(rendering.data, indent=2, ensure_ascii=False) + "\n")
        elif self.format is OutputFormat.TSV:
            for view in rendering.views:
                self._tsv(view)
        elif self.is_terminal:
            self._rich(rendering.views)
        else:
            self.stream.write(plain_text(rendering.views, self.width))
        self.stream.flush()

    def _tsv(self, view: View) -> None:
        if isinstance(view, Table):
            for row in view.rows:
                self.stream.write("\t".join(cell(c) for c in row) + "\n")
        elif isinstance(view, Record):
            self.stream.write("\t".join(cell(v) for _, v in view.fields) + "\n")
        else:
            self.stream.write(view.text + "\n")

    def _rich(self, views: Sequence[View]) -> None:
        from rich.console import Console
        from rich.table import Table as RichTable

        # markup off: run data (rule names, reasons) may hold `[...]`, which is text, not rich markup
        console = Console(file=self.stream, width=self.width, highlight=False, soft_wrap=False, markup=False)
        for index, view in enumerate(views):
            if index:
                console.print()
            if isinstance(view, Message):
                console.print(view.text)
                continue
            if view.title:
                console.print(view.title, style="bold")
            if isinstance(view, Table):
                if not view.rows:
                    console.print(view.empty)
                    continue
                table = RichTable(box=None, pad_edge=False, show_edge=False, padding=(0, 1),
                                  header_style="bold")
                rows = [[cell(c) for c in row] for row in view.rows]
                for column, size in zip(view.columns, column_widths(view, self.width), strict=True):
                    table.add_column(column.title, overflow="ellipsis", no_wrap=True, width=size)
                for row in rows:
                    table.add_row(*row)
            else:
                table = RichTable.grid(padding=(0, 2))
                table.add_column(style="bold", no_wrap=True)
                table.add_column(overflow="fold")
                for label, value in view.fields:
                    table.add_row(label, cell(value))
            console.print(table)


def plain_text(views: Sequence[View], width: int = 80) -> str:
    """Aligned plain text for `table` output off a terminal; no line is wider than `width`."""
    blocks: list[str] = []
    for view in views:
        lines: list[str] = []
        if isinstance(view, Message):
            lines.append(view.text)
        else:
            if view.title:
                lines.append(view.title)
            if isinstance(view, Table):
                lines.extend(_table_lines(view, width) if view.rows else [view.empty])
            else:
                lines.extend(_record_lines(view, width))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n" if blocks else ""


def _fit(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    return text[: max(0, width - 1)] + "…" if width > 0 else ""


def column_widths(view: Table, width: int, gap: int = 2) -> list[int]:
    """Natural column widths, with flex columns trimmed one character at a time (widest first) to fit."""
    rows = [[cell(c) for c in row] for row in view.rows]
    widths = [max([len(col.title)] + [len(r[i]) for r in rows]) for i, col in enumerate(view.columns)]
    floors = [max(col.min_width, len(col.title)) if col.flex else widths[i]
              for i, col in enumerate(view.columns)]
    excess = sum(widths) + gap * (len(widths) - 1) - width
    while excess > 0:
        shrinkable = [i for i in range(len(widths)) if widths[i] > floors[i]]
        if not shrinkable:
            break
        widest = max(shrinkable, key=lambda i: widths[i])
        widths[widest] -= 1
        excess -= 1
    return widths


def _table_lines(view: Table, width: int) -> list[str]:
    gap = 2
    widths = column_widths(view, width, gap)
    lines = []
    for row in [[c.title for c in view.columns], *[[cell(c) for c in row] for row in view.rows]]:
        parts = [_fit(value, widths[i]).ljust(widths[i]) for i, value in enumerate(row)]
        lines.append(_fit((" " * gap).join(parts).rstrip(), width))
    return lines


def _record_lines(view: Record, width: int) -> list[str]:
    label_width = max((len(label) for label, _ in view.fields), default=0)
    lines = []
    for label, value in view.fields:
        prefix = f"{label}:".ljust(label_width + 2)
        text = cell(value)
        chunks = wrap_long(text, max(20, width - len(prefix)))
        lines.append(prefix + chunks[0])
        lines.extend(" " * len(prefix) + chunk for chunk in chunks[1:])
    return lines


def wrap_long(text: str, room: int) -> list[str]:
    """Cut `text` into lines of at most `room`, preferring to break after `/`, `,` or a space."""
    lines: list[str] = []
    while len(text) > room:
        cut = max(text.rfind(ch, 0, room) for ch in "/, ") + 1
        if cut < room // 4:
            cut = room
        lines.append(text[:cut].rstrip())
        text = text[cut:].lstrip(" ")
    return [*lines, text] if text or not lines else lines
