"""SQLite persistence (WAL): instances, history, inbox messages, activity work items and timers.

All access happens on the host's event-loop thread. Writers group their changes in ``transaction()`` so each
episode's effects (history, new work, timers, status) commit together or not at all.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

from devstack.host.history import Event, RuntimeStatus

SCHEMA = """
CREATE TABLE IF NOT EXISTS instances (
    instance_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    version TEXT,
    execution_id TEXT NOT NULL,
    status TEXT NOT NULL,
    input TEXT,
    output TEXT,
    custom_status TEXT,
    created_time TEXT NOT NULL,
    last_updated_time TEXT NOT NULL,
    parent TEXT,
    last_ts TEXT,
    wake INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS instances_created ON instances(created_time, instance_id);
CREATE TABLE IF NOT EXISTS history (
    instance_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (instance_id, seq)
);
CREATE TABLE IF NOT EXISTS inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    execution_id TEXT,
    event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_instance ON inbox(instance_id, id);
CREATE TABLE IF NOT EXISTS activities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    task_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    input TEXT
);
CREATE INDEX IF NOT EXISTS activities_instance ON activities(instance_id);
CREATE TABLE IF NOT EXISTS timers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    timer_id INTEGER NOT NULL,
    fire_at TEXT NOT NULL,
    due REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS timers_instance ON timers(instance_id);
"""


@dataclass
class Instance:
    """One orchestration instance row."""

    instance_id: str
    name: str
    version: str | None
    execution_id: str
    status: str
    input: str | None
    output: str | None
    custom_status: str | None
    created_time: str
    last_updated_time: str
    parent: dict[str, Any] | None = None
    last_ts: str | None = None
    wake: bool = False


@dataclass(frozen=True)
class InboxMessage:
    """A message waiting for the instance's next episode."""

    id: int
    instance_id: str
    execution_id: str | None
    event: Event


@dataclass(frozen=True)
class ActivityItem:
    """An activity (or built-in HTTP task) to run."""

    id: int
    instance_id: str
    execution_id: str
    task_id: int
    name: str
    input: str | None


@dataclass(frozen=True)
class TimerItem:
    """A durable timer: fires ``TimerFired`` into the inbox at ``due`` (epoch seconds)."""

    id: int
    instance_id: str
    execution_id: str
    timer_id: int
    fire_at: str
    due: float


@dataclass(frozen=True)
class InstanceFilter:
    """Which instances a listing or a purge selects; ``None`` fields do not filter.

    Times are stored-format text (``history.format_ts``), compared as text, inclusive at both ends.
    ``statuses`` is a set of runtime status names; an empty set matches nothing.
    """

    id_prefix: str | None = None
    created_from: str | None = None
    created_to: str | None = None
    statuses: frozenset[str] | None = None

    def restricted_to(self, statuses: frozenset[str]) -> InstanceFilter:
        """The same filter, further limited to ``statuses``."""
        kept = statuses if self.statuses is None else self.statuses & statuses
        return replace(self, statuses=kept)


class PageKey(NamedTuple):
    """Where a page of instances ends: listings are ordered by (created time, instance id)."""

    created_time: str
    instance_id: str


_INSTANCE_COLUMNS = (
    "instance_id, name, version, execution_id, status, input, output, custom_status, "
    "created_time, last_updated_time, parent, last_ts, wake"
)


# put_instance: the columns an update may change (in this order), then the two that identify the row
_CHANGING = (
    "name",
    "version",
    "execution_id",
    "status",
    "input",
    "output",
    "custom_status",
    "last_updated_time",
    "parent",
    "last_ts",
    "wake",
)
_UPDATE_INSTANCE = f"UPDATE instances SET {'=?, '.join(_CHANGING)}=? WHERE instance_id=?"
_REPLACE_INSTANCE = (
    f"INSERT OR REPLACE INTO instances ({', '.join(_CHANGING)}, instance_id, created_time) "
    f"VALUES ({', '.join('?' * (len(_CHANGING) + 2))})"
)


def _copy(inst: Instance) -> Instance:
    """A shallow copy of the row (as ``copy.copy``, without its generic protocol: this runs on every read)."""
    clone = object.__new__(Instance)
    clone.__dict__.update(inst.__dict__)
    return clone


def _instance(row: tuple[Any, ...]) -> Instance:
    values = list(row)
    values[10] = json.loads(values[10]) if values[10] else None
    values[12] = bool(values[12])
    return Instance(*values)


class StoreInUseError(Exception):
    """Another process holds the task hub database (another host on the same state dir)."""


class Store:
    """The task hub's SQLite database, held by this connection alone while it is open."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=1.0)
        # the host is the database's only user: holding the lock for the connection's lifetime spares every
        # transaction its file-lock system calls and the WAL index its shared memory (set before WAL mode)
        self.db.execute("PRAGMA locking_mode=EXCLUSIVE")
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA temp_store=MEMORY")  # savepoint journals stay in memory
            self.db.executescript(SCHEMA)  # the first write: from here on the lock is this connection's
        except sqlite3.OperationalError as exc:
            self.db.close()
            if "locked" not in str(exc):
                raise
            raise StoreInUseError(
                f"{path} is in use by another process (another host on this state dir?)"
            ) from exc
        # write-through caches (this connection is the only writer): instance rows, and histories of instances
        # that are still running; both are dropped on rollback
        self._instances: dict[str, Instance] = {}
        self._histories: dict[str, list[Event]] = {}
        self._depth = 0  # open transactions: 0 none, 1 a transaction, more: savepoints inside it

    def close(self) -> None:
        """Close the connection (checkpoints the WAL)."""
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic unit of work. Nested inside another, it is a savepoint: an error undoes only the inner
        unit's changes, and they become durable when the outermost transaction commits."""
        if self._depth:
            yield from self._savepoint()
            return
        self.db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            self._forget_cached()
            raise
        finally:
            self._depth = 0

    def _savepoint(self) -> Iterator[None]:
        name = f"unit{self._depth}"
        self.db.execute(f"SAVEPOINT {name}")
        self._depth += 1
        try:
            yield
        except BaseException:
            self.db.execute(f"ROLLBACK TO {name}")
            self._forget_cached()
            raise
        finally:
            self._depth -= 1
            self.db.execute(f"RELEASE {name}")

    def _forget_cached(self) -> None:
        """Drop the write-through caches (after a rollback they may hold changes that were undone)."""
        self._instances.clear()
        self._histories.clear()

    # instances -----------------------------------------------------------------------------------------
    def get_instance(self, instance_id: str) -> Instance | None:
        """The instance row (a copy), or None."""
        cached = self._instances.get(instance_id)
        if cached is not None:
            return _copy(cached)
        row = self.db.execute(
            f"SELECT {_INSTANCE_COLUMNS} FROM instances WHERE instance_id=?", (instance_id,)
        ).fetchone()
        if row is None:
            return None
        inst = _instance(row)
        self._instances[instance_id] = _copy(inst)
        return inst

    def put_instance(self, inst: Instance) -> None:
        """Insert or replace the instance row.

        A row this connection already holds (the cache knows it) with the same created time is updated in
        place: its indexes (instance id, created time) stay untouched, where a replace would delete and
        insert the row and both index entries again."""
        cached = self._instances.get(inst.instance_id)
        values = (
            inst.name,
            inst.version,
            inst.execution_id,
            inst.status,
            inst.input,
            inst.output,
            inst.custom_status,
            inst.last_updated_time,
            json.dumps(inst.parent) if inst.parent else None,
            inst.last_ts,
            int(inst.wake),
        )
        if cached is not None and cached.created_time == inst.created_time:
            self.db.execute(_UPDATE_INSTANCE, (*values, inst.instance_id))
        else:
            self.db.execute(_REPLACE_INSTANCE, (*values, inst.instance_id, inst.created_time))
        self._instances[inst.instance_id] = _copy(inst)
        if inst.status in RuntimeStatus.TERMINAL:
            self._histories.pop(inst.instance_id, None)

    def list_instances(
        self, where: InstanceFilter, after: PageKey | None = None, limit: int | None = None
    ) -> list[Instance]:
        """Instances matching ``where``, ordered by (created_time, instance_id), strictly after ``after``."""
        if where.statuses is not None and not where.statuses:
            return []
        clauses, params = _filter_sql(where)
        if after is not None:
            clauses.append("(created_time > ? OR (created_time = ? AND instance_id > ?))")
            params += [after.created_time, after.created_time, after.instance_id]
        sql = f"SELECT {_INSTANCE_COLUMNS} FROM instances"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY created_time, instance_id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [_instance(row) for row in self.db.execute(sql, params)]

    def delete_instance(self, instance_id: str) -> None:
        """Delete the instance and everything that belongs to it."""
        for table in ("instances", "history", "inbox", "activities", "timers"):
            self.db.execute(f"DELETE FROM {table} WHERE instance_id=?", (instance_id,))
        self._instances.pop(instance_id, None)
        self._histories.pop(instance_id, None)

    def clear_execution(self, instance_id: str) -> None:
        """Drop history, queued messages and timers (a fresh execution starts)."""
        for table in ("history", "inbox", "timers"):
            self.db.execute(f"DELETE FROM {table} WHERE instance_id=?", (instance_id,))
        self._histories[instance_id] = []

    def instances_to_wake(self) -> list[str]:
        """Instances with queued messages or a pending wake-up."""
        rows = self.db.execute(
            "SELECT DISTINCT instance_id FROM inbox UNION SELECT instance_id FROM instances WHERE wake=1"
        ).fetchall()
        return [r[0] for r in rows]

    # history ---------------------------------------------------------------------------------------------
    def history(self, instance_id: str) -> list[Event]:
        """The current execution's history in order (events are shared: do not mutate them)."""
        cached = self._histories.get(instance_id)
        if cached is not None:
            return list(cached)
        rows = self.db.execute("SELECT event FROM history WHERE instance_id=? ORDER BY seq", (instance_id,))
        events = [json.loads(r[0]) for r in rows]
        inst = self._instances.get(instance_id)
        if inst is not None and inst.status not in RuntimeStatus.TERMINAL:
            self._histories[instance_id] = list(events)
        return events

    def append_history(self, instance_id: str, events: list[Event]) -> None:
        """Append events after the last stored one."""
        cached = self._histories.get(instance_id)
        if cached is not None:
            last = len(cached) - 1
        else:
            (last,) = self.db.execute(
                "SELECT COALESCE(MAX(seq), -1) FROM history WHERE instance_id=?", (instance_id,)
            ).fetchone()
        self.db.executemany(
            "INSERT INTO history (instance_id, seq, event) VALUES (?,?,?)",
            [(instance_id, last + 1 + i, json.dumps(e)) for i, e in enumerate(events)],
        )
        if cached is not None:
            cached.extend(events)

    def replace_history(self, instance_id: str, events: list[Event]) -> None:
        """Rewrite the whole history (rewind)."""
        self.db.execute("DELETE FROM history WHERE instance_id=?", (instance_id,))
        self._histories.pop(instance_id, None)
        self.append_history(instance_id, events)

    # inbox -----------------------------------------------------------------------------------------------
    def enqueue(self, instance_id: str, event: Event, execution_id: str | None = None) -> None:
        """Queue a message for the instance's next episode."""
        self.db.execute(
            "INSERT INTO inbox (instance_id, execution_id, event) VALUES (?,?,?)",
            (instance_id, execution_id, json.dumps(event)),
        )

    def inbox(self, instance_id: str) -> list[InboxMessage]:
        """Queued messages in arrival order."""
        rows = self.db.execute(
            "SELECT id, instance_id, execution_id, event FROM inbox WHERE instance_id=? ORDER BY id",
            (instance_id,),
        )
        return [InboxMessage(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    def delete_messages(self, ids: list[int]) -> None:
        """Remove consumed or dropped messages."""
        self.db.executemany("DELETE FROM inbox WHERE id=?", [(i,) for i in ids])

    # activities ------------------------------------------------------------------------------------------
    def add_activity(
        self, instance_id: str, execution_id: str, task_id: int, name: str, input_text: str | None
    ) -> ActivityItem:
        """Store an activity work item."""
        cur = self.db.execute(
            "INSERT INTO activities (instance_id, execution_id, task_id, name, input) VALUES (?,?,?,?,?)",
            (instance_id, execution_id, task_id, name, input_text),
        )
        return ActivityItem(int(cur.lastrowid or 0), instance_id, execution_id, task_id, name, input_text)

    def delete_activity(self, item_id: int) -> bool:
        """Remove a finished work item; False if it was already gone."""
        return self.db.execute("DELETE FROM activities WHERE id=?", (item_id,)).rowcount > 0

    def activities(self) -> list[ActivityItem]:
        """All outstanding work items (to run again after a restart)."""
        rows = self.db.execute(
            "SELECT id, instance_id, execution_id, task_id, name, input FROM activities ORDER BY id"
        )
        return [ActivityItem(*row) for row in rows]

    # timers ----------------------------------------------------------------------------------------------
    def add_timer(
        self, instance_id: str, execution_id: str, timer_id: int, fire_at: str, due: float
    ) -> TimerItem:
        """Arm a durable timer."""
        cur = self.db.execute(
            "INSERT INTO timers (instance_id, execution_id, timer_id, fire_at, due) VALUES (?,?,?,?,?)",
            (instance_id, execution_id, timer_id, fire_at, due),
        )
        return TimerItem(int(cur.lastrowid or 0), instance_id, execution_id, timer_id, fire_at, due)

    def get_timer(self, row_id: int) -> TimerItem | None:
        """The timer row, or None if it fired, was cancelled or purged."""
        row = self.db.execute(
            "SELECT id, instance_id, execution_id, timer_id, fire_at, due FROM timers WHERE id=?", (row_id,)
        ).fetchone()
        return TimerItem(*row) if row else None

    def all_timers(self) -> list[TimerItem]:
        """Every armed timer."""
        rows = self.db.execute("SELECT id, instance_id, execution_id, timer_id, fire_at, due FROM timers")
        return [TimerItem(*r) for r in rows]

    def delete_timer(self, row_id: int) -> None:
        """Disarm a timer row."""
        self.db.execute("DELETE FROM timers WHERE id=?", (row_id,))

    def clear_timers(self, instance_id: str) -> None:
        """Disarm every timer of the instance."""
        self.db.execute("DELETE FROM timers WHERE instance_id=?", (instance_id,))

    def cancel_timers(self, instance_id: str, execution_id: str, timer_ids: list[int]) -> None:
        """Disarm cancelled timers of an execution."""
        self.db.executemany(
            "DELETE FROM timers WHERE instance_id=? AND execution_id=? AND timer_id=?",
            [(instance_id, execution_id, t) for t in timer_ids],
        )


def _filter_sql(where: InstanceFilter) -> tuple[list[str], list[Any]]:
    """SQL conditions and their parameters for a (non-empty) instance filter."""
    clauses: list[str] = []
    params: list[Any] = []
    if where.id_prefix:
        clauses.append("substr(instance_id, 1, ?) = ?")
        params += [len(where.id_prefix), where.id_prefix]
    if where.created_from:
        clauses.append("created_time >= ?")
        params.append(where.created_from)
    if where.created_to:
        clauses.append("created_time <= ?")
        params.append(where.created_to)
    if where.statuses:
        ordered = sorted(where.statuses)
        clauses.append(f"status IN ({','.join('?' * len(ordered))})")
        params += ordered
    return clauses, params
