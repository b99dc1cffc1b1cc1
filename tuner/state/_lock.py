"""The experiment lock: one `Tuner.fit()` at a time writes an experiment.

Two drivers on one experiment would overwrite each other's state, so `fit()` holds
``<experiment>/.tuner-lock.json`` from start to end. The file names its holder (host, pid, the
process's start time, when it took the lock), a random token, and a heartbeat the running driver
refreshes every `HEARTBEAT_PERIOD_S`. A lock is *stale*, and the next `fit()` takes it over with
a warning, when its holder is gone:

* on this host (same hostname, boot and pid namespace): at once, when its pid has exited or now
  belongs to a process that started at another time (a reused pid);
* seen from another host: when its heartbeat is older than `STALE_AFTER_S`.

Local disks create the file atomically (``O_CREAT | O_EXCL``). Object stores have no atomic
create in fsspec in general: the file is written (exclusively where the backend supports
``pipe_file(mode="create")``, as S3 does), and the token read back after a short wait. The
residual race is described in docs/storage.md. Reading an experiment takes no lock.

Who holds the lock, and when a holder is gone, is in `tuner.state._lock_holder`; the two
lock-file backends are in `tuner.state._lock_file`.

Example:
    >>> from tuner._clock import FakeClock
    >>> from tuner.storage._filesystem import resolve_storage
    >>> fs, path = resolve_storage("memory://doc-lock/exp")
    >>> with ExperimentLock.acquire(fs, path, clock=FakeClock()) as lock:
    ...     fs.exists(lock.path)
    True
    >>> fs.exists(path + "/" + LOCK_FILE)
    False
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import os
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING

from tuner._clock import Clock
from tuner.exceptions import ExperimentLockedError, StorageError
from tuner.state._lock_file import LocalFile, LockFile, ObjectFile
from tuner.state._lock_holder import (
    LockHolder,
    Machine,
    process_start_time,
    this_machine,
    token_of,
)
from tuner.storage._filesystem import is_local, join, protocol_of

if TYPE_CHECKING:
    import fsspec

logger = logging.getLogger(__name__)

LOCK_FILE = ".tuner-lock.json"
HEARTBEAT_PERIOD_S = 10.0
STALE_AFTER_S = 60.0
# Object stores: wait this long between writing the lock and reading it back, so that a racer
# that saw no lock and wrote its own in the meantime is seen (see docs/storage.md).
_SETTLE_S = 0.5
_ATTEMPTS = 5

def _url(fs: fsspec.AbstractFileSystem, path: str) -> str:
    return path if is_local(fs) else f"{protocol_of(fs)}://{path.lstrip('/')}"


class ExperimentLock:
    """The lock of one experiment, held by this process from `acquire` until `release`.

    Use it as a context manager; `heartbeat` makes the event loop's periodic task that keeps it
    fresh. `release` (also on errors and Ctrl-C) removes the file only while it is still ours.
    """

    def __init__(self, file: LockFile, holder: LockHolder, url: str, *,
                 clock: Clock, stale_after_s: float) -> None:
        self._file, self.holder, self.url, self._clock = file, holder, url, clock
        self.stale_after_s = stale_after_s
        self._heartbeat: LockHeartbeat | None = None
        self._released = False

    @property
    def path(self) -> str:
        return self._file.path

    @classmethod
    def acquire(
        cls,
        fs: fsspec.AbstractFileSystem,
        exp_path: str,
        *,
        clock: Clock,
        stale_after_s: float = STALE_AFTER_S,
        settle_s: float | None = None,
    ) -> ExperimentLock:
        """Take the experiment's lock, taking over a stale one.

        Raises:
            ExperimentLockedError: Another live driver holds it.
            StorageError: The lock file cannot be written (no permission).
        """
        if stale_after_s <= 0:
            raise ValueError(f"stale_after_s must be > 0 seconds, got {stale_after_s}")
        path = join(exp_path, LOCK_FILE)
        if is_local(fs):
            os.makedirs(exp_path, exist_ok=True)
            file: LockFile = LocalFile(path)
        else:
            if settle_s is None:
                settle_s = 0.0 if protocol_of(fs) == "memory" else _SETTLE_S
            file = ObjectFile(fs, path, settle_s)
        here = this_machine()
        pid = os.getpid()
        now = clock.time()
        mine = LockHolder(here.host, here.boot_id, here.pid_namespace, pid,
                          process_start_time(pid), now, now, secrets.token_hex(16))
        url = _url(fs, exp_path)
        for _ in range(_ATTEMPTS):
            data = file.read()
            if data is None:
                try:
                    created = file.create(mine.to_bytes())
                except PermissionError as exc:
                    raise StorageError(
                        f"cannot create the experiment lock {_url(fs, path)}: {exc}; Tuner.fit() "
                        "needs write access to the experiment (reading it with ResultGrid.from_path "
                        "or `tuner ls` does not)"
                    ) from exc
                if created and file.confirm(mine.token):
                    return cls(file, mine, url, clock=clock, stale_after_s=stale_after_s)
                continue
            reason = _stale_reason(file, data, clock.time(), stale_after_s, here)
            if reason is None:
                raise _locked_error(url, _url(fs, path), data, clock.time(), stale_after_s)
            logger.warning("taking over the lock of experiment %s from a run that is gone: %s "
                           "(%s held %s)", url, reason, _url(fs, path), _who(data, clock.time()))
            file.remove_if(data)
        raise ExperimentLockedError(
            f"could not take the lock of experiment {url} in {_ATTEMPTS} attempts: other runs are "
            f"taking it at the same time; start one run at a time (lock file {_url(fs, path)})",
            lock_path=_url(fs, path),
        )

    def refresh(self) -> bool:
        """Write a new heartbeat. Returns False (and writes nothing) if the lock is no longer ours."""
        data = self._file.read()
        if data is None or token_of(data) != self.holder.token:
            return False
        self.holder = dataclasses.replace(self.holder, heartbeat_at=self._clock.time())
        self._file.replace(self.holder.to_bytes())
        return True

    def heartbeat(self, *, on_lost: Callable[[], None],
                  period_s: float = HEARTBEAT_PERIOD_S) -> LockHeartbeat:
        """The periodic task that refreshes this lock; `release` stops it first."""
        self._heartbeat = LockHeartbeat(self, on_lost=on_lost, period_s=period_s)
        return self._heartbeat

    def release(self) -> None:
        """Remove the lock file if it is still ours; idempotent."""
        if self._released:
            return
        self._released = True
        if self._heartbeat is not None:
            self._heartbeat.close()  # no refresh may write the file again after this
        data = self._file.read()
        if data is None or token_of(data) != self.holder.token:
            logger.warning("the lock of experiment %s was removed or taken by another run while "
                           "this one held it; leaving the lock file as it is", self.url)
            return
        self._file.remove_if(data)

    def __enter__(self) -> ExperimentLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _stale_reason(file: LockFile, data: bytes, now: float,
                  stale_after_s: float, here: Machine) -> str | None:
    try:
        holder = LockHolder.from_bytes(data)
    except ValueError:
        # Being written right now, or damaged: only its age can tell.
        modified = file.modified()
        if modified is not None and now - modified > stale_after_s:
            return f"the lock file is unreadable and {now - modified:.0f} s old"
        return None
    return holder.stale_reason(now=now, stale_after_s=stale_after_s, here=here)


def _who(data: bytes, now: float) -> str:
    try:
        return LockHolder.from_bytes(data).describe(now)
    except ValueError:
        return f"{len(data)} unreadable bytes"


def _locked_error(url: str, lock_url: str, data: bytes, now: float,
                  stale_after_s: float) -> ExperimentLockedError:
    try:
        holder = LockHolder.from_bytes(data)
    except ValueError:
        return ExperimentLockedError(
            f"experiment {url} is locked, but its lock file {lock_url} is unreadable (being "
            f"written by a run that is starting, or damaged): wait a moment and retry; it counts "
            f"as abandoned once {stale_after_s:g} s old, or delete it if no run uses the experiment",
            lock_path=lock_url,
        )
    return ExperimentLockedError(
        f"experiment {url} is in use by another Tuner.fit() ({holder.describe(now)}; lock file "
        f"{lock_url}). Two runs on one experiment overwrite each other's state: wait for that run "
        f"to end (then Tuner.restore({url!r}, trainable=...).fit() continues the experiment), or "
        f"give this run another RunConfig(name=...). If that process is gone, the lock is taken "
        f"over by itself: on host {holder.host!r} at once once pid {holder.pid} has exited, from "
        f"other hosts {stale_after_s:g} s after its last heartbeat; or delete {lock_url} yourself "
        f"once you are sure it no longer runs",
        lock_path=lock_url,
        host=holder.host,
        pid=holder.pid,
    )


class LockHeartbeat:
    """Periodic task of the event loop (`due_in(now)` / `run(now)`): refresh the lock's heartbeat.

    The write runs on a background thread, so slow storage never stalls the loop; a refresh still
    under way when the next one is due is not doubled. When the lock turns out to be someone
    else's (it was taken over while this driver seemed gone), `on_lost` is called once.
    """

    def __init__(self, lock: ExperimentLock, *, on_lost: Callable[[], None],
                 period_s: float = HEARTBEAT_PERIOD_S) -> None:
        if period_s <= 0:
            raise ValueError(f"a heartbeat period must be > 0 seconds, got period_s={period_s}")
        self._lock, self._on_lost, self._period_s = lock, on_lost, period_s
        self._next: float | None = None
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="tuner-lock")
        self._future: concurrent.futures.Future[bool] | None = None
        self._lost = False

    def due_in(self, now: float) -> float:
        if self._lost:
            return float("inf")
        return 0.0 if self._next is None else max(0.0, self._next - now)

    def run(self, now: float) -> None:
        self._next = now + self._period_s
        if self._future is not None:
            if not self._future.done():
                return
            self._collect(self._future)
        if not self._lost:
            self._future = self._pool.submit(self._lock.refresh)

    def close(self) -> None:
        """Wait for a refresh under way, and start no other."""
        self._pool.shutdown(wait=True)
        if self._future is not None:
            self._collect(self._future)
            self._future = None
        self._lost = True

    def _collect(self, future: concurrent.futures.Future[bool]) -> None:
        try:
            ours = future.result()
        except Exception as exc:  # noqa: BLE001 - storage hiccups are retried on the next beat
            logger.warning("could not refresh the lock of experiment %s (%s); retrying in %g s",
                           self._lock.url, exc, self._period_s)
            return
        if not ours and not self._lost:
            self._lost = True
            logger.error(
                "another run took over the lock of experiment %s while this one ran (its "
                "heartbeat was missed for over %g s?); stopping this run so that the two do not "
                "overwrite each other", self._lock.url, self._lock.stale_after_s)
            self._on_lost()


__all__ = [
    "HEARTBEAT_PERIOD_S",
    "LOCK_FILE",
    "STALE_AFTER_S",
    "ExperimentLock",
    "LockHeartbeat",
]
