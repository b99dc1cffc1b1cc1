"""Which trials wait for a worker, as far as a scheduler can tell from what it is shown."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from schedulers._trial_view import TrialStatus, TrialView

_WAITING = (TrialStatus.PENDING, TrialStatus.PAUSED)


class StatusBook:
    """The last known status of every trial, for schedulers that yield time to waiting trials.

    A scheduler only sees a trial's status in the views it is handed (`on_trial_add`,
    `on_trial_result`, `choose_trial_to_run`) and knows its own PAUSE decisions; this book keeps
    the latest of those. A trial returned by `choose_trial_to_run` is taken to be RUNNING, since
    the event loop starts what the scheduler picks.
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

    def see_all(self, trials: Iterable[TrialView]) -> None:
        """Record the statuses of a full list of views (forgetting trials no longer listed)."""
        self._status = {t.trial_id: t.status for t in trials if not t.status.is_finished}
        self._waiting = {t for t, status in self._status.items() if status in _WAITING}

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
