"""The coordinator: the trial a `TorchTrainer` runs as. It starts the ranks and reports for them.

It runs where the engine runs any function trainable (a worker process of `LocalExecutor`), so
its session is the trial's: when every rank has made its N-th `report()`, the coordinator
merges their checkpoint directories, calls the engine's `report()` with rank 0's metrics (which
persists the checkpoint), and only then lets the ranks go on. Any rank that fails, dies or
breaks step fails the trial after the whole group is killed; the engine's `FailureConfig` then
restarts the trial, and with it a new group, from the latest checkpoint.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import errno
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import cloudpickle

from tuner._session import StopTrial, TrialContext, current_session, report
from tuner.exceptions import ConfigError, TrialError, WorkerDiedError
from tuner.executors._protocol import Control
from tuner.storage._checkpoint import Checkpoint
from tuner.torch._barrier import ReportBarrier
from tuner.torch._config import TorchConfig
from tuner.torch._failures import RankFailure, clear_failures, write_failures
from tuner.torch._group import RankDiedError, WorkerGroup
from tuner.torch._messages import (
    RankDone,
    RankFailed,
    RankMessage,
    RankReport,
    RankSetup,
    ReportAck,
)
from tuner.torch._scaling import ScalingConfig

if TYPE_CHECKING:
    import torch.distributed as dist

logger = logging.getLogger(__name__)

_EXIT_GRACE_S = 30.0  # how long ranks that said they are done (or were told to stop) may take
_FAILURE_GRACE_S = 1.0  # after a first failure, how long to look for its root cause
_STORE_ATTEMPTS = 5


class RemoteTraceback(Exception):
    """A rank's traceback, chained under the coordinator's error so that it prints in full."""

    def __str__(self) -> str:
        return str(self.args[0])


def check_gpus(scaling: ScalingConfig) -> None:
    """Raise `ConfigError` unless torch sees one GPU per worker (when `use_gpu`).

    Checked before any rank starts, so that a machine without GPUs gives this error instead of
    an nccl initialisation that hangs or fails obscurely.
    """
    if not scaling.use_gpu:
        return
    import torch

    available = torch.cuda.is_available()
    count = torch.cuda.device_count() if available else 0
    if count < scaling.num_workers:
        raise ConfigError(
            f"ScalingConfig(num_workers={scaling.num_workers}, use_gpu=True) needs one GPU per "
            f"worker, but torch sees {count} (torch.cuda.is_available() is {available}, "
            f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r}): set "
            "use_gpu=False to train on CPUs with gloo, lower num_workers, or run where the "
            "GPUs are visible"
        )


def start_store(timeout_s: float) -> dist.TCPStore:
    """The group's rendezvous: a TCPStore on 127.0.0.1 at a free port the OS picks.

    Binding port 0 leaves no window in which another process could take the port between
    choosing and binding it; the retry covers an EADDRINUSE all the same.
    """
    import torch.distributed as dist

    for attempt in range(1, _STORE_ATTEMPTS + 1):
        try:
            return dist.TCPStore(
                "127.0.0.1",
                0,
                None,
                True,
                timeout=datetime.timedelta(seconds=timeout_s),
                wait_for_workers=False,
            )
        except (RuntimeError, OSError) as exc:
            in_use = getattr(exc, "errno", None) == errno.EADDRINUSE or "in use" in str(exc)
            if not in_use or attempt == _STORE_ATTEMPTS:
                raise
            logger.info("port taken while starting the process group's store; retrying")
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


@contextlib.contextmanager
def merged_checkpoint(reports: list[RankReport]) -> Iterator[str | None]:
    """One directory with the files of every rank's checkpoint (None if no rank passed one).

    The common case, one rank with files (or none with any), is used in place. Otherwise the
    ranks' files are copied together; where two ranks wrote the same file, the lower rank wins.
    """
    dirs = [r.checkpoint_dir for r in reports if r.checkpoint_dir is not None]
    with_files = [d for d in dirs if os.listdir(d)]
    if len(with_files) <= 1:
        candidates = with_files or dirs
        yield candidates[0] if candidates else None
        return
    merged = tempfile.mkdtemp(prefix="tuner-torch-checkpoint-")
    try:
        for directory in reversed(with_files):
            shutil.copytree(directory, merged, dirs_exist_ok=True, copy_function=shutil.copyfile)
        yield merged
    finally:
        shutil.rmtree(merged, ignore_errors=True)


def _report_round(reports: list[RankReport]) -> Control:
    """Report rank 0's metrics and the merged checkpoint to the engine; the driver's control."""
    with merged_checkpoint(reports) as directory:
        checkpoint = Checkpoint.from_directory(directory) if directory is not None else None
        try:
            report(reports[0].metrics, checkpoint=checkpoint)
        except StopTrial as stop:
            return stop.control
    return Control.CONTINUE


def _failure(
    first: RankDiedError | RankFailed,
    group: WorkerGroup,
    world_size: int,
    seen: Sequence[RankMessage] = (),
) -> tuple[TrialError, list[RankFailure]]:
    """The error to fail the trial with (a rank that died, else the first rank that raised),
    and each failed rank's failure, the cause first.

    When one rank dies, the others fail too (their collectives lose a peer), often before the
    coordinator sees the death; a short look for it names the cause instead of a symptom.
    """
    died: list[RankDiedError] = [first] if isinstance(first, RankDiedError) else []
    raised: list[RankFailed] = [first] if isinstance(first, RankFailed) else []
    raised += [m for m in seen if isinstance(m, RankFailed) and m is not first]
    deadline = time.monotonic() + _FAILURE_GRACE_S
    while not died and group.running and time.monotonic() < deadline:
        try:
            messages = group.recv(max(0.0, deadline - time.monotonic()))
        except RankDiedError as exc:
            died.append(exc)
            continue
        raised.extend(m for m in messages if isinstance(m, RankFailed))
    failures = [RankFailure(f.rank, f.summary, f.traceback) for f in raised]
    others = "; ".join(f"rank {f.rank} also failed: {f.summary}" for f in raised)
    if died:
        message = str(died[0]) + (f" ({others})" if others else "")
        cause = RankFailure(died[0].rank, str(died[0]), died=True)
        return WorkerDiedError(message, traceback=message), [cause, *failures]
    first = raised[0]
    also = "; ".join(f"rank {f.rank} also failed: {f.summary}" for f in raised[1:])
    error = TrialError(
        f"rank {first.rank} of {world_size} failed: {first.summary}"
        + (f" ({also})" if also else ""),
        traceback=first.traceback,
    )
    error.__cause__ = RemoteTraceback(f"\n\nrank {first.rank} traceback:\n{first.traceback}")
    return error, failures


def _coordinate(
    group: WorkerGroup,
    world_size: int,
    torch_config: TorchConfig,
    record: Callable[[Sequence[RankFailure]], None],
) -> None:
    """Run the group's report rounds to the end; on a failure, `record` the failed ranks and
    raise the trial's error."""
    barrier = ReportBarrier(world_size, timeout_s=torch_config.report_timeout_s)
    while not barrier.all_done:
        try:
            messages = group.recv(barrier.time_left(time.monotonic()))
        except RankDiedError as exc:
            error, failures = _failure(exc, group, world_size)
            record(failures)
            raise error from None
        for message in messages:
            if isinstance(message, RankFailed):
                error, failures = _failure(message, group, world_size, messages)
                record(failures)
                raise error from error.__cause__
            if isinstance(message, RankDone):
                barrier.add_done(message)
                continue
            reports = barrier.add_report(message, now=time.monotonic())
            if reports is None:
                continue
            control = _report_round(reports)
            group.send_all(ReportAck(control))
            if control is not Control.CONTINUE:
                group.close(_EXIT_GRACE_S)
                raise StopTrial(control)
        barrier.check_deadline(time.monotonic())
    group.close(_EXIT_GRACE_S)


def run_worker_group(
    train_fn: Callable[..., Any],
    config: Mapping[str, Any],
    scaling: ScalingConfig,
    torch_config: TorchConfig,
) -> None:
    """Run `train_fn` on `scaling.num_workers` ranks as the current trial, and end them all."""
    session = current_session("TorchTrainer")
    fs, trial_path = session.filesystem, session.spec.trial_path
    clear_failures(fs, trial_path)
    check_gpus(scaling)
    try:
        blob = cloudpickle.dumps(train_fn)
    except Exception as exc:
        raise ConfigError(
            f"train_loop_per_worker cannot be sent to the rank processes: {type(exc).__name__}: "
            f"{exc}. Everything it refers to must be picklable: create such objects inside it"
        ) from exc
    world_size = scaling.num_workers
    # One thread pool per rank the size of its CPUs, not of the machine, unless the user chose.
    threads = str(max(1, int(scaling.worker_resources()["cpu"])))
    env = {} if "OMP_NUM_THREADS" in os.environ else {"OMP_NUM_THREADS": threads}
    with WorkerGroup.start(world_size, env=env) as group:
        store = start_store(torch_config.timeout_s)
        try:
            checkpoint = session.restore_checkpoint()
            group.send_setups([
                RankSetup(
                    train_fn=blob,
                    config=dict(config),
                    spec=session.spec,
                    context=_rank_context(session.context, rank, world_size),
                    checkpoint=checkpoint,
                    backend=torch_config.backend_for(scaling.use_gpu),
                    store_port=store.port,
                    timeout_s=torch_config.timeout_s,
                    use_gpu=scaling.use_gpu,
                )
                for rank in range(world_size)
            ])
            _coordinate(
                group, world_size, torch_config, lambda failed: write_failures(fs, trial_path, failed)
            )
        finally:
            del store  # shuts the rendezvous server down


def _rank_context(context: TrialContext, rank: int, world_size: int) -> TrialContext:
    # One machine: the local rank is the world rank.
    return dataclasses.replace(context, world_rank=rank, local_rank=rank, world_size=world_size)
