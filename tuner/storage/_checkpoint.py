"""`Checkpoint`: a directory of files on the local disk or any fsspec filesystem."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from tuner.exceptions import CheckpointError
from tuner.storage._filesystem import (
    COMPLETE_MARKER,
    filesystem_for_protocol,
    is_local,
    protocol_of,
    resolve_storage,
)
from tuner.storage._local_disk import real_filesystem

if TYPE_CHECKING:
    import fsspec


class Checkpoint:
    """A directory of files a trial saved, wherever it is stored (as in Ray Tune 2.x).

    A checkpoint is only a reference: ``(filesystem, path)``. It pickles (so it crosses process
    boundaries) and has a JSON form (`to_dict` / `from_dict`).

    Args:
        path: The directory: a local path or a URL such as ``s3://bucket/run/checkpoint_000001``.
        filesystem: The filesystem the path is on; inferred from the URL when None.

    Example:
        >>> import os, tempfile
        >>> from pathlib import Path
        >>> directory = tempfile.mkdtemp()
        >>> with open(os.path.join(directory, "weights.txt"), "w") as f:
        ...     _ = f.write("0.5")
        >>> checkpoint = Checkpoint.from_directory(directory)
        >>> with checkpoint.as_directory() as local:
        ...     print(Path(local, "weights.txt").read_text())
        0.5
    """

    def __init__(
        self, path: str | os.PathLike[str], filesystem: fsspec.AbstractFileSystem | None = None
    ):
        if not isinstance(path, (str, os.PathLike)):
            raise CheckpointError(
                f"a checkpoint path must be a str or os.PathLike, got {type(path).__name__} "
                f"{path!r}: pass the directory you saved your files in"
            )
        self._filesystem, self._path = resolve_storage(path, filesystem)

    @classmethod
    def from_directory(cls, path: str | os.PathLike[str]) -> Checkpoint:
        """A checkpoint of a local directory.

        Raises:
            CheckpointError: ``path`` does not exist or is not a directory.

        Example:
            >>> import tempfile
            >>> Checkpoint.from_directory(tempfile.mkdtemp()).filesystem.protocol
            ('file', 'local')
        """
        local = os.path.abspath(os.path.expanduser(os.fspath(path)))
        if not os.path.isdir(local):
            problem = "is not a directory" if os.path.exists(local) else "does not exist"
            raise CheckpointError(
                f"a checkpoint must be an existing directory, but it {problem}, got "
                f"path={os.fspath(path)!r}: pass the directory you saved your files in"
            )
        return cls(local, filesystem_for_protocol("file"))

    @property
    def path(self) -> str:
        """The directory's path on `filesystem` (no protocol prefix)."""
        return self._path

    @property
    def filesystem(self) -> fsspec.AbstractFileSystem:
        """The fsspec filesystem the directory is on (for a local checkpoint fsspec's
        `LocalFileSystem`, which the engine itself never needs to import)."""
        return real_filesystem(self._filesystem)

    @property
    def uri(self) -> str:
        """The directory as a URL: ``s3://bucket/...``, ``memory:///...``, ``file:///...``."""
        return str(self._filesystem.unstrip_protocol(self._path))

    @contextlib.contextmanager
    def as_directory(self) -> Iterator[str]:
        """A local directory with the checkpoint's files, for the duration of a ``with`` block.

        A local checkpoint is yielded in place (not copied: do not modify it); a remote one is
        downloaded to a temporary directory that is removed after the block.

        Example:
            >>> import tempfile
            >>> checkpoint = Checkpoint.from_directory(tempfile.mkdtemp())
            >>> with checkpoint.as_directory() as path:
            ...     path == checkpoint.path
            True
        """
        if is_local(self._filesystem):
            self._check_local_exists()
            yield self._path
            return
        directory = tempfile.mkdtemp(prefix="tuner-checkpoint-")
        try:
            self.to_directory(directory)
            yield directory
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    def to_directory(self, path: str | os.PathLike[str] | None = None) -> str:
        """Copy (or download) the checkpoint's files into a local directory.

        Args:
            path: The target directory (created if missing; existing files are overwritten);
                a new temporary directory when None.

        Returns:
            The target directory.

        Example:
            >>> import tempfile
            >>> checkpoint = Checkpoint.from_directory(tempfile.mkdtemp())
            >>> os.listdir(checkpoint.to_directory())
            []
        """
        target = (
            tempfile.mkdtemp(prefix="tuner-checkpoint-")
            if path is None
            else os.path.abspath(os.fspath(path))
        )
        os.makedirs(target, exist_ok=True)
        if is_local(self._filesystem):
            self._check_local_exists()
            if os.path.realpath(target) != os.path.realpath(self._path):
                shutil.copytree(
                    self._path,
                    target,
                    ignore=shutil.ignore_patterns(COMPLETE_MARKER),
                    copy_function=shutil.copyfile,
                    dirs_exist_ok=True,
                )
            return target
        self._download(target)
        return target

    def _download(self, target: str) -> None:
        fs = self._filesystem
        fs.invalidate_cache(self._path)
        files = [p for p in fs.find(self._path) if not p.endswith("/" + COMPLETE_MARKER)]
        if not files and not fs.isdir(self._path):
            raise CheckpointError(
                f"a checkpoint must be an existing directory, but nothing is at "
                f"path={self.uri!r}: pass the directory you saved your files in"
            )
        prefix = self._path.rstrip("/") + "/"
        local_paths = [os.path.join(target, *p[len(prefix) :].split("/")) for p in files]
        for directory in {os.path.dirname(p) for p in local_paths}:
            os.makedirs(directory, exist_ok=True)
        if files:
            fs.get(files, local_paths)

    def _check_local_exists(self) -> None:
        if not os.path.isdir(self._path):
            raise CheckpointError(
                f"a checkpoint must be an existing directory, got path={self._path!r}: it was "
                "deleted or moved; pass the directory you saved your files in"
            )

    def to_dict(self) -> dict[str, str]:
        """The JSON form: ``{"path": ..., "protocol": ...}``.

        Example:
            >>> Checkpoint("memory://runs/checkpoint_000001").to_dict()
            {'path': '/runs/checkpoint_000001', 'protocol': 'memory'}
        """
        return {"path": self._path, "protocol": protocol_of(self._filesystem)}

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], filesystem: fsspec.AbstractFileSystem | None = None
    ) -> Checkpoint:
        """Rebuild a checkpoint from `to_dict`'s output.

        Args:
            data: ``{"path": ..., "protocol": ...}``.
            filesystem: Use this filesystem (with its storage options, e.g. an S3 endpoint) if its
                protocol matches; otherwise one is made from the protocol name.

        Example:
            >>> Checkpoint.from_dict({"path": "/runs/checkpoint_000001", "protocol": "memory"})
            Checkpoint(filesystem=memory, path=/runs/checkpoint_000001)
        """
        try:
            path, protocol = str(data["path"]), str(data["protocol"])
        except (KeyError, TypeError) as exc:
            raise CheckpointError(
                f"a checkpoint's JSON form needs 'path' and 'protocol', got {data!r}: "
                "pass what Checkpoint.to_dict() returned"
            ) from exc
        if filesystem is None or protocol_of(filesystem) != protocol:
            filesystem = filesystem_for_protocol(protocol)
        return cls(path, filesystem)

    def __repr__(self) -> str:
        protocol = protocol_of(self._filesystem)
        name = "local" if protocol == "file" else protocol
        return f"Checkpoint(filesystem={name}, path={self._path})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Checkpoint):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[str, str]:
        return protocol_of(self._filesystem), self._path


__all__ = ["Checkpoint"]
