"""A bounded, numpy-backed table of counters keyed by 64-bit hashes (no per-key Python work).

Rows are kept sorted by key; a batch is grouped (``np.unique``), matched with ``searchsorted`` and added in
one step, new keys are appended and the table re-sorted. Past ``cap`` rows the table keeps the ``cap // 2``
rows with the largest value in the ``weight`` column (``evicted`` becomes True): a heavy hitter stays,
small entries may go. Identifying columns (addresses, ports) ride along as ``fields``.
"""

from __future__ import annotations

import numpy as np

_M1, _M2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9)


def hash_columns(*columns: np.ndarray) -> np.ndarray:
    """A 64-bit mix of equal-length integer columns (splitmix-style; collisions are negligible here)."""
    with np.errstate(over="ignore"):
        acc = np.full(len(columns[0]), 0x243F6A8885A308D3, dtype=np.uint64)
        for column in columns:
            acc = (acc ^ column.astype(np.uint64)) * _M1
            acc ^= acc >> np.uint64(31)
            acc *= _M2
            acc ^= acc >> np.uint64(29)
    return acc


class CountTable:
    """Counters (int64 columns) per key, plus the identifying ``fields`` of each key."""

    def __init__(self, field_names: tuple[str, ...], counter_count: int, cap: int, weight: int,
                 first_columns: tuple[int, ...] = ()) -> None:
        """``first_columns`` keep the value of a key's first row instead of a sum (e.g. a first direction)."""
        self.field_names = field_names
        self.keys = np.zeros(0, dtype=np.uint64)
        self.fields = {name: np.zeros(0, dtype=np.uint64) for name in field_names}
        self.counters = np.zeros((0, counter_count), dtype=np.int64)
        self.cap, self.weight = cap, weight
        self.first_columns = list(first_columns)
        self.evicted = False

    def __len__(self) -> int:
        return len(self.keys)

    def add(self, keys: np.ndarray, fields: dict[str, np.ndarray], counters: np.ndarray) -> None:
        """Add per-row ``counters`` (shape rows x columns) under per-row ``keys``."""
        if len(keys) == 0:
            return
        unique, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        sums = np.empty((len(unique), self.counters.shape[1]), dtype=np.int64)
        for column in range(sums.shape[1]):  # float sums are exact: one batch stays far below 2**53
            sums[:, column] = np.bincount(inverse, weights=counters[:, column], minlength=len(unique))
        if self.first_columns:
            sums[:, self.first_columns] = counters[first][:, self.first_columns]
        self._merge(unique, {name: fields[name][first].astype(np.uint64) for name in self.field_names}, sums)

    def _merge(self, unique: np.ndarray, fields: dict[str, np.ndarray], sums: np.ndarray) -> None:
        place = np.searchsorted(self.keys, unique)
        found = place < len(self.keys)
        found[found] = self.keys[place[found]] == unique[found]
        if self.first_columns:
            sums = sums.copy()
            sums[np.ix_(found, np.asarray(self.first_columns))] = 0  # a known key keeps its first value
        self.counters[place[found]] += sums[found]
        new = ~found
        if new.any():
            keys = np.concatenate([self.keys, unique[new]])
            order = np.argsort(keys, kind="stable")
            self.keys = keys[order]
            for name in self.field_names:
                self.fields[name] = np.concatenate([self.fields[name], fields[name][new]])[order]
            self.counters = np.concatenate([self.counters, sums[new]])[order]
        if len(self.keys) > self.cap:
            self._evict()

    def _evict(self) -> None:
        keep = np.sort(np.argpartition(-self.counters[:, self.weight], self.cap // 2)[: self.cap // 2])
        self.keys = self.keys[keep]
        self.counters = self.counters[keep]
        for name in self.field_names:
            self.fields[name] = self.fields[name][keep]
        self.evicted = True

    def merge(self, other: CountTable) -> None:
        """Add every row of ``other`` (same layout) into this table."""
        if len(other):
            self._merge(other.keys, other.fields, other.counters)
        self.evicted |= other.evicted

    def top(self, column: int | np.ndarray, count: int) -> list[int]:
        """Row indexes of the ``count`` largest values of ``column`` (an index or per-row values)."""
        values = self.counters[:, column] if isinstance(column, int) else column
        if len(values) > count:
            candidates = np.argpartition(-values, count)[:count]
        else:
            candidates = np.arange(len(values))
        return candidates[np.argsort(-values[candidates], kind="stable")].tolist()

    def row_fields(self, row: int) -> dict[str, int]:
        """The identifying fields of one row, as Python ints."""
        return {name: int(self.fields[name][row]) for name in self.field_names}
