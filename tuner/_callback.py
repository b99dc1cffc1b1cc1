"""The callback interface: hooks the event loop calls as trials start, report and end."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TrialInfo:
    """What a callback knows about a trial.

    Attributes:
        trial_id: Unique id within the experiment.
        name: Human-readable trial name, also the trial directory's name.
        config: The trial's resolved hyperparameters.
        local_path: A local directory where callbacks may write this trial's output files; the
            engine copies them to the experiment's storage (which may be remote).
        status: The trial's status name when the hook was called (PENDING, RUNNING, ...).
    """

    trial_id: str
    name: str
    config: Mapping[str, Any]
    local_path: str
    status: str = "PENDING"


class Callback:
    """Hooks the event loop calls; subclass and override the ones you need.

    Life cycle: `setup(experiment_local_path)` once, then per trial `on_trial_start` (also on
    every resume), `on_trial_result` per result, and one of `on_trial_complete` / `on_trial_error`
    when it ends (`on_trial_pause` if it is paused), `flush()` now and then and before files are
    copied to storage, and `on_experiment_end(trials)` once at the end. Hooks run on the event
    loop's thread, so they must be quick: buffer, and write in `flush()`.
    """

    def setup(self, experiment_local_path: str) -> None:
        """Called once before the first trial starts."""

    def on_trial_start(self, trial: TrialInfo) -> None:
        """A trial started or resumed."""

    def on_trial_result(self, trial: TrialInfo, result: Mapping[str, Any]) -> None:
        """A trial reported a result (already holding the auto-filled fields)."""

    def on_trial_pause(self, trial: TrialInfo) -> None:
        """A trial was paused (it may resume later, with `on_trial_start` again)."""

    def on_trial_complete(self, trial: TrialInfo) -> None:
        """A trial ended normally."""

    def on_trial_error(self, trial: TrialInfo, error: BaseException) -> None:
        """A trial failed (it may be retried, with `on_trial_start` again)."""

    def flush(self) -> None:
        """Write buffered output; called periodically and before storage syncs."""

    def on_experiment_end(self, trials: Sequence[TrialInfo]) -> None:
        """The experiment ended (normally, on error, or interrupted)."""
