"""This machine's disk as a filesystem, with fsspec imported only when a call needs it.

Importing fsspec costs a process about 70 ms (it pulls in asyncio and importlib.metadata). The
engine works on local storage with `os` and `shutil` (`is_local` tells it where), so an
experiment on a local disk asks almost nothing of its filesystem object; `LocalDisk` answers
those questions itself and hands every other attribute to fsspec's `LocalFileSystem`, made on
first use. It is that filesystem in all but its type: `real_filesystem` gives the fsspec object
itself, for code that checks types.

Example:
    >>> disk = LocalDisk()
    >>> disk.protocol
    ('file', 'local')
    >>> type(real_filesystem(disk)).__name__
    'LocalFileSystem'
    >>> disk == LocalDisk(), is_local(real_filesystem(disk))
    (True, True)
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import fsspec


class LocalDisk:
    """fsspec's `LocalFileSystem`, imported and made on first use of anything but its protocol."""

    protocol = ("file", "local")
    root_marker = "/"
    sep = "/"

    def __getattr__(self, name: str) -> Any:  # what this class does not answer itself
        return getattr(_local_file_system(), name)

    def __reduce__(self) -> tuple[type[LocalDisk], tuple[()]]:
        return LocalDisk, ()  # unpickled without fsspec, in a worker process too

    def __eq__(self, other: object) -> bool:  # as fsspec's: equal to its own kind only
        return isinstance(other, LocalDisk)

    def __hash__(self) -> int:
        return hash(LocalDisk)

    def __repr__(self) -> str:
        return "LocalDisk()"


def is_local(fs: Any) -> bool:
    """Whether the filesystem is the local disk (a `LocalDisk`, or fsspec's `LocalFileSystem`).

    Example:
        >>> is_local(LocalDisk()), is_local(real_filesystem(LocalDisk()))
        (True, True)
    """
    return isinstance(fs, LocalDisk) or is_fsspec_local(fs)


def is_fsspec_local(filesystem: object) -> bool:
    """Whether `filesystem` is fsspec's own `LocalFileSystem` (False without importing it, when
    fsspec's local module was never loaded: then nothing can be one)."""
    module = sys.modules.get("fsspec.implementations.local")
    return module is not None and isinstance(filesystem, module.LocalFileSystem)


def real_filesystem(filesystem: Any) -> fsspec.AbstractFileSystem:
    """`filesystem` as an fsspec object: a `LocalDisk` becomes fsspec's `LocalFileSystem`."""
    if isinstance(filesystem, LocalDisk):
        return _local_file_system()
    return filesystem


def _local_file_system() -> fsspec.AbstractFileSystem:
    from fsspec.implementations.local import LocalFileSystem

    return LocalFileSystem()
