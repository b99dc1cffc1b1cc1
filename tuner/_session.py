"""The trial-side API: `report`, `get_checkpoint` and `get_context`, valid inside a running trial."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from tuner._clock import Clock, StepClock
from tuner.exceptions import TuneError
from tuner.executors._protocol import CheckpointRef, Control, Event, ResultEvent, TrialSpec
from tuner.storage._deferred import resolve_filesystem

if TYPE_CHECKING:
    from tuner.storage._checkpoint import Checkpoint


class Channel(Protocol):
    """How a running trial talks to the event loop (a socket to the driver, or a queue)."""

    def send(self, event: Event) -> None: ...

    def poll_control(self) -> Control | None:
        """The driver's latest control message, without blocking (None if there is none)."""
        ...

    def wait_control(self) -> Control:
        """Block until the driver answers the last result."""
        ...


class StopTrial(BaseException):
    """Raised inside `report()` when the driver asked the trial to stop or pause.

    A BaseException, so that a trainable's `except Exception` does not swallow it.
    """

    def __init__(self, control: Control) -> None:
        super().__init__(control.value)
        self.control = control


@dataclass(frozen=True)
class TrialContext:
    """What a running trial may know about itself (`get_context()`).

    Outside a trial (a driver script calls `get_context()` once, as Ray Tune allows) every
    getter returns None.

    Attributes:
        trial_id: The trial's id.
        trial_name: The trial's name.
        trial_dir: The trial's directory on the experiment's storage (maybe a remote path).
        experiment_name: The experiment's name.
        resources: The trial's resources, e.g. {"cpu": 1, "gpu": 0}.
        gpu_ids: The GPUs assigned to the trial (CUDA_VISIBLE_DEVICES is set to them).
        world_rank: Rank of this worker in a data-parallel group (0 outside one).
        local_rank: Rank on this machine (0 outside a group).
        world_size: Size of the group (1 outside one).
    """

    trial_id: str | None
    trial_name: str | None
    trial_dir: str | None
    experiment_name: str | None
    resources: Mapping[str, float] | None = field(default_factory=dict)
    gpu_ids: tuple[str, ...] = ()
    world_rank: int | None = 0
    local_rank: int | None = 0
    world_size: int | None = 1

    # Ray Tune's getters, by the names scripts call.
    def get_trial_id(self) -> str | None:
        return self.trial_id

    def get_trial_name(self) -> str | None:
        return self.trial_name

    def get_trial_dir(self) -> str | None:
        return self.trial_dir

    def get_experiment_name(self) -> str | None:
        return self.experiment_name

    def get_trial_resources(self) -> Mapping[str, float] | None:
        return self.resources

    def get_world_rank(self) -> int | None:
        return self.world_rank

    def get_world_size(self) -> int | None:
        return self.world_size

    def get_local_rank(self) -> int | None:
        return self.local_rank

    def get_local_world_size(self) -> int | None:
        return None if self.world_size is None else self.world_size  # one machine per group

    def get_node_rank(self) -> int | None:
        return None if self.world_rank is None else 0


OUTSIDE_A_TRIAL = TrialContext(
    trial_id=None, trial_name=None, trial_dir=None, experiment_name=None, resources=None,
    world_rank=None, local_rank=None, world_size=None,
)
"""The context `get_context()` returns in the driver: every getter gives None."""


_HOSTNAME = socket.gethostname()
logger = logging.getLogger(__name__)


class Session:
    """State of one running trial on the trial side: iteration count, timing, checkpoint index."""

    def __init__(self, spec: TrialSpec, channel: Channel, clock: Clock) -> None:
        self.spec = spec
        self.channel = channel
        self.clock = clock
        # Under SimulatedExecutor a result says how long its step took, and moves the clock so.
        self._take_step = clock.take_step if isinstance(clock, StepClock) else None
        self.iteration = spec.start_iteration
        self.time_total = spec.time_total_s
        self._restore_start = clock.monotonic()
        self._last_report = self._restore_start
        self.checkpoint_index = spec.next_checkpoint_index
        self._pid = os.getpid()  # the process the trial runs in: read once, not per result
        self.context = TrialContext(
            trial_id=spec.trial_id,
            trial_name=spec.trial_name,
            trial_dir=spec.trial_path,
            experiment_name=spec.experiment_name,
            resources=dict(spec.resources),
            gpu_ids=spec.gpu_ids,
        )
        self._at_end: list[Callable[[], None]] = []

    @property
    def filesystem(self) -> Any:
        """The experiment's fsspec filesystem (in a worker process, loaded on first use)."""
        return resolve_filesystem(self.spec.filesystem)

    def at_end(self, callback: Callable[[], None]) -> None:
        """Call `callback` once the trainable has returned or raised, before the event loop
        hears that the trial ended (so before `fit()` can return): integrations close there
        what a trial opened and left open (an MLflow or W&B run)."""
        self._at_end.append(callback)

    def run_at_end(self) -> None:
        """Run the `at_end` callbacks, in order; one that raises is logged, not raised (the
        trial's own outcome is what the loop must hear)."""
        callbacks, self._at_end = self._at_end, []
        for callback in callbacks:
            try:
                callback()
            except Exception:
                logger.warning("trial %s: a callback at its end failed", self.spec.trial_id,
                               exc_info=True)

    def fill(self, metrics: Mapping[str, Any]) -> dict[str, Any]:
        """The result as the engine records it: the user's metrics plus the auto-filled fields."""
        if not isinstance(metrics, Mapping):
            raise TypeError(
                f"report() takes a dict of metrics, got {type(metrics).__name__}: "
                "call report({'loss': value, ...})"
            )
        if self._take_step is not None:
            self._take_step(metrics)
        now = self.clock.monotonic()
        self.iteration += 1
        elapsed = now - self._last_report
        self._last_report = now
        self.time_total += elapsed
        result = dict(metrics)
        result.setdefault("done", False)
        result.update(
            training_iteration=self.iteration,
            time_this_iter_s=elapsed,
            time_total_s=self.time_total,
            time_since_restore=now - self._restore_start,
            iterations_since_restore=self.iteration - self.spec.start_iteration,
            timestamp=int(self.clock.time()),
            trial_id=self.spec.trial_id,
            pid=self._pid,
            hostname=_HOSTNAME,
        )
        return result

    def persist(self, local_dir: str) -> CheckpointRef:
        """Copy a local checkpoint directory to the trial's storage, complete before returning."""
        from tuner.storage._filesystem import checkpoint_dir_name, join, persist_directory

        index = self.checkpoint_index
        dest = join(self.spec.trial_path, checkpoint_dir_name(index))
        persist_directory(local_dir, self.filesystem, dest)
        self.checkpoint_index += 1
        return CheckpointRef(index=index, path=dest)

    def send_result(self, result: dict[str, Any], checkpoint: CheckpointRef | None) -> None:
        self.channel.send(ResultEvent(self.spec.trial_id, result, checkpoint))

    def restore_checkpoint(self) -> Checkpoint | None:
        if self.spec.restore_path is None:
            return None
        from tuner.storage._checkpoint import Checkpoint

        return Checkpoint(self.spec.restore_path, self.filesystem)


_local = threading.local()
_process_session: Session | None = None
"""The session of the trial this worker process runs, for threads the trainable starts itself."""


def set_session(session: Session | None, *, process_wide: bool = False) -> None:
    global _process_session
    _local.session = session
    if process_wide:
        _process_session = session


def current_session(caller: str) -> Session:
    session: Session | None = getattr(_local, "session", None) or _process_session
    if session is None:
        raise TuneError(
            f"{caller}() was called outside a trial: call it from a trainable that "
            "Tuner.fit() runs"
        )
    return session


def report(metrics: Mapping[str, Any], *, checkpoint: Checkpoint | None = None) -> None:
    """Report a training result, and optionally a checkpoint, from inside a function trainable.

    The checkpoint's files are copied to the experiment's storage before `report` returns, so
    the directory may be deleted right after. The engine adds `training_iteration`,
    `time_this_iter_s`, `time_total_s`, `timestamp`, `trial_id` and `done` to the metrics.

    Example:
        >>> def train_fn(config):
        ...     for step in range(10):
        ...         report({"loss": 1.0 / (step + 1)})
    """
    session = current_session("report")
    result = session.fill(metrics)
    ref = None
    if checkpoint is not None:
        with checkpoint.as_directory() as local_dir:
            ref = session.persist(local_dir)
    session.send_result(result, ref)
    if session.spec.synchronous:
        control: Control | None = session.channel.wait_control()
    else:
        control = session.channel.poll_control()
    if control is Control.STOP or control is Control.PAUSE:
        raise StopTrial(control)


def get_checkpoint() -> Checkpoint | None:
    """The checkpoint this trial resumes from (after a failure, a pause, a restore), else None."""
    return current_session("get_checkpoint").restore_checkpoint()


def get_context() -> TrialContext:
    """Facts about the running trial: id, name, directory, resources, ranks.

    Outside a trial it returns a context whose getters all give None (as Ray Tune's does).
    """
    session: Session | None = getattr(_local, "session", None) or _process_session
    return OUTSIDE_A_TRIAL if session is None else session.context


def get_preemption_info() -> None:
    """Ray Train's notice that a worker's node is about to be preempted: always None here.

    tuner's workers are processes of this machine or of a Dask cluster, and neither gives
    notice before a worker goes away, so there is never a preemption to announce. A worker
    that is lost fails its trial, which `FailureConfig(max_failures=...)` retries from the
    latest checkpoint. Calling it costs nothing and needs no other rank (in Ray it is a
    barrier across the workers).
    """
    return None
