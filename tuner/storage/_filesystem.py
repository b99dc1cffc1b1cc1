"""Where experiments live: resolving storage URLs and writing files that are never half-read.

Every storage path is a pair ``(filesystem, path)`` of an fsspec filesystem and a path on it, so
the same code writes to a local disk, ``memory://`` (tests) and object stores such as ``s3://``.

Two guarantees hold on every backend:

* `atomic_write_bytes` never lets a reader see half a file.
* `persist_directory` marks a checkpoint directory complete (with the `COMPLETE_MARKER` file) only
  once all of it is there; `remove_incomplete` cleans up what a crash left behind.

Example:
    >>> fs, root = resolve_storage("memory://doc-storage")
    >>> atomic_write_bytes(fs, join(root, "state.json"), b"{}")
    >>> read_bytes(fs, join(root, "state.json"))
    b'{}'
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import posixpath
import re
import secrets
import shutil
import tempfile
from typing import TYPE_CHECKING

from tuner.exceptions import CheckpointError, StorageError
from tuner.storage._local_disk import LocalDisk, is_local

if TYPE_CHECKING:
    # fsspec is imported where it is used: it costs ~45 ms, and `import tuner` must stay fast.
    import fsspec

logger = logging.getLogger(__name__)

DEFAULT_STORAGE_PATH = "~/tuner_results"
COMPLETE_MARKER = ".tuner_complete"

_CHECKPOINT_RE = re.compile(r"^checkpoint_(\d{6})$")
_CHECKPOINT_TMP_RE = re.compile(r"^checkpoint_\d{6}\.tmp-[0-9a-f]+$")
# Left behind by `atomic_write_bytes` when a process dies between write and rename.
_ATOMIC_TMP_RE = re.compile(r"^\..+\.tmp-[0-9a-z_]+$")

# Protocol -> (package, extra or pip argument) for the error raised when a backend is missing.
_BACKEND_PACKAGES: dict[str, tuple[str, str]] = {
    "s3": ("s3fs", "'tuner[s3]'"),
    "s3a": ("s3fs", "'tuner[s3]'"),
    "gs": ("gcsfs", "gcsfs"),
    "gcs": ("gcsfs", "gcsfs"),
    "az": ("adlfs", "adlfs"),
    "abfs": ("adlfs", "adlfs"),
    "abfss": ("adlfs", "adlfs"),
}


def resolve_storage(
    url: str | os.PathLike[str] | None,
    filesystem: fsspec.AbstractFileSystem | None = None,
) -> tuple[fsspec.AbstractFileSystem, str]:
    """Turn a storage URL (or local path) into a filesystem and a path on it.

    Args:
        url: A local path, an fsspec URL (``s3://bucket/runs``, ``memory://x``, ``file:///x``),
            or None for ``~/tuner_results``.
        filesystem: Use this filesystem instead of inferring one from the URL (the URL's
            protocol prefix, if any, is stripped).

    Returns:
        ``(filesystem, path)``; local paths are absolute.

    Raises:
        StorageError: The URL's protocol is unknown or its backend package is not installed.

    Example:
        >>> fs, path = resolve_storage("memory://bucket/runs")
        >>> fs.protocol, path
        ('memory', '/bucket/runs')
    """
    if url is None:
        url = DEFAULT_STORAGE_PATH
    if not isinstance(url, (str, os.PathLike)):
        raise StorageError(
            f"a storage path must be a str or os.PathLike, got {type(url).__name__} {url!r}: "
            "pass a local directory or a URL such as 's3://bucket/path'"
        )
    url = os.fspath(url)
    if isinstance(filesystem, LocalDisk | None) and _is_plain_path(url):  # no fsspec needed
        return filesystem or LocalDisk(), os.path.abspath(os.path.expanduser(url))
    import fsspec.core

    if filesystem is not None:
        path = filesystem._strip_protocol(url)
        if is_local(filesystem):
            path = os.path.abspath(os.path.expanduser(path))
        return filesystem, path
    protocol, _ = fsspec.core.split_protocol(url)
    if protocol is None:
        return LocalDisk(), os.path.abspath(os.path.expanduser(url))
    try:
        fs, path = fsspec.core.url_to_fs(url)
    except ImportError as exc:
        raise StorageError(_missing_backend_message(protocol, exc)) from exc
    except ValueError as exc:
        if "Protocol not known" not in str(exc):
            raise
        raise StorageError(
            f"storage protocol '{protocol}://' is not known to fsspec, got {url!r}: use a local "
            "path or a supported URL (s3://, gs://, az://, memory://, file://)"
        ) from exc
    return fs, path


def _is_plain_path(url: str) -> bool:
    """Whether fsspec reads `url` as a plain local path: no protocol (``x://``; fsspec ignores a
    one-letter one, a Windows drive), no ``data:`` URL, no ``file:`` or ``local:`` prefix."""
    protocol, sep, _ = url.partition("://")
    return (not sep or len(protocol) <= 1) and not url.startswith(("data:", "file:", "local:"))


def _missing_backend_message(protocol: str, exc: ImportError) -> str:
    if protocol in _BACKEND_PACKAGES:
        package, pip_arg = _BACKEND_PACKAGES[protocol]
        return f"install {package} to use {protocol}:// storage paths (pip install {pip_arg})"
    return f"the backend for {protocol}:// storage paths is not installed: {exc}"


def filesystem_for_protocol(protocol: str) -> fsspec.AbstractFileSystem:
    """A filesystem for a protocol name, with fsspec's configured defaults (env, config files).

    Raises:
        StorageError: The protocol is unknown or its backend package is not installed.

    Example:
        >>> filesystem_for_protocol("memory").protocol
        'memory'
    """
    if protocol in ("file", "local"):
        return LocalDisk()
    import fsspec

    try:
        return fsspec.filesystem(protocol)
    except ImportError as exc:
        raise StorageError(_missing_backend_message(protocol, exc)) from exc
    except ValueError as exc:
        raise StorageError(
            f"storage protocol '{protocol}://' is not known to fsspec, got {protocol!r}: "
            "install its fsspec backend"
        ) from exc


def protocol_of(fs: fsspec.AbstractFileSystem) -> str:
    """The filesystem's main protocol name: ``"file"``, ``"s3"``, ``"memory"``, ...

    Example:
        >>> protocol_of(filesystem_for_protocol("file"))
        'file'
    """
    protocol = fs.protocol
    return protocol if isinstance(protocol, str) else protocol[0]


def join(*parts: str) -> str:
    """Join path parts with ``/`` (storage paths are posix even for object stores).

    Example:
        >>> join("bucket/runs", "exp", "trial_0")
        'bucket/runs/exp/trial_0'
    """
    return posixpath.join(*parts)


def current_umask() -> int:
    """The process's umask, read without changing it where the OS allows.

    Linux reports it in ``/proc/self/status``. Elsewhere the only way is to set a umask and put
    the old one back; that is done once per process (threads creating files meanwhile would get
    the temporary one), and the temporary mask is the strict 0o077, so such a file is private
    rather than world-writable.

    Example:
        >>> old = os.umask(0o027)
        >>> oct(current_umask())
        '0o27'
        >>> _ = os.umask(old)
    """
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return _umask_by_setting()


@functools.cache
def _umask_by_setting() -> int:
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def atomic_write_bytes(fs: fsspec.AbstractFileSystem, path: str, data: bytes) -> None:
    """Write a whole file so that readers see the old file or the new one, never a mix.

    Local disks get a temporary file in the same directory, fsync and `os.replace`; object
    stores get a single PUT (`pipe_file`), which is atomic there. A local file gets the mode
    any new file gets (0o666 & ~umask), not `tempfile.mkstemp`'s private 0o600.

    Example:
        >>> fs, root = resolve_storage("memory://doc-atomic")
        >>> atomic_write_bytes(fs, join(root, "a.txt"), b"hello")
        >>> fs.cat_file(join(root, "a.txt"))
        b'hello'
    """
    if not is_local(fs):
        fs.pipe_file(path, data)
        return
    directory, name = os.path.split(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.tmp-", dir=directory)
    try:
        os.chmod(tmp, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def read_bytes(fs: fsspec.AbstractFileSystem, path: str) -> bytes:
    """Read a whole file.

    Raises:
        FileNotFoundError: Nothing is at ``path``.

    Example:
        >>> fs, root = resolve_storage("memory://doc-read")
        >>> fs.pipe_file(join(root, "x"), b"1")
        >>> read_bytes(fs, join(root, "x"))
        b'1'
    """
    if is_local(fs):
        with open(path, "rb") as file:
            return file.read()
    data: bytes = fs.cat_file(path)
    return data


def checkpoint_dir_name(index: int) -> str:
    """The directory name of a trial's checkpoint number ``index``.

    Example:
        >>> checkpoint_dir_name(3)
        'checkpoint_000003'
    """
    if index < 0:
        raise ValueError(f"a checkpoint index must be >= 0, got {index}")
    return f"checkpoint_{index:06d}"


def persist_directory(local_dir: str, fs: fsspec.AbstractFileSystem, dest: str) -> None:
    """Copy a local directory tree to ``dest`` and mark it complete once all of it is there.

    Local storage: copy into a temporary sibling ``dest.tmp-<random>``, rename it to ``dest``,
    then write the marker. Other storage: upload every file, then write the marker last. A
    ``dest`` that already exists is replaced. If ``local_dir`` already is ``dest`` (a trainable
    that saved straight into storage) only the marker is written. Local copies follow the
    umask, whatever the source's modes: directories 0o777 & ~umask, files 0o666 & ~umask
    (0o777 & ~umask if executable).

    Raises:
        CheckpointError: ``local_dir`` is not a directory.

    Example:
        >>> import tempfile
        >>> src = tempfile.mkdtemp()
        >>> with open(os.path.join(src, "model.pt"), "wb") as f:
        ...     _ = f.write(b"weights")
        >>> fs, root = resolve_storage("memory://doc-persist")
        >>> persist_directory(src, fs, join(root, "checkpoint_000000"))
        >>> is_complete(fs, join(root, "checkpoint_000000"))
        True
    """
    if not os.path.isdir(local_dir):
        raise CheckpointError(
            f"a checkpoint must be a directory, got local_dir={local_dir!r}: "
            "pass the directory you saved your files in"
        )
    marker = join(dest, COMPLETE_MARKER)
    if is_local(fs):
        if os.path.exists(dest) and os.path.samefile(local_dir, dest):
            _mark_local(marker)
            return
        # No fsync of the copied files: the rename protects against a crashed process, which is
        # what restores see; fsyncing 100 MB per checkpoint would cost more than the copy.
        tmp = f"{dest}.tmp-{secrets.token_hex(4)}"
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        try:
            _copy_tree_following_umask(local_dir, tmp)
            if os.path.lexists(dest):
                _replace_local_dir(tmp, dest)
            else:
                os.rename(tmp, dest)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _mark_local(marker)
        return
    # A stale marker would make a half-uploaded replacement look complete.
    remove_directory(fs, dest)
    if any(files for _, _, files in os.walk(local_dir)):
        fs.put(local_dir.rstrip("/") + "/", dest, recursive=True)
    fs.pipe_file(marker, b"")
    fs.invalidate_cache(dest)


def _mark_local(marker: str) -> None:
    """Create the empty marker (0o666 & ~umask). Only whether it exists is read, and creating
    a file is atomic: no rename, and no fsync, which the copied files do not get either."""
    with open(marker, "wb"):
        pass


def _copy_tree_following_umask(src: str, dst: str) -> None:
    """Copy a tree whose copies get the modes new files get, not the source's.

    Checkpoints are mostly saved in a `tempfile.TemporaryDirectory()` (0o700), whose mode
    `shutil.copytree` would copy: teammates who may read the experiment could not read them.
    Directories get 0o777 & ~umask, files 0o666 & ~umask, or 0o777 & ~umask if they were
    executable (as `cp` does).
    """
    umask = current_umask()

    def copy_file(source: str, target: str) -> None:
        shutil.copyfile(source, target)
        executable = os.stat(source).st_mode & 0o111
        os.chmod(target, (0o777 if executable else 0o666) & ~umask)

    shutil.copytree(src, dst, copy_function=copy_file)
    dir_mode = 0o777 & ~umask
    os.chmod(dst, dir_mode)
    for directory, subdirs, _files in os.walk(dst):
        for subdir in subdirs:
            os.chmod(os.path.join(directory, subdir), dir_mode)


def _replace_local_dir(new: str, dest: str) -> None:
    trash = f"{dest}.tmp-{secrets.token_hex(4)}"
    os.rename(dest, trash)
    os.rename(new, dest)
    shutil.rmtree(trash, ignore_errors=True)


def is_complete(fs: fsspec.AbstractFileSystem, path: str) -> bool:
    """Whether ``path`` is a directory `persist_directory` finished writing.

    Example:
        >>> fs, root = resolve_storage("memory://doc-complete")
        >>> is_complete(fs, join(root, "missing"))
        False
    """
    fs.invalidate_cache(path)
    return bool(fs.exists(join(path, COMPLETE_MARKER)))


def remove_directory(fs: fsspec.AbstractFileSystem, path: str) -> None:
    """Remove a directory tree; a missing one is not an error.

    Example:
        >>> fs, root = resolve_storage("memory://doc-remove")
        >>> remove_directory(fs, join(root, "never-existed"))
    """
    if is_local(fs):
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(path)
        return
    with contextlib.suppress(FileNotFoundError):
        fs.rm(path, recursive=True)
    fs.invalidate_cache(path)


def _list_names(fs: fsspec.AbstractFileSystem, path: str) -> list[tuple[str, str]]:
    """``(name, type)`` of the entries directly in ``path``; empty if it does not exist."""
    fs.invalidate_cache(path)
    try:
        entries = fs.ls(path, detail=True)
    except FileNotFoundError:
        return []
    return [(posixpath.basename(e["name"].rstrip("/")), e["type"]) for e in entries]


def list_checkpoints(fs: fsspec.AbstractFileSystem, trial_path: str) -> list[tuple[int, str, bool]]:
    """The checkpoint directories of a trial as ``(index, path, complete)``, sorted by index.

    Example:
        >>> fs, root = resolve_storage("memory://doc-list")
        >>> fs.pipe_file(join(root, "checkpoint_000002", COMPLETE_MARKER), b"")
        >>> list_checkpoints(fs, root)
        [(2, '/doc-list/checkpoint_000002', True)]
    """
    found = []
    for name, kind in _list_names(fs, trial_path):
        match = _CHECKPOINT_RE.match(name)
        if match and kind == "directory":
            path = join(trial_path, name)
            found.append((int(match.group(1)), path, is_complete(fs, path)))
    return sorted(found)


def remove_incomplete(fs: fsspec.AbstractFileSystem, trial_path: str) -> list[str]:
    """Remove half-written checkpoints and temporary files a crash left in a trial directory.

    Returns:
        The paths removed (a warning names them too).

    Example:
        >>> fs, root = resolve_storage("memory://doc-incomplete")
        >>> fs.pipe_file(join(root, "checkpoint_000001", "model.pt"), b"half")
        >>> remove_incomplete(fs, root)
        ['/doc-incomplete/checkpoint_000001']
    """
    removed = []
    for name, kind in _list_names(fs, trial_path):
        path = join(trial_path, name)
        if _CHECKPOINT_TMP_RE.match(name) or (
            _CHECKPOINT_RE.match(name) and kind == "directory" and not is_complete(fs, path)
        ):
            remove_directory(fs, path)
            removed.append(path)
        elif kind == "file" and _ATOMIC_TMP_RE.match(name):
            fs.rm_file(path)
            removed.append(path)
    if removed:
        fs.invalidate_cache(trial_path)
        logger.warning(
            "removed %d incomplete checkpoint(s) or temporary file(s) left by an interrupted "
            "write: %s",
            len(removed),
            ", ".join(removed),
        )
    return sorted(removed)


__all__ = [
    "COMPLETE_MARKER",
    "DEFAULT_STORAGE_PATH",
    "atomic_write_bytes",
    "checkpoint_dir_name",
    "current_umask",
    "filesystem_for_protocol",
    "is_complete",
    "is_local",
    "join",
    "list_checkpoints",
    "persist_directory",
    "protocol_of",
    "read_bytes",
    "remove_directory",
    "remove_incomplete",
    "resolve_storage",
]


def copy_checkpoint(fs: fsspec.AbstractFileSystem, src: str, dest: str) -> None:
    """Copy a checkpoint directory within `fs`, marking the copy complete only once it is whole.

    Used when PBT hands one trial's checkpoint to another: the copy belongs to the recipient, so
    retention of the donor's checkpoints cannot take it away.
    """
    if is_local(fs):
        persist_directory(src, fs, dest)
        return
    remove_directory(fs, dest)
    root = src.rstrip("/")
    for path in fs.find(root):
        relative = path[len(root) :].lstrip("/")
        if posixpath.basename(relative) != COMPLETE_MARKER:
            fs.copy(path, join(dest, relative))
    fs.pipe_file(join(dest, COMPLETE_MARKER), b"")
    fs.invalidate_cache(dest)
