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


class DeferredFilesystem:
    """An fsspec filesystem in pickled form, unpickled by the first `load()`."""

    __slots__ = ("_blob", "_filesystem", "_lock")

    def __init__(self, blob: bytes) -> None:
        self._blob = blob
        self._filesystem: fsspec.AbstractFileSystem | None = None
        self._lock = threading.Lock()

    @classmethod
    def of(cls, filesystem: fsspec.AbstractFileSystem) -> DeferredFilesystem:
        """`filesystem`, pickled (with cloudpickle, so one defined in `__main__` travels too)."""
        return cls(cloudpickle.dumps(filesystem))

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
