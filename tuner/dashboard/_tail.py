"""Following a file of JSON lines (a trial's ``result.json``) as it grows, one piece at a time.

`LineTail.poll` reads only the bytes appended since the last poll: it keeps the offset of the
end of the last complete line it parsed, and a short anchor (the bytes just before that
offset). A last line without its newline is left for the next poll (the writer has not
finished it). A file that shrank (a restore cut it back, see `tuner.output._rewind`), was
replaced by another one (a new inode on a local disk, or bytes before the offset that no
longer match the anchor), or vanished is read again from its start, and the poll says so: the
caller drops what it had and takes the rows it is given.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from tuner.analysis._result import flatten

if TYPE_CHECKING:
    import fsspec

_ANCHOR_BYTES = 64


@dataclass(frozen=True)
class Poll:
    """What one poll found.

    Attributes:
        rows: The complete lines read this time, parsed and flattened (keys joined with "/");
            lines that are not a JSON object are skipped, as `Result.metrics_dataframe` does.
        reset: The file was read from its start again (it shrank, was replaced or removed):
            `rows` is then the whole file, and earlier rows are void.
    """

    rows: list[dict[str, Any]] = field(default_factory=list)
    reset: bool = False

    @property
    def changed(self) -> bool:
        return self.reset or bool(self.rows)


def clean_row(row: dict[str, Any]) -> dict[str, Any]:
    """`row` flattened, NaN and infinities as None (JSON, as browsers parse it, has neither)."""
    flat = flatten(row)
    for key, value in flat.items():
        if isinstance(value, float) and not math.isfinite(value):
            flat[key] = None
    return flat


def _parse(data: bytes) -> list[dict[str, Any]]:
    rows = []
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError:
            try:  # NaN and Infinity, which the standard library writes and orjson refuses
                row = json.loads(line)
            except ValueError:  # a torn line (a crash mid-write): skipped, as analysis does
                continue
            if isinstance(row, dict):
                rows.append(clean_row(row))
            continue
        if isinstance(row, dict):
            rows.append(flatten(row))  # orjson reads no NaN or infinity: nothing to clean
    return rows


class LineTail:
    """The appended lines of one file on a local disk or any fsspec filesystem.

    Args:
        fs: The filesystem, or None for the local disk (read with `os` directly: a stat and a
            seek, no fsspec layers, so that polling thousands of files stays cheap).
        path: The file.

    Attributes:
        bytes_read: Every byte read from the file so far (tests check that a poll after an
            append reads only what was appended).
        resets: How many times the file was read again from its start.
    """

    def __init__(self, fs: fsspec.AbstractFileSystem | None, path: str) -> None:
        self._fs = fs
        self.path = path
        self.offset = 0
        self._anchor = b""
        self._identity: tuple[int, int] | None = None
        self.bytes_read = 0
        self.resets = 0

    def poll(self, known_size: int | None = None) -> Poll:
        """Read what was appended since the last poll (see the module docstring).

        Args:
            known_size: The file's size as a listing of its folder just said (-1: not there),
                which saves asking for it (a request on object stores).
        """
        if known_size is None:
            found = self._stat()
        else:
            found = None if known_size < 0 else (known_size, (0, 0))
        if found is None:
            if self.offset == 0 and not self._anchor:
                return Poll()
            self._restart()
            return Poll(reset=True)
        size, identity = found
        reset = False
        if size < self.offset or (self._identity is not None and identity != self._identity):
            self._restart()
            reset = True
        self._identity = identity
        if size == self.offset:
            return Poll(reset=reset)
        start = self.offset - len(self._anchor)
        data = self._read(start, size)
        if data[: len(self._anchor)] != self._anchor:
            # Not the bytes read last time: another file now (replaced with a longer one).
            self._restart()
            reset = True
            data = self._read(0, size)
        else:
            data = data[len(self._anchor):]
        end = data.rfind(b"\n") + 1  # a last line without its newline waits for the next poll
        complete = data[:end]
        if complete:
            self.offset += len(complete)
            self._anchor = (self._anchor + complete)[-_ANCHOR_BYTES:]
        return Poll(rows=_parse(complete), reset=reset)

    def _restart(self) -> None:
        self.offset = 0
        self._anchor = b""
        self._identity = None
        self.resets += 1

    def _stat(self) -> tuple[int, tuple[int, int]] | None:
        """(size, identity) of the file, None if it is not there."""
        if self._fs is None:
            try:
                st = os.stat(self.path)
            except (FileNotFoundError, NotADirectoryError):
                return None
            return st.st_size, (st.st_dev, st.st_ino)
        try:
            info = self._fs.info(self.path)
        except FileNotFoundError:
            return None
        return int(info.get("size") or 0), (0, 0)

    def _read(self, start: int, end: int) -> bytes:
        if self._fs is None:
            with open(self.path, "rb") as file:
                file.seek(start)
                data = file.read(end - start)
        else:
            data = self._fs.cat_file(self.path, start=start, end=end)
        self.bytes_read += len(data)
        return data
