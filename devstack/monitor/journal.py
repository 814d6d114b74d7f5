"""The monitor's notification journal: one JSON object per delivered (or failed) notification, per line.

The evaluator appends to it (see `JOURNAL_ENV`); the demo and end-to-end tests read it to follow an alert.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def journal_path(state_dir: Path) -> Path:
    """Where the stack's monitor writes its notifications (one JSON object per line)."""
    return state_dir / "monitor" / "notifications.jsonl"


def read_journal(path: Path) -> list[dict[str, Any]]:
    """Every complete notification line so far (a half-written last line is skipped)."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return []
    entries = []
    for line in lines:
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue
    return entries
