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
    '{"loss":0.5}\\n'
"""

from __future__ import annotations

import csv
import logging
import math
import operator
import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import IO, Any

import orjson

from tuner.output._encode import SCALAR_TYPES, all_scalars, flatten, is_flat, plain, to_json
from tuner.output._file_thread import in_background
from tuner.output._files import open_creating
from tuner.output._tb_events import EventFile, ScalarLayout, encode_scalars
from tuner.output._tb_hparams import hparams_events

logger = logging.getLogger(__name__)

# Result fields that are not metrics worth a TensorBoard curve (as in Ray Tune).
_TB_EXCLUDED = frozenset({"config", "pid", "timestamp", "training_iteration"})
_TB_TAG_PREFIX = "tune/"


class JsonLines:
    """``result.json``: one JSON object per result and line."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._file: IO[str] | Future[IO[str]] | None = in_background(open_creating, path, "a")
        self.lines: list[str] = []

    @property
    def file(self) -> IO[str] | None:
        """The open file (once it is made, on the output files' thread), None once closed."""
        if isinstance(self._file, Future):
            self._file = self._file.result()  # what creating it raised, if it failed
        return self._file

    def add(self, result: Mapping[str, Any]) -> int:
        """Buffer `result`; how many are buffered now."""
        # Encoded now, not in write(): a value the trainable changes later (in-process, a list
        # it reported) is written as it was.
        lines = self.lines
        lines.append(to_json(result))
        return len(lines)

    def write(self) -> None:
        if self.lines:
            file = self.file
            if file is None:
                file = self._file = open_creating(self.path, "a")
            file.write("\n".join(self.lines) + "\n")
            self.lines.clear()
            file.flush()

    def close(self) -> None:
        self.write()
        file = self.file
        if file is not None:
            file.close()
            self._file = None


class CsvRows:
    """``progress.csv``: one row per result, nested keys flattened with ``/``.

    The header comes from the file (a resumed trial's) or the first result; a later result with
    new keys widens it (the file is rewritten once with the new columns, earlier rows left
    blank there). A result with the header's keys and plain values (the common case) is kept
    as its values in header order; others are kept whole and lined up in `write()`.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.fieldnames: list[str] = []
        self._header_written = False
        self._file: IO[str] | Future[IO[str]] | None
        if not os.path.exists(path):  # mostly: made on the output files' thread
            self._file = in_background(open_creating, path, "a+")
        else:
            file = self._file = open_creating(path, "a+")
            if file.tell():  # a trial's earlier rows (after a restore or a rewind)
                file.seek(0)
                self.fieldnames = next(csv.reader(file), [])
                file.seek(0, os.SEEK_END)
                self._header_written = True
        self.rows: list[Mapping[str, Any] | tuple[Any, ...]] = []
        """Rows to write: a result's values in header order, or the result itself."""
        self._columns: Callable[[Mapping[str, Any]], tuple[Any, ...]] | None = None
        self._header(self.fieldnames)

    @property
    def file(self) -> IO[str] | None:
        """The open file (once it is made, on the output files' thread), None once closed."""
        if isinstance(self._file, Future):
            self._file = self._file.result()  # what creating it raised, if it failed
        return self._file

    def _header(self, fieldnames: list[str]) -> None:
        self.fieldnames = fieldnames
        # An itemgetter of one key returns the value, not a tuple: such rows take the long way.
        self._columns = operator.itemgetter(*fieldnames) if len(fieldnames) > 1 else None

    def add(self, result: Mapping[str, Any]) -> int:
        """Buffer `result`; how many are buffered now."""
        rows = self.rows
        plain_values = SCALAR_TYPES.issuperset
        if not self.fieldnames and not rows and plain_values(map(type, result.values())):
            self._header(list(result))  # the first result's keys, written with the first rows
        columns = self._columns
        if columns is not None and len(result) == len(self.fieldnames):
            try:
                values = columns(result)
            except KeyError:  # other keys than the header's
                pass
            else:
                if plain_values(map(type, values)):
                    rows.append(values)  # a snapshot: a later callback may change the result
                    return len(rows)
        rows.append(result.copy() if type(result) is dict else dict(result))
        return len(rows)

    def write(self) -> None:
        if not self.rows:
            return
        rows: list[Any] = self.rows
        if not all(type(row) is tuple for row in rows):
            rows = self._lined_up(rows)
        rows = floats_as_text(rows)
        file = self.file  # after `_lined_up`, which may have rewritten it with new columns
        if file is None:
            file = self._file = open_creating(self.path, "a")
        writer = csv.writer(file)
        if not self._header_written and self.fieldnames:
            writer.writerow(self.fieldnames)
            self._header_written = True
        writer.writerows(rows)
        self.rows.clear()
        file.flush()

    def _lined_up(self, rows: list[Any]) -> list[Any]:
        """`rows` as sequences in header order: results flattened, the header widened first
        when they bring new keys."""
        plain_values = SCALAR_TYPES.issuperset
        results = [
            row if type(row) is tuple or plain_values(map(type, row.values())) else flatten(row)
            for row in rows
        ]
        known = set(self.fieldnames)
        new_keys: list[str] = []
        for row in results:
            if type(row) is not tuple and not known.issuperset(row):
                for key in row:
                    if key not in known:
                        known.add(key)
                        new_keys.append(key)
        old_width = len(self.fieldnames)
        if new_keys and self._header_written:
            self._widen(self.fieldnames + new_keys)
        elif new_keys:
            self._header(self.fieldnames + new_keys)
        fieldnames = self.fieldnames
        padding = ("",) * (len(fieldnames) - old_width)  # for values kept under the old header
        return [
            (row + padding if padding else row)
            if type(row) is tuple
            else [row.get(key, "") for key in fieldnames]
            for row in results
        ]

    def close(self) -> None:
        self.write()
        file = self.file
        if file is not None:
            file.close()
            self._file = None

    def _widen(self, fieldnames: list[str]) -> None:
        # Rare: a result brought new keys. Rewrite the file once rather than lose columns.
        logger.debug("%s: new columns %s, rewriting", self.path, fieldnames[len(self.fieldnames) :])
        file = self.file
        if file is not None:
            file.close()
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
        self._header(fieldnames)
        self._file = None  # opened again, on the new file, by write()


def floats_as_text(rows: list[Any]) -> list[Any]:
    """`rows` with the values of their all-float columns as text, formatted by orjson.

    The csv module writes a float as its `repr`, which is most of what a row costs; orjson
    writes the shortest text that reads back as the same float (``0.0001`` for ``1e-04``,
    ``1e16`` for ``1e+16``) several times faster. A column with another type in it, or with a
    NaN or an infinity (which orjson writes as ``null``), is left to csv.

    Example:
        >>> floats_as_text([(0.5, 1, "a"), (1e-05, 2, "b")])
        [('0.5', 1, 'a'), ('0.00001', 2, 'b')]
    """
    if not rows:
        return rows
    columns: list[Any] = list(zip(*rows, strict=True))
    formatted = False
    for index, column in enumerate(columns):
        if type(column[0]) is float and set(map(type, column)) == {float}:
            text = orjson.dumps(column)
            if b"null" not in text:
                columns[index] = text[1:-1].decode().split(",")
                formatted = True
    return list(zip(*columns, strict=True)) if formatted else rows


class TensorBoardEvents:
    """A TensorBoard event file: one event per result holding its numeric values, and the
    hyperparameters when the trial ends.

    Every numeric value of a result (nested keys flattened with ``/``) is a scalar under the
    tag ``tune/<key>`` at step ``training_iteration`` (else the count of results). A trial's
    results mostly have the same keys, in the same order, with values of the same types: for
    those the event is built from a `ScalarLayout` made once. Events are encoded as results
    come (a callback called after this logger may still change a result) and written in
    `write()`.
    """

    def __init__(
        self, directory: str, config: Mapping[str, Any], now: Callable[[], float] = time.time
    ) -> None:
        self.now = now
        """The Unix time for what has no timestamp of its own: the file's first event, the
        hparams summary, a result without ``timestamp``."""
        self.events = EventFile(directory, now())
        self.config = config
        self.results = 0
        self.last_result: tuple[int, Mapping[str, Any]] | None = None
        self._shape: tuple[tuple[str, ...], tuple[type, ...]] | None = None
        self._layout: _Layout | None = None

    def add(self, result: Mapping[str, Any]) -> int:
        """Encode `result` as an event; how many events wait to be written now."""
        self.results += 1
        count = self.results
        self.last_result = (count, result.copy() if type(result) is dict else dict(result))
        shape = (tuple(result), tuple(map(type, result.values())))
        if shape != self._shape:
            self._shape, self._layout = shape, _Layout.of(result)
        layout = self._layout
        if layout is not None:
            try:
                return self.events.add(layout.encode(count, result, self.now))
            except OverflowError:  # beyond float32: written as an infinity below
                pass
        step, walltime, scalars = _scalars(count, result)
        return self.events.add(
            encode_scalars(walltime if walltime is not None else self.now(), step, scalars)
        )

    def write(self) -> None:
        self.events.flush()

    def close(self) -> None:
        self.write()
        self.events.close()

    def write_hparams(self) -> None:
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
        last = _scalars(*self.last_result)[2] if self.last_result is not None else []
        metrics = {tag: value for tag, value in last if math.isfinite(value)}
        self.events.write_encoded(hparams_events(hparam_dict, metrics, wall_time=self.now()))


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

    def encode(self, count: int, result: Mapping[str, Any], now: Callable[[], float]) -> bytes:
        if self._get is not None:
            values = self._get(result)
        else:
            values = tuple(result[key] for key in self._keys)
        step = result["training_iteration"] if self._has_step else count
        walltime = result["timestamp"] if self._has_walltime else now()
        return self._layout.encode(walltime, step, values)
