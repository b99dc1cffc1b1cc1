"""`Syncer`: copy a local staging directory's changed files to remote storage in the background.

Loggers and the event loop write trial files into a local staging directory; when the
experiment's storage is remote (``s3://``, ``memory://``), a `Syncer` uploads what changed, on one
background thread so uploads never stall the event loop. Local storage is written in place and
needs no Syncer.

Checkpoint directories (``checkpoint_NNNNNN``) and temporary files are skipped: checkpoints go to
storage through `persist_directory`, which marks them complete.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from typing import TYPE_CHECKING

from tuner.storage._filesystem import atomic_write_bytes, is_local, join

if TYPE_CHECKING:
    import fsspec

logger = logging.getLogger(__name__)

# Files up to this size are read and written in one PUT; larger ones are streamed (multipart
# uploads on S3 are atomic as well: the object appears when the upload completes).
_SINGLE_PUT_MAX = 16 * 1024 * 1024
_SKIPPED_DIR_RE = re.compile(r"^checkpoint_\d{6}(\.tmp-[0-9a-f]+)?$")
_SKIPPED_FILE_RE = re.compile(r"(^\..+\.tmp-[0-9a-z_]+$)|(\.tmp-(widen|rewind)$)")


class Syncer:
    """Uploads files that changed under ``local_root`` to ``remote_root`` on ``fs``.

    A file is uploaded when its size or modification time differs from the last upload.
    Uploads run on one background thread; `wait` blocks until they are done. Failed uploads
    are logged and retried on the next sync.

    Args:
        local_root: The local staging directory.
        fs: The storage filesystem.
        remote_root: The matching directory on ``fs``.
        period_s: `maybe_sync` starts a sync at most this often.
        clock: Monotonic seconds; injected for tests.

    Example:
        >>> import tempfile
        >>> from tuner.storage._filesystem import resolve_storage
        >>> local = tempfile.mkdtemp()
        >>> with open(os.path.join(local, "result.json"), "w") as f:
        ...     _ = f.write("{}")
        >>> fs, remote = resolve_storage("memory://doc-syncer/exp")
        >>> with Syncer(local, fs, remote) as syncer:
        ...     syncer.sync_all()
        >>> fs.cat_file(remote + "/result.json")
        b'{}'
    """

    def __init__(
        self,
        local_root: str,
        fs: fsspec.AbstractFileSystem,
        remote_root: str,
        *,
        period_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if period_s < 0:
            raise ValueError(f"period_s must be >= 0, got {period_s}")
        self._local_root = os.path.abspath(local_root)
        self._fs = fs
        self._remote_root = remote_root.rstrip("/")
        self._period_s = period_s
        self._clock = clock
        self._last_sync: float | None = None
        # Touched only by the upload thread: relative path -> (mtime_ns, size) last uploaded.
        self._uploaded: dict[str, tuple[int, int]] = {}
        self._executor: ThreadPoolExecutor | None = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="tuner-syncer"
        )
        self._pending: set[Future[None]] = set()
        self._lock = threading.Lock()
        self._uploads = 0

    @property
    def local_root(self) -> str:
        """The local staging directory this syncer uploads from."""
        return self._local_root

    @property
    def uploads(self) -> int:
        """How many file uploads finished so far."""
        return self._uploads

    def maybe_sync(self) -> bool:
        """Start a sync of everything if ``period_s`` passed since the last one.

        Cheap to call often: it only reads the clock unless a sync is due, and it does not queue
        a new sync while one is still running.

        Returns:
            Whether a sync was started.
        """
        now = self._clock()
        if self._last_sync is not None and now - self._last_sync < self._period_s:
            return False
        with self._lock:
            if self._pending:
                return False
        self._last_sync = now
        self._submit("")
        return True

    def sync_trial(self, trial_dir_name: str) -> None:
        """Start uploading one trial directory's changed files now (e.g. when the trial ends)."""
        self._submit(trial_dir_name)

    def sync_all(self) -> None:
        """Start uploading every changed file now (e.g. at experiment end)."""
        self._last_sync = self._clock()
        self._submit("")

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every started sync finished.

        Returns:
            False if ``timeout`` seconds passed first.
        """
        with self._lock:
            pending = set(self._pending)
        _, not_done = wait_futures(pending, timeout=timeout)
        return not not_done

    def close(self) -> None:
        """Finish the started syncs and stop the background thread. Safe to call twice."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def __enter__(self) -> Syncer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.wait()
        self.close()

    def _submit(self, relative_dir: str) -> None:
        if self._executor is None:
            raise RuntimeError("the Syncer is closed: create a new one to sync again")
        future = self._executor.submit(self._sync, relative_dir)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)

    def _sync(self, relative_dir: str) -> None:
        start = os.path.join(self._local_root, relative_dir) if relative_dir else self._local_root
        for directory, dirs, files in os.walk(start):
            dirs[:] = [d for d in dirs if not _SKIPPED_DIR_RE.match(d)]
            for name in files:
                if _SKIPPED_FILE_RE.search(name):
                    continue
                self._sync_file(os.path.join(directory, name))

    def _sync_file(self, local_path: str) -> None:
        relative = os.path.relpath(local_path, self._local_root).replace(os.sep, "/")
        try:
            stat = os.stat(local_path)
        except FileNotFoundError:
            return
        # Stat before reading: a file that changes during the upload differs next time.
        signature = (stat.st_mtime_ns, stat.st_size)
        if self._uploaded.get(relative) == signature:
            return
        remote = join(self._remote_root, relative)
        try:
            if stat.st_size <= _SINGLE_PUT_MAX:
                with open(local_path, "rb") as file:
                    data = file.read()
                atomic_write_bytes(self._fs, remote, data)
            else:
                if is_local(self._fs):
                    os.makedirs(os.path.dirname(remote), exist_ok=True)
                self._fs.put_file(local_path, remote)
        except FileNotFoundError:
            return
        except Exception:
            logger.warning(
                "could not upload %s to %s; retrying on the next sync",
                local_path,
                remote,
                exc_info=True,
            )
            return
        self._uploaded[relative] = signature
        self._uploads += 1


__all__ = ["Syncer"]
