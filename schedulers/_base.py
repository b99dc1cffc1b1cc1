"""The scheduler interface: after each result, decide whether a trial continues, pauses or stops."""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from schedulers._frozen import thaw
from schedulers._trial_view import TrialStatus, TrialView


class Decision(enum.Enum):
    """What the event loop should do with a trial after a result."""

    CONTINUE = "CONTINUE"
    PAUSE = "PAUSE"
    STOP = "STOP"


@dataclass(frozen=True)
class Exploit:
    """A request to restart a paused trial from another trial's checkpoint with a new config.

    Attributes:
        donor_trial_id: The trial whose latest checkpoint the paused trial resumes from.
        new_config: The config the trial continues with, as plain dicts and lists (parts of a
            view's read-only config put in it are copied, so the trial's config is its own).
    """

    donor_trial_id: str
    new_config: Mapping[str, Any]

    def __post_init__(self) -> None:
        object.__setattr__(self, "new_config", thaw(self.new_config))


class TrialScheduler(abc.ABC):
    """Decides, after each result, whether a trial continues, pauses or stops.

    Life cycle, as driven by the event loop:

    1. `set_search_properties(metric, mode)` once before the first trial; a scheduler built
       with its own metric/mode checks that they agree.
    2. `on_trial_add(trial)` when a trial is created (and again for every trial on restore).
    3. `choose_trial_to_run(trials)` whenever a slot is free: pick a PENDING or PAUSED trial.
    4. `on_trial_result(trial, result)` after every result -> a `Decision`. After a PAUSE, and
       again just before a paused trial resumes, `take_exploit(trial_id)` tells whether it
       resumes from another trial's checkpoint with a new config (PBT).
    5. `take_trials_to_stop()` after each decision, end and choice: trials the scheduler gave
       up on.
    6. Exactly one of `on_trial_complete`, `on_trial_error` or `on_trial_remove` when a trial ends.
    7. `state_dict()` / `load_state_dict()` for experiment checkpoints: plain JSON data.

    Schedulers decide; they never act on trials, executors or storage.
    """

    pauses_trials: bool = False
    """Whether this scheduler pauses trials (they then resume from their latest checkpoint)."""

    supports_model_based_searchers: bool = True
    """False where the scheduler changes configs mid-trial (PBT), so that a model-based searcher's
    observations would not belong to the configs it proposed."""

    def __init__(self, *, metric: str | None = None, mode: str | None = None) -> None:
        if mode is not None and mode not in ("min", "max"):
            raise ValueError(f"`mode` must be 'min' or 'max', got mode={mode!r}")
        self.metric = metric
        self.mode = mode

    def set_search_properties(self, metric: str | None, mode: str | None) -> None:
        """Take the experiment's metric and mode unless the scheduler was built with its own.

        Raises:
            ValueError: When both define a metric or mode and they differ.
        """
        for name, ours, theirs in (("metric", self.metric, metric), ("mode", self.mode, mode)):
            if ours is not None and theirs is not None and ours != theirs:
                raise ValueError(
                    f"{type(self).__name__} was built with {name}={ours!r} but TuneConfig has "
                    f"{name}={theirs!r}: set it in one place only"
                )
        self.metric = self.metric if self.metric is not None else metric
        self.mode = self.mode if self.mode is not None else mode

    def on_trial_add(self, trial: TrialView) -> None:  # noqa: B027 - an optional hook
        """Called when a trial is added to the experiment."""

    @abc.abstractmethod
    def on_trial_result(self, trial: TrialView, result: Mapping[str, Any]) -> Decision:
        """Decide what happens to `trial` after it reported `result`."""

    def take_exploit(self, trial_id: str) -> Exploit | None:
        """After a PAUSE decision: the checkpoint and config the trial should resume with, if any."""
        return None

    def take_perturbation_records(self) -> list[dict[str, Any]]:
        """JSON records of config changes made since the last call (PBT); the loop appends them
        to `<experiment>/pbt_policy.jsonl`, from which `PopulationBasedTrainingReplay` replays."""
        return []

    def take_trials_to_stop(self) -> Sequence[str]:
        """Ids of PAUSED or PENDING trials the scheduler has given up on (synchronous HyperBand).

        The event loop asks after every decision and stops these trials.
        """
        return ()

    def on_trial_complete(  # noqa: B027 - an optional hook
        self, trial: TrialView, result: Mapping[str, Any]
    ) -> None:
        """Called when a trial finished normally (its trainable returned or a stop applied)."""

    def on_trial_error(self, trial: TrialView) -> None:  # noqa: B027 - an optional hook
        """Called when a trial failed for good (no retries left)."""

    def on_trial_remove(self, trial: TrialView) -> None:  # noqa: B027 - an optional hook
        """Called when a trial is stopped by the scheduler's own decision or removed."""

    def choose_trial_to_run(self, trials: Sequence[TrialView]) -> str | None:
        """Pick the id of the next trial to start or resume, or None to start none now.

        The default runs PENDING trials first in creation order, then PAUSED ones.
        """
        for wanted in (TrialStatus.PENDING, TrialStatus.PAUSED):
            for trial in trials:
                if trial.status is wanted:
                    return trial.trial_id
        return None

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state as plain JSON data."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:  # noqa: B027 - an optional hook
        """Restore the state returned by `state_dict()`."""

    def metric_value(self, result: Mapping[str, Any], key: str | None = None) -> float:
        """Read a numeric metric from a result, with an error that says what the result held."""
        key = key if key is not None else self.metric
        if key is None:
            raise ValueError(
                f"{type(self).__name__} needs a metric: pass metric=... to it or to TuneConfig"
            )
        if key not in result:
            raise ValueError(
                f"{type(self).__name__} needs '{key}' in every result, but a result had only the "
                f"keys {sorted(result)}: report it or change the scheduler's metric/time_attr"
            )
        value = result[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(
                f"{type(self).__name__} needs '{key}' to be a number, got {value!r} "
                f"({type(value).__name__}): report a float or int"
            )
        return float(value)


class FIFOScheduler(TrialScheduler):
    """Runs trials in the order they were created and lets every trial run to completion."""

    def on_trial_result(self, trial: TrialView, result: Mapping[str, Any]) -> Decision:
        return Decision.CONTINUE
