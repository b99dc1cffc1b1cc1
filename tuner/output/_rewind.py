"""Cutting a trial's output files back to the results it resumes from.

A trial that resumes from a checkpoint (after a pause, a failure, or a restore after a crash)
reports again every result that came after that checkpoint. Its output files may hold some of
those already: they reach storage (a flush, an upload, a logger closing) before any state save
counts them. So before the trial runs again its files are cut back to the results up to its
checkpoint, and each result then appears exactly once, in order:

- ``result.json``: the first `keep` lines; a line cut short by a crash (disk full, power loss)
  is dropped with everything after it.
- ``progress.csv``: the header and the first `keep` rows; a cut-short or wrong-width row too.
- TensorBoard event files: the first `keep` result events (one per result, in file order);
  hyperparameter summaries, written when a trial ends, are dropped as well, and the last
  record of a file cut short by a crash. TensorBoard's own remedy for rewinds, a
  ``SessionLog.START`` purge, is honoured by some of its readers only; rewritten files read
  right in all of them.

Files are replaced atomically (a temporary sibling, then a rename), so a crash here leaves the
old file or the new one. A file that needs no change is not rewritten. Loggers of this process
that hold the files open write what they buffered and close them first
(`tuner.output._open_files`).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from tuner.output import _open_files
from tuner.output._files import EVENT_FILE_PREFIX, PROGRESS_FILE, RESULT_FILE

logger = logging.getLogger(__name__)

_HPARAMS_TAG_PREFIX = "_hparams_/"


@dataclass(frozen=True)
class KeepPoint:
    """How far a trial's output files are kept.

    Attributes:
        results: Keep this many results; None when the saved state did not count them (an old
            state), and then `iteration` decides.
        iteration: The `training_iteration` of the checkpoint resumed from (0: from scratch):
            without a count, rows up to it are kept.
    """

    results: int | None
    iteration: int


def rewind_trial_outputs(directory: str, keep: KeepPoint) -> int:
    """Cut the output files in a trial's local `directory` back to `keep`.

    Returns:
        The number of results ``result.json`` holds afterwards (the count the trial continues
        from; it may be less than asked if the file lost rows).
    """
    # Writers of this process holding the files write what they buffered and close them: a
    # writer left appending to the replaced file (or past the end of a cut one) loses results.
    _open_files.release(directory)
    kept = _rewind_json_lines(os.path.join(directory, RESULT_FILE), keep)
    _rewind_csv(os.path.join(directory, PROGRESS_FILE), keep)
    _rewind_event_files(directory, keep)
    return kept


# ---------------------------------------------------------------------------- helpers
def _replace(path: str, data: bytes) -> None:
    tmp = f"{path}.tmp-rewind"
    with open(tmp, "wb") as file:
        file.write(data)
    with contextlib.suppress(OSError):
        os.chmod(tmp, os.stat(path).st_mode & 0o7777)  # the file's mode stays as it was
    os.replace(tmp, path)


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as file:
            return file.read()
    except FileNotFoundError:
        return None


def _iteration(row: object) -> float | None:
    value = row.get("training_iteration") if isinstance(row, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _within(keep: KeepPoint, index: int, iteration: float | None) -> bool:
    """Whether the `index`-th result (0-based), at `iteration`, is kept."""
    if keep.results is not None:
        return index < keep.results
    return iteration is not None and iteration <= keep.iteration


# ---------------------------------------------------------------------------- result.json
def _rewind_json_lines(path: str, keep: KeepPoint) -> int:
    data = _read(path)
    if data is None:
        return 0
    end = 0
    count = 0
    for line in data.splitlines(keepends=True):
        if not line.endswith(b"\n"):
            break  # cut short: the write never finished
        if not line.strip():
            end += len(line)
            continue
        try:
            row = json.loads(line)
        except ValueError:
            break  # a torn line another write was appended to: nothing after it is trusted
        if not _within(keep, count, _iteration(row)):
            break
        end += len(line)
        count += 1
    if end != len(data):
        logger.info("%s: keeping the first %d results, dropping %d bytes after them",
                    path, count, len(data) - end)
        _replace(path, data[:end])
    return count


# ---------------------------------------------------------------------------- progress.csv
def _rewind_csv(path: str, keep: KeepPoint) -> None:
    data = _read(path)
    if data is None:
        return
    text = data.decode("utf-8", errors="replace")
    complete = text if text.endswith("\n") else text[: text.rfind("\n") + 1]
    rows = list(csv.reader(io.StringIO(complete, newline="")))
    if not rows:
        if complete != text:
            _replace(path, complete.encode("utf-8"))
        return
    header, body = rows[0], rows[1:]
    column = header.index("training_iteration") if "training_iteration" in header else None
    kept: list[list[str]] = []
    for row in body:
        if len(row) != len(header):
            break  # a torn row
        iteration = None
        if column is not None:
            with contextlib.suppress(ValueError):
                iteration = float(row[column])
        if not _within(keep, len(kept), iteration):
            break
        kept.append(row)
    if len(kept) == len(body) and complete == text:
        return
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(kept)
    logger.info("%s: keeping the first %d rows of %d", path, len(kept), len(body))
    _replace(path, out.getvalue().encode("utf-8"))


# ---------------------------------------------------------------------------- TensorBoard
_HEADER = struct.Struct("<QI")


def _records(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """``(start, end, payload)`` of each whole TFRecord in `data` (a cut-short one ends it)."""
    pos = 0
    while pos + _HEADER.size <= len(data):
        (length, _crc) = _HEADER.unpack_from(data, pos)
        end = pos + _HEADER.size + length + 4
        if end > len(data):
            return
        yield pos, end, data[pos + _HEADER.size : pos + _HEADER.size + length]
        pos = end


def _event_order(name: str) -> tuple[int, int, str]:
    """Event files in the order they were written: creation second, then our numeric suffix."""
    parts = name[len(EVENT_FILE_PREFIX) :].split(".")
    second = int(parts[0]) if parts and parts[0].isdigit() else 0
    suffix = int(parts[-1]) if len(parts) > 2 and parts[-1].isdigit() else 0
    return second, suffix, name


def _rewind_event_files(directory: str, keep: KeepPoint) -> None:
    try:
        names = [n for n in os.listdir(directory) if n.startswith(EVENT_FILE_PREFIX)]
    except FileNotFoundError:
        return
    names = [n for n in names if not n.endswith(".tmp-rewind")]
    if not names:
        return
    from tuner.output._tbx import tbx

    event_class = tbx()["tensorboardX.proto.event_pb2"].Event
    results = 0
    for name in sorted(names, key=_event_order):
        path = os.path.join(directory, name)
        data = _read(path)
        if data is None:
            continue
        parts: list[bytes] = []
        last_end = 0
        changed = False
        for start, end, payload in _records(data):
            last_end = end
            event = event_class.FromString(payload)
            if event.HasField("summary"):
                tags = [value.tag for value in event.summary.value]
                if any(tag.startswith(_HPARAMS_TAG_PREFIX) for tag in tags):
                    changed = True
                    continue  # written when the trial ended; it ends again later
                if not _within(keep, results, float(event.step)):
                    changed = True
                    continue
                results += 1
            parts.append(data[start:end])
        if changed or last_end != len(data):
            _replace(path, b"".join(parts))
