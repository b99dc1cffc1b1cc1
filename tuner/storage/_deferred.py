"""A filesystem sent to a worker process pickled, and unpickled there on first use.

Unpickling an fsspec filesystem imports fsspec, which costs a new worker about 0.1 s of its
start-up; most trials never touch storage from the worker (only a checkpoint they save or
resume from does), so the worker keeps the pickled bytes and loads the filesystem when asked.

Example:
    >>> from tuner.storage._filesystem import filesystem_for_protocol, protocol_of
    >>> deferred = DeferredFilesystem.of(filesystem_for_protocol("memory"))
    >>> protocol_of(resolve_filesystem(deferred))
    'memory'
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import cloudpickle

if TYPE_CHECKING:
    import fsspec


_RECENT_MAX = 8
_recent: dict[int, tuple[Any, DeferredFilesystem]] = {}
"""The filesystems pickled lately, by identity, with their `DeferredFilesystem`."""


class DeferredFilesystem:
    """An fsspec filesystem in pickled form, unpickled by the first `load()`."""

    __slots__ = ("_blob", "_filesystem", "_lock")

    def __init__(self, blob: bytes) -> None:
        self._blob = blob
        self._filesystem: fsspec.AbstractFileSystem | None = None
        self._lock = threading.Lock()

    @classmethod
    def of(cls, filesystem: fsspec.AbstractFileSystem) -> DeferredFilesystem:
        """`filesystem`, pickled (with cloudpickle, so one defined in `__main__` travels too).

        An experiment sends the same filesystem with every trial: it is pickled once (pickling
        cost more than the rest of a trial's spec).
        """
        recent = _recent.get(id(filesystem))
        if recent is not None and recent[0] is filesystem:
            return recent[1]
        deferred = cls(cloudpickle.dumps(filesystem))
        if len(_recent) >= _RECENT_MAX:
            _recent.clear()
        _recent[id(filesystem)] = (filesystem, deferred)  # held, so that its id is not reused
        return deferred

    def load(self) -> fsspec.AbstractFileSystem:
        """The filesystem (unpickled once, then the same object)."""
        with self._lock:
            if self._filesystem is None:
                self._filesystem = cloudpickle.loads(self._blob)
            return self._filesystem

    def __reduce__(self) -> tuple[type[DeferredFilesystem], tuple[bytes]]:
        return DeferredFilesystem, (self._blob,)


def resolve_filesystem(filesystem: Any) -> fsspec.AbstractFileSystem:
    """`filesystem` itself, or the one a `DeferredFilesystem` holds."""
    if isinstance(filesystem, DeferredFilesystem):
        return filesystem.load()
    return filesystem
