"""Cooldown from the first alert: which run an alert belongs to, and which of two racing runs yields.

A run covers every alert for its target that fired less than the cooldown before or after the run's first
alert. Runs are found by listing the target's instances (one lookup); two deliveries that both started a run
settle it after the fact: the run with the earlier first alert (then the smaller instance id) keeps going, the
other is terminated. The reasoning is in docs/ARCHITECTURE.md ("Cooldown from the first alert").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

YIELDED = "Terminated"  # a run that yielded to an earlier one no longer covers anything


@dataclass(frozen=True)
class SeenRun:
    """One of the target's runs as a status listing shows it: id, first alert's time, runtime status."""

    instance_id: str
    first_alert: datetime
    status: str

    @property
    def priority(self) -> tuple[datetime, str]:
        """Lower wins: the earlier first alert, then the smaller id (an order every delivery agrees on)."""
        return self.first_alert, self.instance_id


def first_alert_of(raw_input: Any) -> datetime | None:
    """The first alert's time recorded in a run's input (``window_start``), or None if it is not ours."""
    value = raw_input
    for _ in range(2):  # the management API may hand the input back JSON-encoded
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return None
    if not isinstance(value, dict) or not isinstance(value.get("window_start"), str):
        return None
    try:
        moment = datetime.fromisoformat(value["window_start"])
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def overlapping(runs: list[SeenRun], fired_at: datetime, cooldown_seconds: int) -> list[SeenRun]:
    """The live (not yielded) runs whose first alert is less than the cooldown away from ``fired_at``,
    best priority first."""
    limit = timedelta(seconds=cooldown_seconds)
    close = [r for r in runs if r.status != YIELDED and abs(r.first_alert - fired_at) < limit]
    return sorted(close, key=lambda r: r.priority)


def covering_run(runs: list[SeenRun], fired_at: datetime, cooldown_seconds: int) -> SeenRun | None:
    """The run an alert fired at ``fired_at`` belongs to, or None when it must start one."""
    close = overlapping(runs, fired_at, cooldown_seconds)
    return close[0] if close else None


@dataclass(frozen=True)
class Settlement:
    """After starting ``mine``: the run it yields to (None = it keeps going) and the runs it ends."""

    winner: SeenRun | None
    to_terminate: tuple[SeenRun, ...]


def settle(mine: SeenRun, runs: list[SeenRun], cooldown_seconds: int) -> Settlement:
    """Decide a just-started run against the runs listed after its start.

    Every live run within the cooldown of ``mine`` competes; the best priority wins. If that is ``mine``,
    the others lose (they may not have seen ``mine``: ``mine`` ends them). Otherwise ``mine`` yields.
    """
    close = overlapping(runs, mine.first_alert, cooldown_seconds)
    others = [r for r in close if r.instance_id != mine.instance_id]
    better = [r for r in others if r.priority < mine.priority]
    if better:
        return Settlement(better[0], (mine,))
    return Settlement(None, tuple(others))
