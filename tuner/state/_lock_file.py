"""Where an experiment lock lives: the lock file on a local disk, or on an fsspec filesystem.

Both backends offer the same operations (`LockFile`); they differ in how exclusive they are. A
local disk creates the file atomically (``O_CREAT | O_EXCL``) and removes it only while it still
holds what was read, even while others race for it (a rename aside, then a hard link back). An
object store has no atomic create in fsspec in general: the file is written (exclusively where
the backend supports ``pipe_file(mode="create")``, as S3 does) and the token read back after a
short wait (`confirm`); its removal is a read, then a delete. The residual race is described in
docs/storage.md.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from typing import TYPE_CHECKING, Protocol

from tuner.state._lock_holder import token_of
from tuner.storage._filesystem import atomic_write_bytes
from tuner.storage._local_disk import LocalDisk

if TYPE_CHECKING:
    import fsspec


class LockFile(Protocol):
    """The operations `ExperimentLock` needs of its lock file."""

    path: str

    def read(self) -> bytes | None:
        """The file's bytes; None if there is no lock file."""

    def modified(self) -> float | None:
        """When the file was last written (wall-clock seconds); None where that is unknown."""

    def create(self, data: bytes) -> bool:
        """Write `data` if there is no lock file; False if there already is one."""

    def confirm(self, token: str) -> bool:
        """Whether the file `create` wrote is still the one with `token`, after racers wrote."""

    def replace(self, data: bytes) -> None:
        """Overwrite the file with `data`."""

    def remove_if(self, expected: bytes) -> bool:
        """Remove the file if it still holds `expected`; whether it was removed."""


class LocalFile:
    """The lock file on the local disk (or a network file system mounted there)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def read(self) -> bytes | None:
        try:
            with open(self.path, "rb") as file:
                return file.read()
        except FileNotFoundError:
            return None

    def modified(self) -> float | None:
        try:
            return os.stat(self.path).st_mtime
        except FileNotFoundError:
            return None

    def create(self, data: bytes) -> bool:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies
        except FileExistsError:
            return False
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            raise
        return True

    def confirm(self, token: str) -> bool:
        return True  # an O_EXCL create is exclusive

    def replace(self, data: bytes) -> None:
        atomic_write_bytes(LocalDisk(), self.path, data)

    def remove_if(self, expected: bytes) -> bool:
        """Remove the file if it still holds `expected`; exact even while others race for it."""
        aside = f"{self.path}.stale-{secrets.token_hex(4)}"
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return False
        with open(aside, "rb") as file:
            moved = file.read()
        if moved == expected:
            os.unlink(aside)
            return True
        # It changed since it was read (a refresh, or a new holder): put it back, unless yet
        # another lock appeared meanwhile, whose holder then wins (the loser's heartbeat sees it).
        try:
            os.link(aside, self.path)
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links: a plain rename, if still free
            if not os.path.lexists(self.path):
                os.rename(aside, self.path)
                return False
        os.unlink(aside)
        return False


class ObjectFile:
    """The lock file on an fsspec filesystem: object stores, ``memory://``."""

    def __init__(self, fs: fsspec.AbstractFileSystem, path: str, settle_s: float) -> None:
        self.fs, self.path, self._settle_s = fs, path, settle_s

    def read(self) -> bytes | None:
        try:
            data: bytes = self.fs.cat_file(self.path)
        except FileNotFoundError:
            return None
        return data

    def modified(self) -> float | None:
        try:
            return float(self.fs.modified(self.path).timestamp())
        except (FileNotFoundError, NotImplementedError):
            return None

    def create(self, data: bytes) -> bool:
        try:
            self.fs.pipe_file(self.path, data, mode="create")
        except FileExistsError:
            return False
        except (TypeError, NotImplementedError):
            # A backend without exclusive writes: check, then write; confirm() catches racers.
            self.fs.invalidate_cache(self.path)
            if self.fs.exists(self.path):
                return False
            self.fs.pipe_file(self.path, data)
        return True

    def confirm(self, token: str) -> bool:
        time.sleep(self._settle_s)  # real time: it waits for other processes' writes
        data = self.read()
        return data is not None and token_of(data) == token

    def replace(self, data: bytes) -> None:
        self.fs.pipe_file(self.path, data)

    def remove_if(self, expected: bytes) -> bool:
        # No compare-and-delete in fsspec: between this read and the delete another driver may
        # take the lock, and lose it here (its heartbeat notices, see docs/storage.md).
        if self.read() != expected:
            return False
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self.path)
        self.fs.invalidate_cache(self.path)
        return True


__all__ = ["LocalFile", "LockFile", "ObjectFile"]
