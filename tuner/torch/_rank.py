"""A rank process of a `TorchTrainer`: joins the process group and runs the train loop.

Started by the coordinator as ``python -c "from tuner.torch._rank import main; main()" FD PID``,
where FD is its end of a socket pair to the coordinator and PID the coordinator's pid. Inside,
`report`, `get_checkpoint` and `get_context` work as in any trial: a `RankSession` sends each
report to the coordinator and returns once the coordinator has persisted the round.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import datetime
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

import cloudpickle

from tuner._clock import SystemClock
from tuner._session import Session, StopTrial, set_session
from tuner.executors._protocol import CheckpointRef, Control, Event
from tuner.torch._messages import RankDone, RankFailed, RankReport, RankSetup, ReportAck

if TYPE_CHECKING:
    import torch

    from tuner.storage._checkpoint import Checkpoint

_PR_SET_PDEATHSIG = 1


class _AckChannel:
    """The rank's side of `Channel`: `report()` reads the control the last `ReportAck` carried."""

    def __init__(self) -> None:
        self.control: Control | None = None

    def send(self, event: Event) -> None:
        raise RuntimeError("a rank sends its results through RankSession, not a channel")

    def poll_control(self) -> Control | None:
        control, self.control = self.control, None
        return control

    def wait_control(self) -> Control:
        return self.poll_control() or Control.CONTINUE


class RankSession(Session):
    """The session of one rank: `report()` becomes a round trip to the coordinator.

    `report(metrics, checkpoint=...)` calls `fill`, then `persist` (while the checkpoint's local
    directory exists), then `send_result`. The rank sends its metrics and the directory in
    `persist` (or in `send_result` without a checkpoint) and blocks until the coordinator's
    `ReportAck`: the coordinator reads the directory in place, so it must outlive the wait.
    """

    def __init__(self, setup: RankSetup, conn: Connection, device: torch.device) -> None:
        self._channel = _AckChannel()
        super().__init__(setup.spec, self._channel, SystemClock())
        self.context = setup.context
        self.device = device
        self.num_reports = 0
        self._conn = conn
        self._checkpoint = setup.checkpoint
        self._metrics: dict[str, Any] = {}
        self._sent = False

    def fill(self, metrics: Mapping[str, Any]) -> dict[str, Any]:
        super().fill(metrics)  # the same type check and message as outside a trainer
        self._metrics = dict(metrics)
        self._sent = False
        return dict(metrics)

    def persist(self, local_dir: str) -> CheckpointRef:
        self._exchange(local_dir)
        return CheckpointRef(index=self.num_reports, path=local_dir)

    def send_result(self, result: dict[str, Any], checkpoint: CheckpointRef | None) -> None:
        if not self._sent:
            self._exchange(None)

    def _exchange(self, checkpoint_dir: str | None) -> None:
        self.num_reports += 1
        rank = int(self.context.world_rank or 0)
        self._conn.send(RankReport(rank, self.num_reports, self._metrics, checkpoint_dir))
        ack = self._conn.recv()
        if not isinstance(ack, ReportAck):
            raise RuntimeError(f"rank {rank} expected a ReportAck, got {ack!r} (a bug in tuner)")
        self._channel.control = ack.control
        self._sent = True

    def restore_checkpoint(self) -> Checkpoint | None:
        return self._checkpoint


def _die_with_parent(parent: int) -> None:
    """Exit when the coordinator dies, so that a killed trial leaves no rank training alone."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    def watch() -> None:  # also covers a parent that died before prctl, and other systems
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(0.5)

    threading.Thread(target=watch, name="tuner-watch-coordinator", daemon=True).start()


def _join_group(setup: RankSetup) -> torch.device:
    import torch
    import torch.distributed as dist

    context = setup.context
    # A rank's context always has its ranks (only the driver's context leaves them None).
    local_rank, rank = int(context.local_rank or 0), int(context.world_rank or 0)
    world_size = int(context.world_size or 1)
    device = torch.device("cpu")
    if setup.use_gpu:
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    timeout = datetime.timedelta(seconds=setup.timeout_s)
    store = dist.TCPStore(
        "127.0.0.1", setup.store_port, world_size, False, timeout=timeout
    )
    dist.init_process_group(
        setup.backend,
        store=store,
        rank=rank,
        world_size=world_size,
        timeout=timeout,
    )
    return device


def _leave_group() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def call_train_loop(fn: Callable[..., Any], config: Mapping[str, Any]) -> None:
    """Call `fn(config)`, or `fn()` for a train loop that takes no arguments (as Ray allows)."""
    import inspect

    try:
        takes_config = bool(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        takes_config = True
    if takes_config:
        fn(dict(config))
    else:
        fn()


def run(conn: Connection) -> None:
    """Join the group, run the train loop, and end with one `RankDone` or `RankFailed`."""
    setup = cloudpickle.loads(conn.recv_bytes())
    if not isinstance(setup, RankSetup):
        raise RuntimeError(f"a rank expected a RankSetup first, got {setup!r} (a bug in tuner)")
    rank = int(setup.context.world_rank or 0)
    session: RankSession | None = None
    try:
        fn = cloudpickle.loads(setup.train_fn)
        session = RankSession(setup, conn, _join_group(setup))
        set_session(session, process_wide=True)
        with contextlib.suppress(StopTrial):  # all ranks were told to stop: a clean end
            call_train_loop(fn, setup.config)
        _leave_group()
        session.run_at_end()
        conn.send(RankDone(rank, session.num_reports))
    except BaseException as exc:  # noqa: BLE001 - any failure goes to the coordinator
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        # No teardown: the other ranks may be blocked in a collective with this one, and the
        # coordinator kills the whole group as soon as it reads this.
        with contextlib.suppress(OSError):
            conn.send(RankFailed(rank, f"{type(exc).__name__}: {exc}", text))
    finally:
        set_session(None, process_wide=True)


def main() -> None:
    # Ctrl-C reaches the whole process group; the driver handles it and stops the trial.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(int(sys.argv[2]))
    conn = Connection(int(sys.argv[1]))
    import torch  # noqa: F401 - while the coordinator prepares the setup, not after

    try:
        run(conn)
    except (EOFError, OSError):
        pass  # the coordinator went away
    finally:
        conn.close()
    # Tearing down an interpreter that imported torch takes about half a second, for every
    # rank and every trial; the atexit handlers (logging, the user's) are all that matters.
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
