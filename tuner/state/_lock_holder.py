"""Who holds an experiment lock: the driver process named in the lock file, and whether it is gone.

A pid names a process only on one boot of one host's pid namespace (`Machine`), and only until
the pid is reused, so a holder is its machine, its pid and the process's start time
(`process_start_time`). `LockHolder.stale_reason` applies the rules of `tuner.state._lock`: on
this machine a holder is gone at once when its process is; seen from another one, when its
heartbeat is too old.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import functools
import json
import os
import socket
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Machine:
    """Where a process runs, as far as its pid means anything: one boot of one host's pid namespace.

    Two containers sharing a hostname still differ in `pid_namespace`; a rebooted host differs in
    `boot_id`. Both are None where the OS does not tell them (not Linux).
    """

    host: str
    boot_id: str | None
    pid_namespace: str | None


@functools.cache
def this_machine() -> Machine:
    boot_id = None
    with contextlib.suppress(OSError), open("/proc/sys/kernel/random/boot_id") as file:
        boot_id = file.read().strip()
    namespace = None
    with contextlib.suppress(OSError):
        namespace = os.readlink("/proc/self/ns/pid")
    return Machine(socket.gethostname(), boot_id, namespace)


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """``(state, start time)`` of process `pid` from /proc/<pid>/stat (fields 3 and 22).

    None where it cannot be read: no such process, no /proc (not Linux), or /proc mounted with
    ``hidepid`` and the process another user's.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            data = file.read()
    except OSError:
        return None
    # Field 2 is the command name in parentheses, which may itself hold spaces and ")".
    fields = data[data.rindex(b")") + 2 :].split()
    return fields[0].decode("ascii"), fields[19].decode("ascii")


def process_start_time(pid: int) -> str | None:
    """When process `pid` started, in clock ticks since boot; None where /proc does not say.

    With the pid, it names a process even after the pid is reused.

    Example:
        >>> process_start_time(os.getpid()) is None or process_start_time(os.getpid()).isdigit()
        True
    """
    stat = _proc_stat(pid)
    return None if stat is None else stat[1]


def _pid_exists(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


@dataclass(frozen=True)
class LockHolder:
    """What the lock file says about the driver that holds it (all times are wall-clock seconds)."""

    host: str
    boot_id: str | None
    pid_namespace: str | None
    pid: int
    process_start: str | None
    started_at: float
    heartbeat_at: float
    token: str

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), indent=1).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> LockHolder:
        """Parse a lock file. Raises ValueError if it is not one (empty, damaged, other JSON)."""
        try:
            raw = json.loads(data)
            # Fields a newer version adds are ignored; a missing one makes it unreadable.
            holder = cls(**{f.name: raw[f.name] for f in dataclasses.fields(cls)})
        except (UnicodeDecodeError, TypeError, KeyError) as exc:
            raise ValueError(f"not a tuner lock file: {exc!r}") from exc
        numbers = (holder.started_at, holder.heartbeat_at)
        if not (
            isinstance(holder.pid, int)
            and isinstance(holder.token, str)
            and isinstance(holder.host, str)
            and all(isinstance(n, (int, float)) for n in numbers)
        ):
            raise ValueError(f"not a tuner lock file: {raw!r}")
        return holder

    @property
    def machine(self) -> Machine:
        return Machine(self.host, self.boot_id, self.pid_namespace)

    def stale_reason(self, *, now: float, stale_after_s: float, here: Machine) -> str | None:
        """Why the holder is gone, or None while it may still be running."""
        # On Windows os.kill(pid, 0) would end the process: the heartbeat rule applies there.
        if self.machine == here and os.name != "nt":
            stat = _proc_stat(self.pid)
            if not _pid_exists(self.pid) or (stat is not None and stat[0] in ("Z", "X")):
                return f"its process (pid {self.pid} on this host) has exited"
            if stat is not None and self.process_start not in (None, stat[1]):
                return f"pid {self.pid} now belongs to another process (started at another time)"
            return None
        age = now - self.heartbeat_at
        if age > stale_after_s:
            return f"it runs on another host and its heartbeat is {age:.0f} s old (> {stale_after_s:g} s)"
        return None

    def describe(self, now: float) -> str:
        try:
            when = datetime.datetime.fromtimestamp(self.started_at).astimezone()
            started = when.isoformat(timespec="seconds")
        except (OverflowError, OSError, ValueError):  # a damaged file: say what it holds
            started = f"at {self.started_at!r}"
        return (
            f"host {self.host!r}, pid {self.pid}, started {started}, "
            f"last heartbeat {max(0.0, now - self.heartbeat_at):.0f} s ago"
        )


def token_of(data: bytes) -> str | None:
    """The token of the lock file `data`; None if it is not one."""
    try:
        return LockHolder.from_bytes(data).token
    except ValueError:
        return None


__all__ = ["LockHolder", "Machine", "process_start_time", "this_machine", "token_of"]
