"""Trial output files that writers of this process hold open, and letting go of them.

The loggers keep a trial's files open from its start to its end, across pauses and retries.
A rewind (`tuner.output._rewind`) replaces those files with cut-back copies; a writer still
holding the old file would append to a file nobody reads, and had the rewind truncated in
place, it would write at an offset past the new end. So before it cuts, the rewind calls
`release(directory)`: every registered holder writes what it buffered for that trial directory
and closes those files, and opens them afresh (reading what it needs from them) when the trial
logs again.

A registry rather than an argument, because the rewind's callers (the event loop, at a trial's
start) know directories, not loggers; and whoever rewinds, no writer of this process may keep
a stale file. Holders are held weakly: a logger nobody uses any more is not kept alive.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Protocol


class FileHolder(Protocol):
    """Something that holds trial output files open."""

    def release_directory(self, directory: str) -> None:
        """Write what is buffered for the trial in `directory` (a `directory_key`), then
        close its files."""


_lock = threading.Lock()
_holders: weakref.WeakSet[FileHolder] = weakref.WeakSet()


def directory_key(path: str) -> str:
    """The name a trial directory is registered and released under."""
    return os.path.normpath(os.path.abspath(path))


def register(holder: FileHolder) -> None:
    """Have `holder` told of every release from now on (until it is garbage)."""
    with _lock:
        _holders.add(holder)


def release(directory: str) -> None:
    """Make every holder write and close the files it holds in `directory`."""
    key = directory_key(directory)
    with _lock:
        holders = list(_holders)
    for holder in holders:
        holder.release_directory(key)
