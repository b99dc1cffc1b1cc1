"""One trial as the dashboard shows it: its saved entry in the experiment state, and its history
as its ``result.json`` holds it, followed with a `LineTail`.

The state says the status, config, error and checkpoints (it is saved every few seconds while
an experiment runs); the history says the results (flushed about as often). `TrialView` joins
the two and keeps what the trial table needs ready: the flat config, the last and best values
of each metric, and a lower-case text to filter on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tuner.analysis._result import flatten
from tuner.dashboard._history import History, is_number
from tuner.dashboard._tail import LineTail, Poll, clean_row

if TYPE_CHECKING:
    import fsspec

    from tuner._trial import Trial

RESULT_FILE = "result.json"


def error_line(text: str | None) -> str | None:
    """The last line of a traceback: the exception and its message."""
    if not text or not text.strip():
        return None
    return text.strip().splitlines()[-1]


class TrialView:
    """A trial of a `LiveExperiment`.

    Args:
        trial: The trial as the state holds it, its path pointed into the experiment directory
            (`SavedExperiment.trials`).
        fs: The filesystem of its directory, or None for the local disk.
        readable: False when its directory is a link that leads outside the storage root:
            then nothing in it is read.
        modes: The experiment's objectives and their modes ("min"/"max"): "best" values are
            kept for these.
    """

    def __init__(self, trial: Trial, fs: fsspec.AbstractFileSystem | None, *, readable: bool,
                 modes: Mapping[str, str]) -> None:
        self.trial_id = trial.trial_id
        self.readable = readable
        self.path = trial.path
        self._modes = dict(modes)
        self.tail = LineTail(fs, f"{trial.path.rstrip('/')}/{RESULT_FILE}") if readable else None
        self.history = History()
        self.best: dict[str, float] = {}
        self._last: dict[str, Any] = {}
        self.set_trial(trial)

    # ------------------------------------------------------------------ state
    def set_trial(self, trial: Trial) -> None:
        """Take the trial's entry from a newer state."""
        self.trial = trial
        self.status = trial.status.value
        self.config = trial.config
        self.flat_config = flatten(trial.config)
        self.error = error_line(trial.error)
        self._state_last = clean_row(dict(trial.last_result))
        self.search_text = "\n".join(
            [self.trial_id, *(str(v) for v in self.flat_config.values())]
        ).lower()
        self._row: dict[str, Any] | None = None

    # ------------------------------------------------------------------ results
    def apply(self, found: Poll) -> bool:
        """Take what a poll of its result.json found; whether anything changed."""
        if not found.changed:
            return False
        if found.reset:
            self.history = History()
            self.best = {}
        self.history.extend(found.rows)
        self._update_best(found.rows)
        self._last = self.history.last()
        self._row = None
        return True

    def _update_best(self, rows: list[dict[str, Any]]) -> None:
        for metric, mode in self._modes.items():
            values = [v for v in (row.get(metric) for row in rows) if is_number(v)]
            old = self.best.get(metric)
            if old is not None:
                values.append(old)
            if values:
                self.best[metric] = float(min(values) if mode == "min" else max(values))

    @property
    def last(self) -> dict[str, Any]:
        """The latest result: the last line of result.json, or the state's when there is none."""
        return self._last if len(self.history) else self._state_last

    @property
    def iterations(self) -> int:
        value = self.last.get("training_iteration")
        return int(value) if is_number(value) else len(self.history)

    def numeric_keys(self) -> set[str]:
        """Keys any of its results holds a number in."""
        if len(self.history):
            return self.history.numeric_keys
        return {k for k, v in self._state_last.items() if is_number(v)}

    def numeric_last(self) -> dict[str, float]:
        return {k: v for k, v in self.last.items() if is_number(v)}

    def best_values(self) -> dict[str, float]:
        """Best value of each objective over the history (its last value without a history)."""
        if len(self.history):
            return dict(self.best)
        last = self.last
        return {m: float(last[m]) for m in self._modes if is_number(last.get(m))}

    def row(self) -> dict[str, Any]:
        """The trial table's row (cached until the trial changes)."""
        if self._row is None:
            self._row = {
                "trial_id": self.trial_id,
                "status": self.status,
                "config": self.flat_config,
                "last": self.numeric_last(),
                "best": self.best_values(),
                "iterations": self.iterations,
                "error": self.error,
            }
        return self._row

    def value(self, column: str) -> Any:
        """The value a trial table column shows (None when the trial has none)."""
        if column == "trial_id":
            return self.trial_id
        if column == "status":
            return self.status
        if column == "iterations":
            return self.iterations
        kind, _, key = column.partition("/")
        if kind == "config":
            return self.flat_config.get(key)
        if kind == "last":
            return self.last.get(key)
        if kind == "best":
            return self.best_values().get(key)
        raise KeyError(column)
