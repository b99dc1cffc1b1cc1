"""Messages between the event loop and the places trials run (worker processes or threads).

The driver sends a `TrialSpec` to start a trial and a `Control` after results; the trial sends
back `ResultEvent`s (and a `CheckpointEvent` for each checkpoint the driver asked for) and ends
with exactly one `EndEvent` or `ErrorEvent`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tuner.exceptions import TrialError


class TrainableKind(enum.Enum):
    FUNCTION = "function"
    CLASS = "class"


class Control(enum.Enum):
    """The driver's answer to a result.

    CHECKPOINT is sent to class trainables only, and always followed by one of the others: save
    a checkpoint of the state that produced the last result (sent back in a `CheckpointEvent`),
    then act on the next answer (a PAUSE or STOP then saves no second one).
    """

    CONTINUE = "CONTINUE"
    PAUSE = "PAUSE"
    STOP = "STOP"
    CHECKPOINT = "CHECKPOINT"

    @property
    def ends_trial(self) -> bool:
        """Whether the trial stops running on this answer (PAUSE or STOP)."""
        return self is Control.PAUSE or self is Control.STOP


class EndReason(enum.Enum):
    """Why a trial's trainable stopped running."""

    DONE = "DONE"  # the function returned, or a step said done=True
    STOPPED = "STOPPED"  # the driver asked it to stop
    PAUSED = "PAUSED"  # the driver asked it to pause (a class trainable saved a checkpoint)


@dataclass(frozen=True)
class CheckpointRef:
    """A checkpoint persisted by a trial: its index and its path on the experiment's filesystem."""

    index: int
    path: str


@dataclass(frozen=True)
class TrialSpec:
    """Everything a worker needs to run (or resume) one trial.

    Attributes:
        trial_id: The trial's id.
        trial_name: The trial's display name (`TuneConfig(trial_name_creator)`; by default its
            directory's name).
        trainable_key: Key under which the driver registered the trainable with the worker.
        config: The resolved hyperparameters.
        trial_path: The trial's directory on the experiment filesystem.
        filesystem: The experiment's fsspec filesystem (checkpoints are written straight to
            it); in a worker process, a `DeferredFilesystem` that loads it on first use (read
            it through `resolve_filesystem`).
        restore_path: A checkpoint directory on `filesystem` to resume from, or None.
        start_iteration: training_iteration of the checkpoint resumed from (0 for a fresh start).
        time_total_s: time_total_s at that checkpoint.
        next_checkpoint_index: Index the next persisted checkpoint gets.
        checkpoint_frequency: Class trainables checkpoint every N iterations (0: never).
        checkpoint_at_end: Class trainables checkpoint when they end.
        resources: The trial's resources, e.g. {"cpu": 1, "gpu": 0}.
        gpu_ids: GPUs assigned to the trial (also exported as CUDA_VISIBLE_DEVICES).
        experiment_name: Name of the experiment.
        synchronous: Whether a function trainable's `report()` waits for the driver's decision
            (set when the scheduler may pause trials, so that a pause lands on that result).
        log_files: Local paths the trial's stdout and stderr go to (`RunConfig(log_to_file)`).
    """

    trial_id: str
    trial_name: str
    trainable_key: str
    config: Mapping[str, Any]
    trial_path: str
    filesystem: Any
    restore_path: str | None = None
    start_iteration: int = 0
    time_total_s: float = 0.0
    next_checkpoint_index: int = 0
    checkpoint_frequency: int = 0
    checkpoint_at_end: bool = False
    resources: Mapping[str, float] = field(default_factory=dict)
    gpu_ids: tuple[str, ...] = ()
    experiment_name: str = ""
    synchronous: bool = False
    log_files: tuple[str, str] | None = None


@dataclass(frozen=True)
class ResultEvent:
    trial_id: str
    metrics: dict[str, Any]
    checkpoint: CheckpointRef | None = None


@dataclass(frozen=True)
class CheckpointEvent:
    """A checkpoint saved on the driver's `Control.CHECKPOINT`: of the trial's last result."""

    trial_id: str
    checkpoint: CheckpointRef


@dataclass(frozen=True)
class EndEvent:
    trial_id: str
    reason: EndReason
    checkpoint: CheckpointRef | None = None


@dataclass(frozen=True)
class ErrorEvent:
    trial_id: str
    error: TrialError


Event = ResultEvent | CheckpointEvent | EndEvent | ErrorEvent


@dataclass(frozen=True)
class Register:
    """Driver -> worker process: the trainable, cloudpickled, under a key."""

    key: str
    kind: TrainableKind
    blob: bytes
    reuse: bool


@dataclass(frozen=True)
class Shutdown:
    """Driver -> worker process: exit."""
