"""Which trials wait for a worker, as far as a scheduler can tell from what it is shown."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schedulers._trial_view import TrialStatus, TrialView

_WAITING = (TrialStatus.PENDING, TrialStatus.PAUSED)


class StatusBook:
    """The last known status of every trial, for schedulers that yield time to waiting trials.

    A scheduler hears of every status change: the views of `on_trial_add`, `on_trial_result`
    and `on_trial_status`, its own PAUSE decisions, the RUN suggestions the loop carries out
    (`mark` them RUNNING), and the end hooks (`forget`). This book keeps the latest, so that a
    scheduler knows how many trials wait without being shown them all.
    """

    def __init__(self) -> None:
        self._status: dict[str, TrialStatus] = {}
        self._waiting: set[str] = set()
        """Ids whose status is PENDING or PAUSED, so that `others_waiting` is O(1)."""

    def see(self, trial: TrialView) -> None:
        """Record the status shown in a view (a finished trial is forgotten)."""
        if trial.status.is_finished:
            self.forget(trial.trial_id)
        else:
            self.mark(trial.trial_id, trial.status)

    def mark(self, trial_id: str, status: TrialStatus) -> None:
        """Record a status the scheduler's own decision implies."""
        self._status[trial_id] = status
        if status in _WAITING:
            self._waiting.add(trial_id)
        else:
            self._waiting.discard(trial_id)

    def forget(self, trial_id: str) -> None:
        """Drop a trial that ended."""
        self._status.pop(trial_id, None)
        self._waiting.discard(trial_id)

    def status(self, trial_id: str) -> TrialStatus | None:
        """The trial's last known status (None once it ended, or before it was seen)."""
        return self._status.get(trial_id)

    @property
    def waiting(self) -> int:
        """How many trials are PENDING or PAUSED."""
        return len(self._waiting)

    def others_waiting(self, trial_id: str) -> bool:
        """Whether a trial other than `trial_id` is PENDING or PAUSED (in constant time)."""
        return len(self._waiting) > (trial_id in self._waiting)

    def state_dict(self) -> dict[str, Any]:
        """The book as JSON data."""
        return {trial_id: status.value for trial_id, status in self._status.items()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore the book from `state_dict()`."""
        self._status = {trial_id: TrialStatus(value) for trial_id, value in state.items()}
        self._waiting = {t for t, status in self._status.items() if status in _WAITING}
