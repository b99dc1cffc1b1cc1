"""A trial's results held as columns: one list per key.

A dashboard holds every result of every trial in memory (10,000 trials of 100 results is a
million rows). As dicts, each row costs its own dict and its own copies of the key strings
(about 1.6 kB for a dozen keys); as columns, a row costs a slot per key (about 0.4 kB), and a
learning curve is two columns as they are.

Example:
    >>> history = History()
    >>> history.extend([{"loss": 0.5, "training_iteration": 1}, {"training_iteration": 2}])
    >>> history.column("loss"), len(history)
    ([0.5, None], 2)
    >>> history.rows()
    [{'loss': 0.5, 'training_iteration': 1}, {'training_iteration': 2}]
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Mapping
from typing import Any, TypeGuard


def is_number(value: Any) -> TypeGuard[float]:
    """A finite int or float, not a bool."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)


_ABSENT: Any = type("Absent", (), {"__repr__": lambda self: "<absent>"})()
"""Where a row has no such key (a value may itself be None: a NaN, or a JSON null)."""


class History:
    """The rows of one result.json, in order, stored by column."""

    def __init__(self) -> None:
        self._columns: dict[str, list[Any]] = {}
        self._length = 0
        self.numeric_keys: set[str] = set()
        """Keys that hold a finite number in some row."""

    def __len__(self) -> int:
        return self._length

    def extend(self, rows: Iterable[Mapping[str, Any]]) -> None:
        # Column by column, not row by row: opening an experiment of a million results
        # extends histories by whole files (a third of the time row by row took).
        rows = list(rows)
        if not rows:
            return
        start = self._length
        keys: dict[str, None] = {}
        for row in rows:
            keys.update(dict.fromkeys(row))  # every key, in order of first appearance
        for key in keys:
            column = self._columns.get(key)
            if column is None:
                column = self._columns[sys.intern(key)] = [_ABSENT] * start
            column.extend([row.get(key, _ABSENT) for row in rows])
            if key not in self.numeric_keys and any(map(is_number, column[start:])):
                self.numeric_keys.add(key)
        missing = [_ABSENT] * len(rows)
        for key, column in self._columns.items():
            if key not in keys:
                column.extend(missing)
        self._length += len(rows)

    def column(self, key: str) -> list[Any]:
        """`key`'s value in each row (None where a row lacks it)."""
        column = self._columns.get(key)
        if column is None:
            return [None] * self._length
        return [None if v is _ABSENT else v for v in column]

    def row(self, index: int) -> dict[str, Any]:
        return {k: c[index] for k, c in self._columns.items() if c[index] is not _ABSENT}

    def rows(self) -> list[dict[str, Any]]:
        return [self.row(i) for i in range(self._length)]

    def last(self) -> dict[str, Any]:
        return self.row(self._length - 1) if self._length else {}
