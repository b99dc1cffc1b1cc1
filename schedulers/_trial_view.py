"""What a scheduler or searcher may know about a trial: a frozen, read-only view."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class TrialStatus(enum.Enum):
    """Where a trial is in its life cycle.

    The legal moves between statuses are in `tuner._trial.TRANSITIONS`; this enum lives here so that
    schedulers can read a trial's status without importing the engine.
    """

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    TERMINATED = "TERMINATED"
    ERROR = "ERROR"

    @property
    def is_finished(self) -> bool:
        return self in (TrialStatus.TERMINATED, TrialStatus.ERROR)


@dataclass(frozen=True)
class TrialView:
    """A snapshot of one trial, as schedulers see it.

    Attributes:
        trial_id: Unique id of the trial within its experiment.
        config: The trial's resolved hyperparameters.
        status: The trial's status when the view was taken.
        last_result: The latest result the trial reported (empty before the first).
        has_checkpoint: Whether the trial has a persisted checkpoint to resume or copy from.
    """

    trial_id: str
    config: Mapping[str, Any]
    status: TrialStatus
    last_result: Mapping[str, Any] = field(default_factory=dict)
    has_checkpoint: bool = False
