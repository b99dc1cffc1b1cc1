"""The Dask side of `DaskExecutor`: a long-running task that hosts one trial slot on a worker.

A slot is one `tuner.executors._worker` process, started by a Dask task and reused for trial after trial,
exactly like a `LocalExecutor` worker. The task opens two connections back to the driver:

* the *data* connection, handed to the worker process: trial specs and controls go down it,
  results stream up it with no Dask machinery in between;
* the *control* connection, kept by the task: it reports the worker process's pid and exit
  code, and when the driver closes it (it gave up on the trial, or went away) the task kills
  the worker process. A Dask worker that dies takes the control connection with it, which is
  how the driver learns of a lost worker at once.

This module runs on Dask workers: it imports nothing from Dask at module level and nothing the
workers would not have (tuner itself must be installed there).
"""

from __future__ import annotations

import contextlib
import enum
import os
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from multiprocessing.connection import Client, Connection, wait

from tuner.executors._protocol import Shutdown

_RETIRE_GRACE_S = 5.0  # how long an idle worker process may take to exit when retired


class Role(enum.Enum):
    """Which of a slot's two connections this is."""

    CONTROL = "control"
    DATA = "data"


@dataclass(frozen=True)
class SlotHello:
    """Slot -> driver, first message on each connection: who is calling.

    Attributes:
        token: The slot's token, as the driver passed it to the task.
        role: Which connection this is.
        worker_address: The Dask worker's address.
        hostname: The Dask worker's host name.
        gpu_ids: The GPUs the slot's trials get (its CUDA_VISIBLE_DEVICES), maybe none.
    """

    token: str
    role: Role
    worker_address: str
    hostname: str
    gpu_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChildStarted:
    """Slot -> driver (control): the worker process started."""

    pid: int


@dataclass(frozen=True)
class ChildExited:
    """Slot -> driver (control): the worker process ended, with its exit code."""

    code: int

def no_delay(conn: Connection) -> None:
    """Send small messages at once (TCP_NODELAY): results and controls are small, and Nagle's
    algorithm with delayed ACKs would hold each for up to 40 ms."""
    with socket.socket(fileno=os.dup(conn.fileno())) as sock:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _gpu_ids(indices: tuple[int, ...]) -> tuple[str, ...]:
    """The ids of the worker's GPUs at `indices`: positions in its own CUDA_VISIBLE_DEVICES."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return tuple(str(i) for i in indices)
    ids = [part.strip() for part in visible.split(",") if part.strip() not in ("", "-1")]
    return tuple(ids[i] if i < len(ids) else str(i) for i in indices)


def _spawn(data: Connection, gpu_ids: tuple[str, ...], gpus_declared: bool) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    # The Dask worker's import path (it includes files sent with Client.upload_file), so that
    # trainables pickled by reference import in the trial as they do on the worker.
    env["PYTHONPATH"] = os.pathsep.join(p or os.getcwd() for p in sys.path)
    if gpus_declared:
        env["CUDA_VISIBLE_DEVICES"] = ",".join(gpu_ids)
    fd = data.fileno()
    return subprocess.Popen(
        [sys.executable, "-c", "from tuner.executors._worker import main; main()", str(fd)],
        pass_fds=[fd],
        env=env,
    )


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait()


def _supervise(ctl: Connection, process: subprocess.Popen[bytes]) -> None:
    """Relay the worker process's exit to the driver; kill it when the driver lets go."""
    exited_r, exited_w = socket.socketpair()

    def watch() -> None:
        process.wait()
        with contextlib.suppress(OSError):  # the slot already ended
            exited_w.send(b"x")

    threading.Thread(target=watch, name="tuner-slot-watch", daemon=True).start()
    try:
        while True:
            ready = wait([ctl, exited_r])
            if exited_r in ready:
                with contextlib.suppress(OSError):
                    ctl.send(ChildExited(process.returncode))
                return
            try:
                message = ctl.recv()
            except (EOFError, OSError):
                _kill(process)  # the driver gave up on this slot, or is gone
                return
            if isinstance(message, Shutdown):
                try:
                    process.wait(timeout=_RETIRE_GRACE_S)
                except subprocess.TimeoutExpired:
                    _kill(process)
                return
    finally:
        exited_r.close()
        exited_w.close()


def run_slot(
    address: tuple[str, int],
    authkey: bytes,
    token: str,
    gpu_indices: tuple[int, ...],
    gpus_declared: bool,
) -> None:
    """The Dask task of one slot: start a worker process and supervise it until released.

    Args:
        address: The driver's listener.
        authkey: The listener's key.
        token: Names this slot to the driver.
        gpu_indices: Which of the Dask worker's GPUs (positions in its CUDA_VISIBLE_DEVICES, or
            device numbers) the slot's trials use.
        gpus_declared: Whether the Dask worker declares a GPU resource; then CUDA_VISIBLE_DEVICES
            is set for the trials (to nothing for trials without GPUs).
    """
    from distributed import get_worker, secede

    # The slot mostly waits; leaving the thread pool keeps it from blocking other Dask tasks.
    # Its resources (resources={"CPU": ..., "GPU": ...}) stay held until it returns.
    secede()
    worker_address = get_worker().address
    hostname = socket.gethostname()
    gpu_ids = _gpu_ids(gpu_indices)
    ctl = Client(address, authkey=authkey)
    no_delay(ctl)
    try:
        ctl.send(SlotHello(token, Role.CONTROL, worker_address, hostname, gpu_ids))
        data = Client(address, authkey=authkey)
        no_delay(data)
        try:
            data.send(SlotHello(token, Role.DATA, worker_address, hostname, gpu_ids))
            process = _spawn(data, gpu_ids, gpus_declared)
        finally:
            data.close()  # the worker process holds its own copy
        try:
            ctl.send(ChildStarted(process.pid))
        except OSError:
            _kill(process)
            return
        _supervise(ctl, process)
    finally:
        ctl.close()
