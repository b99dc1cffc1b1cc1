"""What each trial output file gets, and how: one writer per trial and file.

A writer buffers what the event loop gives it and writes it in `write()`, in one call, handing it
to the operating system (no fsync: crash safety comes from the experiment state and the rewind
of `tuner.output._rewind`, which cuts a file back to what the state counts and drops a torn
last line or record). `close()` writes and closes the file; a later `write()` opens it again,
appending, from what the writer remembers (the CSV header, the event file's name): the loggers
close the files of paused trials when too many are open, and they are opened again, without
being read, when the trial writes. A writer reads its file once at most: the CSV header of a
trial that ran before (in an earlier process, or before a rewind).

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp(), "result.json")
    >>> lines = JsonLines(str(path))
    >>> lines.add({"loss": 0.5})  # how many wait to be written
    1
    >>> lines.close()
    >>> path.read_text()
    '{"loss": 0.5}\\n'
"""

from __future__ import annotations

import csv
import logging
import math
import operator
import os
import time
from collections.abc import Mapping
from typing import IO, Any

from tuner.output._encode import SCALAR_TYPES, all_scalars, flatten, is_flat, plain, to_json
from tuner.output._files import open_creating
from tuner.output._tb_events import EventFile, ScalarLayout
from tuner.output._tbx import tbx

logger = logging.getLogger(__name__)

# Result fields that are not metrics worth a TensorBoard curve (as in Ray Tune).
_TB_EXCLUDED = frozenset({"config", "pid", "timestamp", "training_iteration"})
_TB_TAG_PREFIX = "tune/"


class JsonLines:
    """``result.json``: one JSON object per result and line."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.file: IO[str] | None = open_creating(path, "a")
        self.lines: list[str] = []

    def add(self, result: Mapping[str, Any]) -> int:
        """Buffer `result`; how many are buffered now."""
        # Encoded now, not in write(): a value the trainable changes later (in-process, a list
        # it reported) is written as it was.
        lines = self.lines
        lines.append(to_json(result))
        return len(lines)

    def write(self) -> None:
        if self.lines:
            if self.file is None:
                self.file = open_creating(self.path, "a")
            self.file.write("\n".join(self.lines) + "\n")
            self.lines.clear()
            self.file.flush()

    def close(self) -> None:
        self.write()
        if self.file is not None:
            self.file.close()
            self.file = None


class CsvRows:
    """``progress.csv``: one row per result, nested keys flattened with ``/``.

    The header comes from the file (a resumed trial's) or the first result; a later result with
    new keys widens it (the file is rewritten once with the new columns, earlier rows left
    blank there).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.file: IO[str] | None = open_creating(path, "a+")
        self.fieldnames: list[str] = []
        if self.file.tell():  # a trial's earlier rows (after a restore or a rewind)
            self.file.seek(0)
            self.fieldnames = next(csv.reader(self.file), [])
            self.file.seek(0, os.SEEK_END)
        self.rows: list[Mapping[str, Any]] = []

    def add(self, result: Mapping[str, Any]) -> int:
        """Buffer `result` (flattened in write()); how many are buffered now."""
        # A copy: a callback called after this logger may still change the result.
        rows = self.rows
        rows.append(result.copy() if type(result) is dict else dict(result))
        return len(rows)

    def write(self) -> None:
        if not self.rows:
            return
        plain_values = SCALAR_TYPES.issuperset
        self.rows = [r if plain_values(map(type, r.values())) else flatten(r) for r in self.rows]
        known = set(self.fieldnames)
        new_keys: list[str] = []
        for row in self.rows:
            if not known.issuperset(row):
                for key in row:
                    if key not in known:
                        known.add(key)
                        new_keys.append(key)
        if new_keys and self.fieldnames:
            self._widen(self.fieldnames + new_keys)
        file = self.file
        if file is None:
            file = self.file = open_creating(self.path, "a")
        writer = csv.writer(file)
        if new_keys and not self.fieldnames:
            self.fieldnames = new_keys
            writer.writerow(new_keys)
        width = len(self.fieldnames)
        if width and all(len(row) == width for row in self.rows):  # every column set: common
            get = operator.itemgetter(*self.fieldnames)
            rows: Any = map(get, self.rows) if width > 1 else ([get(row)] for row in self.rows)
        else:
            rows = ([row.get(key, "") for key in self.fieldnames] for row in self.rows)
        writer.writerows(rows)
        self.rows.clear()
        file.flush()

    def close(self) -> None:
        self.write()
        if self.file is not None:
            self.file.close()
            self.file = None

    def _widen(self, fieldnames: list[str]) -> None:
        # Rare: a result brought new keys. Rewrite the file once rather than lose columns.
        logger.debug("%s: new columns %s, rewriting", self.path, fieldnames[len(self.fieldnames) :])
        if self.file is not None:
            self.file.close()
        tmp = f"{self.path}.tmp-widen"
        with (
            open(self.path, encoding="utf-8", newline="") as old,
            open(tmp, "w", encoding="utf-8", newline="") as new,
        ):
            reader = csv.reader(old)
            next(reader, None)
            writer = csv.writer(new)
            writer.writerow(fieldnames)
            padding = [""] * (len(fieldnames) - len(self.fieldnames))
            writer.writerows(row + padding for row in reader)
        os.replace(tmp, self.path)
        self.fieldnames = fieldnames
        self.file = None  # opened again, on the new file, by write()


class TensorBoardEvents:
    """A TensorBoard event file: one event per result holding its numeric values, and the
    hyperparameters when the trial ends.

    Every numeric value of a result (nested keys flattened with ``/``) is a scalar under the
    tag ``tune/<key>`` at step ``training_iteration`` (else the count of results). A trial's
    results mostly have the same keys, in the same order, with values of the same types: for
    those the event is built from a `ScalarLayout` made once.
    """

    def __init__(self, directory: str, config: Mapping[str, Any]) -> None:
        self.events = EventFile(directory)
        self.config = config
        self.results = 0
        self.pending_results: list[tuple[int, Mapping[str, Any]]] = []
        self.last_result: tuple[int, Mapping[str, Any]] | None = None
        self._shape: tuple[tuple[str, ...], tuple[type, ...]] | None = None
        self._layout: _Layout | None = None

    def add(self, result: Mapping[str, Any]) -> int:
        """Buffer `result` (an event in write()); how many are buffered now."""
        self.results += 1
        # A copy: a callback called after this logger may still change the result.
        pending = self.pending_results
        pending.append((self.results, result.copy() if type(result) is dict else dict(result)))
        return len(pending)

    def write(self) -> None:
        if self.pending_results:
            now = time.time()
            encoded: list[bytes] = []
            for count, result in self.pending_results:
                shape = (tuple(result), tuple(map(type, result.values())))
                if shape != self._shape:
                    self._shape, self._layout = shape, _Layout.of(result)
                layout = self._layout
                if layout is not None:
                    try:
                        encoded.append(layout.encode(count, result, now))
                        continue
                    except OverflowError:  # beyond float32: written as an infinity below
                        pass
                self.events.write_encoded(encoded)
                encoded = []
                step, walltime, scalars = _scalars(count, result)
                self.events.write_scalars(walltime if walltime is not None else now, step, scalars)
            self.events.write_encoded(encoded)
            self.last_result = self.pending_results[-1]
            self.pending_results.clear()
        self.events.flush()

    def close(self) -> None:
        self.write()
        self.events.close()

    def write_hparams(self) -> None:
        hparams = tbx()["tensorboardX.summary"].hparams

        hparam_dict = {}
        for key, value in flatten(self.config).items():
            value = plain(value)
            if value is None:
                continue
            if not isinstance(value, (bool, int, float, str)):
                value = str(value)
            hparam_dict[key] = value
        if not hparam_dict:
            return
        Event = tbx()["tensorboardX.proto.event_pb2"].Event

        last = _scalars(*self.last_result)[2] if self.last_result is not None else []
        metric_dict = {tag: value for tag, value in last if math.isfinite(value)}
        for summary in hparams(hparam_dict, metric_dict):
            self.events.write_event(Event(wall_time=time.time(), summary=summary))


def _scalars(
    count: int, result: Mapping[str, Any]
) -> tuple[int, float | None, list[tuple[str, float]]]:
    """A result's step, wall time and numeric values as TensorBoard scalars."""
    step = plain(result.get("training_iteration"))
    if not isinstance(step, int) or isinstance(step, bool):
        step = count
    walltime = plain(result.get("timestamp"))
    if not isinstance(walltime, (int, float)) or isinstance(walltime, bool):
        walltime = None
    scalars = []
    for key, value in (result if is_flat(result) else flatten(result)).items():
        kind = type(value)
        if kind is not float and kind is not int:  # fast path for the common types
            value = plain(value)
            if not isinstance(value, (int, float)):
                continue
        if key not in _TB_EXCLUDED and not key.startswith("config/"):
            try:
                scalars.append((_TB_TAG_PREFIX + key, float(value)))
            except OverflowError:  # an int beyond any float
                scalars.append((_TB_TAG_PREFIX + key, math.copysign(math.inf, value)))
    return step, walltime, scalars


_NUMBERS = frozenset({float, int, bool})


class _Layout:
    """Where the scalars of results of one shape (keys, and value types) are, and how they are
    encoded; None from `of` for results `_scalars` must look at (nested, numpy values)."""

    def __init__(self, keys: list[str], *, has_step: bool, has_walltime: bool) -> None:
        self._get = operator.itemgetter(*keys) if len(keys) > 1 else None
        self._keys = keys
        self._layout = ScalarLayout([_TB_TAG_PREFIX + key for key in keys])
        self._has_step, self._has_walltime = has_step, has_walltime

    @classmethod
    def of(cls, result: Mapping[str, Any]) -> _Layout | None:
        if not all_scalars(result):
            return None
        keys = [
            key for key, value in result.items()
            if type(value) in _NUMBERS and key not in _TB_EXCLUDED and not key.startswith("config/")
        ]
        return cls(
            keys,
            has_step=type(result.get("training_iteration")) is int,
            has_walltime=type(result.get("timestamp")) in (int, float),
        )

    def encode(self, count: int, result: Mapping[str, Any], now: float) -> bytes:
        if self._get is not None:
            values = self._get(result)
        else:
            values = tuple(result[key] for key in self._keys)
        step = result["training_iteration"] if self._has_step else count
        walltime = result["timestamp"] if self._has_walltime else now
        return self._layout.encode(walltime, step, values)
