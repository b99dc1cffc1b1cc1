"""Trials and their state machine."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from schedulers import TrialStatus, TrialView
from schedulers._frozen import FrozenDict
from tuner._lifecycle import TRANSITIONS
from tuner.exceptions import IllegalTransitionError

PENDING, RUNNING, PAUSED = TrialStatus.PENDING, TrialStatus.RUNNING, TrialStatus.PAUSED
TERMINATED, ERROR = TrialStatus.TERMINATED, TrialStatus.ERROR

@dataclass(frozen=True)
class StatusChange:
    """One entry of a trial's status history."""

    status: TrialStatus
    time: float


@dataclass
class CheckpointRecord:
    """A persisted checkpoint of a trial, with the result it was reported with.

    Attributes:
        index: Its number (the directory is `checkpoint_<index>`).
        path: Its directory on the experiment's storage.
        metrics: The result it was reported with.
        num_results: How many of the trial's results its output files held once that result was
            written: a trial resumed from this checkpoint has its files cut back to that many,
            so no result is written twice. None in states saved before it was recorded.
    """

    index: int
    path: str
    metrics: dict[str, Any]
    num_results: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"index": self.index, "path": self.path, "metrics": self.metrics}
        if self.num_results is not None:
            data["num_results"] = self.num_results
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckpointRecord:
        rows = data.get("num_results")
        return cls(
            index=int(data["index"]),
            path=str(data["path"]),
            metrics=dict(data["metrics"]),
            num_results=None if rows is None else int(rows),
        )


@dataclass
class Trial:
    """One configuration being trained: its identity, status, results and checkpoints.

    Status changes only through `transition`, which checks `TRANSITIONS` (derived from the life
    cycle table of `tuner._lifecycle`) and records the time.
    `revision` grows with every change of a field (and with `touch()` after the checkpoint list
    is changed in place), so the experiment saver knows which trials to serialise again.
    """

    trial_id: str
    name: str
    config: dict[str, Any]
    path: str
    resources: Mapping[str, float] = field(default_factory=lambda: {"cpu": 1.0, "gpu": 0.0})
    status: TrialStatus = PENDING
    history: list[StatusChange] = field(default_factory=list)
    last_result: dict[str, Any] = field(default_factory=dict)
    num_failures: int = 0
    error: str | None = None
    checkpoints: list[CheckpointRecord] = field(default_factory=list)
    next_checkpoint_index: int = 0
    restore_from: CheckpointRecord | None = None
    """The checkpoint the next start resumes from (latest own one, or a PBT donor's copy)."""
    num_results: int = 0
    """Results handed to the output files (result.json, progress.csv, TensorBoard) so far."""
    outputs_unknown: bool = field(default=False, compare=False)
    """Set on restore: the output files may hold results the saved state does not count (a
    crash after they were written), so they are cut back before the trial runs again."""
    on_transition: Callable[[Trial, TrialStatus], None] | None = field(
        default=None, repr=False, compare=False
    )

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name != "on_transition":
            self.__dict__["revision"] = self.__dict__.get("revision", 0) + 1

    @property
    def revision(self) -> int:
        """A number that changes whenever the trial does (never reused, unlike `id()`)."""
        return int(self.__dict__.get("revision", 0))

    def touch(self) -> None:
        """Note a change made in place (to `checkpoints` or `history`)."""
        self.__dict__["revision"] = self.revision + 1

    def transition(self, new: TrialStatus, now: float) -> None:
        """Move to `new`, or raise `IllegalTransitionError` if the state machine forbids it."""
        if new not in TRANSITIONS[self.status]:
            raise IllegalTransitionError(
                f"trial {self.trial_id} cannot go from {self.status.value} to {new.value}; "
                f"allowed from {self.status.value}: "
                f"{sorted(s.value for s in TRANSITIONS[self.status]) or 'none (final)'}"
            )
        old = self.status
        self.history.append(StatusChange(new, now))
        self.status = new
        if self.on_transition is not None:
            self.on_transition(self, old)

    @property
    def latest_checkpoint(self) -> CheckpointRecord | None:
        return self.checkpoints[-1] if self.checkpoints else None

    @property
    def never_started(self) -> bool:
        return all(change.status is not RUNNING for change in self.history)

    @property
    def iteration(self) -> int:
        return int(self.last_result.get("training_iteration", 0))

    def view(self) -> TrialView:
        """The scheduler's read-only view; the same object until the trial changes."""
        cached = self.__dict__.get("_view")
        if cached is not None and cached[0] == self.revision:
            return cached[1]
        # The config is frozen once per config (it changes by assignment, as PBT's exploits do),
        # not once per result; nothing here is a change: the revision stays.
        frozen = self.__dict__.get("_frozen_config")
        if frozen is None or frozen[0] is not self.config:
            frozen = self.__dict__["_frozen_config"] = (self.config, FrozenDict(self.config))
        view = TrialView.of(
            self.trial_id, frozen[1], self.status, self.last_result, bool(self.checkpoints)
        )
        self.__dict__["_view"] = (self.revision, view)
        return view


class TrialTable:
    """The experiment's trials in creation order, with an index by status kept by `transition`.

    Status lives on each trial; the index is derived from it and updated in the same call, so the
    two cannot disagree.
    """

    def __init__(self) -> None:
        self._trials: dict[str, Trial] = {}
        self._by_status: dict[TrialStatus, dict[str, Trial]] = {s: {} for s in TrialStatus}

    def add(self, trial: Trial) -> None:
        if trial.trial_id in self._trials:
            raise ValueError(f"duplicate trial id {trial.trial_id!r}")
        self._trials[trial.trial_id] = trial
        self._by_status[trial.status][trial.trial_id] = trial
        trial.on_transition = self._moved

    def _moved(self, trial: Trial, old: TrialStatus) -> None:
        del self._by_status[old][trial.trial_id]
        self._by_status[trial.status][trial.trial_id] = trial

    def __getitem__(self, trial_id: str) -> Trial:
        return self._trials[trial_id]

    def __contains__(self, trial_id: object) -> bool:
        return trial_id in self._trials

    def get(self, trial_id: str) -> Trial | None:
        return self._trials.get(trial_id)

    def __iter__(self) -> Iterator[Trial]:
        return iter(self._trials.values())

    def __len__(self) -> int:
        return len(self._trials)

    def with_status(self, *statuses: TrialStatus) -> list[Trial]:
        return [t for s in statuses for t in self._by_status[s].values()]

    def iter_status(self, *statuses: TrialStatus) -> Iterator[Trial]:
        """The trials with these statuses, in that order and then creation order, lazily
        (the table must not change while this is iterated)."""
        for status in statuses:
            yield from self._by_status[status].values()

    def count(self, status: TrialStatus) -> int:
        return len(self._by_status[status])
