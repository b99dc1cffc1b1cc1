"""`WorkerGroup`: the rank processes of one trial, started, watched and ended together."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait

import cloudpickle

from tuner.exceptions import ConfigError, WorkerDiedError
from tuner.executors._processes import describe_exit
from tuner.torch._messages import RankDone, RankFailed, RankMessage, RankSetup, ReportAck


class RankDiedError(WorkerDiedError):
    """A rank's process died (`WorkerGroup.recv`); `rank` says which."""

    def __init__(self, message: str, *, rank: int = -1, trial_id: str = "",
                 traceback: str = "") -> None:
        super().__init__(message, trial_id=trial_id, traceback=traceback)
        self.rank = rank


@dataclass
class _Rank:
    rank: int
    process: subprocess.Popen[bytes]
    conn: Connection
    ended: bool = False  # sent its RankDone or RankFailed


class WorkerGroup:
    """Rank processes that talk to this process (the coordinator) over socket pairs.

    Use as a context manager: leaving the block kills whatever rank is still running, so no
    rank outlives its trial whichever way the trial ends. `close` is the polite end: it waits
    for ranks that already said they are done to exit, then kills the rest.
    """

    def __init__(self, ranks: list[_Rank]) -> None:
        self._ranks = ranks

    @classmethod
    def start(cls, world_size: int, *, env: Mapping[str, str] | None = None) -> WorkerGroup:
        """Start `world_size` rank processes; each waits for its `RankSetup` (see `send_setups`).

        The ranks start before their setup is known so that their interpreter start and
        `import torch` overlap with the coordinator's own preparations.
        """
        group = cls([])
        try:
            for rank in range(world_size):
                group._ranks.append(_spawn(rank, world_size, env or {}))
        except BaseException:
            group.kill()
            raise
        return group

    def send_setups(self, setups: Sequence[RankSetup]) -> None:
        """Send every rank its setup (rank i gets `setups[i]`).

        Cloudpickled, like the train loop: its config may hold lambdas or objects of classes
        defined in the driver's `__main__`, which plain pickle cannot send.
        """
        for rank, setup in zip(self._ranks, setups, strict=True):
            try:
                blob = cloudpickle.dumps(setup)
            except Exception as exc:
                raise ConfigError(
                    f"the train loop's config cannot be sent to the rank processes "
                    f"({type(exc).__name__}: {exc}): create such objects (open files, locks, "
                    "sockets) inside the train loop, or pass a factory that builds them"
                ) from exc
            with contextlib.suppress(OSError):  # it died already: `recv` reports it
                rank.conn.send_bytes(blob)

    def __enter__(self) -> WorkerGroup:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()

    @property
    def running(self) -> bool:
        """Whether some rank has not yet said it is done or failed (nor died)."""
        return any(not r.ended for r in self._ranks)

    def recv(self, timeout: float | None) -> list[RankMessage]:
        """The messages that arrive within `timeout`; raises `RankDiedError` if a rank died."""
        live = [r for r in self._ranks if not r.ended]
        if not live:
            return []
        ready = wait([r.conn for r in live], timeout)
        messages: list[RankMessage] = []
        for rank in [r for r in live if r.conn in ready]:
            try:
                while rank.conn.poll():
                    message: RankMessage = rank.conn.recv()
                    messages.append(message)
                    if isinstance(message, RankDone | RankFailed):
                        rank.ended = True
                        break
            except (EOFError, OSError):
                rank.ended = True
                raise self._died(rank) from None
        return messages

    def _died(self, rank: _Rank) -> RankDiedError:
        try:
            code: int | None = rank.process.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            code = None
        message = (
            f"rank {rank.rank} of {len(self._ranks)} (pid {rank.process.pid}) "
            f"{describe_exit(code)}; the other ranks were stopped"
        )
        return RankDiedError(message, rank=rank.rank, traceback=message)

    def send_all(self, ack: ReportAck) -> None:
        """Send `ack` to every rank still running (one that died is noticed by `recv`)."""
        for rank in self._ranks:
            if not rank.ended:
                with contextlib.suppress(OSError):
                    rank.conn.send(ack)

    def close(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for every rank to exit, then kill those that did not."""
        deadline = time.monotonic() + timeout
        for rank in self._ranks:
            with contextlib.suppress(subprocess.TimeoutExpired):
                rank.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        self.kill()

    def kill(self) -> None:
        """Kill every rank that is still running and reap all of them."""
        for rank in self._ranks:
            if rank.process.poll() is None:
                rank.process.kill()
        for rank in self._ranks:
            rank.process.wait()
            rank.conn.close()


def _spawn(rank: int, world_size: int, extra_env: Mapping[str, str]) -> _Rank:
    parent_sock, child_sock = socket.socketpair()
    env = dict(os.environ)
    # The coordinator's import path (the driver's), so that train loops pickled by reference
    # import in the rank as they do in the driver.
    env["PYTHONPATH"] = os.pathsep.join(p or os.getcwd() for p in sys.path)
    env.update(extra_env)
    # One machine: the local rank is the world rank.
    env.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size),
               LOCAL_WORLD_SIZE=str(world_size))
    child_fd = child_sock.fileno()
    command = "from tuner.torch._rank import main; main()"
    try:
        process = subprocess.Popen(
            [sys.executable, "-c", command, str(child_fd), str(os.getpid())],
            pass_fds=[child_fd],
            env=env,
        )
    finally:
        child_sock.close()
    return _Rank(rank, process, Connection(parent_sock.detach()))
