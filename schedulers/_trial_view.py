"""What a scheduler or searcher may know about a trial: a frozen, read-only view."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from schedulers._frozen import FrozenDict


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
    """A snapshot of one trial, as schedulers see it: read-only at every depth.

    `config` and `last_result` are `FrozenDict`s over the trial's own data (see
    `schedulers._frozen`): dicts in every way but that nothing in them, nested dicts and lists
    included, can be changed, so a scheduler cannot alter a trial behind the engine's back. To
    build a new config from one (as PBT does), copy it: `copy.deepcopy(view.config)` gives
    plain dicts and lists; hand it back in a decision (a `TrialSuggestion`).

    Attributes:
        trial_id: Unique id of the trial within its experiment.
        config: The trial's resolved hyperparameters.
        status: The trial's status when the view was taken.
        last_result: The latest result the trial reported (empty before the first).
        has_checkpoint: Whether the trial has a persisted checkpoint to resume or copy from.

    Example:
        >>> view = TrialView("t0", {"lr": 0.1}, TrialStatus.RUNNING)
        >>> view.config["lr"] = 1.0  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        TypeError: cannot set 'lr': a trial view's config and last_result are read-only; ...
    """

    trial_id: str
    config: Mapping[str, Any]
    status: TrialStatus
    last_result: Mapping[str, Any] = field(default_factory=dict)
    has_checkpoint: bool = False

    def __post_init__(self) -> None:
        # A shallow copy of each top level (cheap: views are made per result); nested values
        # are wrapped as they are read. Frozen views of frozen data share it.
        for name in ("config", "last_result"):
            value = getattr(self, name)
            if not isinstance(value, FrozenDict):
                object.__setattr__(self, name, FrozenDict(value))

    @classmethod
    def of(
        cls,
        trial_id: str,
        config: FrozenDict,
        status: TrialStatus,
        last_result: Mapping[str, Any],
        has_checkpoint: bool,
    ) -> TrialView:
        """The view the engine makes of a trial after each of its results, without the
        dataclass's checks: `config` is a `FrozenDict` already (the engine keeps one per
        config and shares it between views); `last_result` is copied, as `__init__` does.

        Example:
            >>> view = TrialView.of("t0", FrozenDict({"lr": 0.1}), TrialStatus.RUNNING, {}, False)
            >>> view == TrialView("t0", {"lr": 0.1}, TrialStatus.RUNNING)
            True
        """
        view = object.__new__(cls)
        view.__dict__.update(
            trial_id=trial_id, config=config, status=status,
            last_result=FrozenDict(last_result), has_checkpoint=has_checkpoint,
        )
        return view
