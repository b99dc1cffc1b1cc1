"""The scheduler interface: after each result, decide whether a trial continues, pauses or stops."""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping, Sequence
from typing import Any

from schedulers._suggestion import TrialSuggestion, WaitingTrials
from schedulers._trial_view import TrialView
from searchers._constraints import Constraint
from searchers._fidelity import Fidelity
from searchers._ranking import Ranking, check_objectives


class Decision(enum.Enum):
    """What the event loop should do with a trial after a result."""

    CONTINUE = "CONTINUE"
    PAUSE = "PAUSE"
    STOP = "STOP"


class TrialScheduler(abc.ABC):
    """Decides, after each result, whether a trial continues, pauses or stops.

    Life cycle, as driven by the event loop:

    1. `set_search_properties(metric, mode)` once before the first trial (a name or a list of
       names; a scheduler built with its own checks that they agree), then
       `set_constraints(constraints)` when `TuneConfig(constraints=...)` has any, then
       `set_param_space(param_space)` with the Tuner's search space.
    2. `on_trial_add(trial)` when a trial is created (and again for every trial on restore).
    3. `suggest(waiting)` whenever a worker is free -> a `TrialSuggestion`: run one of the
       waiting trials (PBT: from another trial's checkpoint, with a new config), stop one it
       gave up on (HyperBand) and be asked again, or None to run none now.
    4. `on_trial_result(trial, result)` after every result -> a `Decision`.
    5. `on_trial_status(trial)` when the loop moves a trial for a reason of its own: a failed
       trial with retries left is PENDING again, an interrupted one PAUSED; and on restore,
       after `load_state_dict`, for every trial that waits to run. Every other move is one the
       scheduler asked for or hears of through another hook, so a scheduler can follow every
       trial's status without being shown them all.
    6. Exactly one of `on_trial_complete`, `on_trial_error` or `on_trial_remove` when a trial ends
       (each calls `on_trial_end` unless overridden: one hook for schedulers that treat all alike).
    7. `state_dict()` / `load_state_dict()` for experiment checkpoints: plain JSON data.

    Schedulers decide and return what they decide; they never act on trials, executors or
    storage.
    """

    pauses_trials: bool = False
    """Whether this scheduler pauses trials (they then resume from their latest checkpoint)."""

    supports_model_based_searchers: bool = True
    """False where the scheduler changes configs mid-trial (PBT), so that a model-based searcher's
    observations would not belong to the configs it proposed."""

    copies_checkpoints: bool = False
    """Whether it resumes trials from other trials' checkpoints (PBT's exploits), so that a
    class trainable had better checkpoint often (the Tuner warns if it does not)."""

    supports_multi_objective: bool = False
    """Whether it ranks trials by several objectives (`metric` a list): the built-in ones that
    rank do, by non-dominated sorting (`searchers._ranking.Ranking`)."""

    supports_constraints: bool = False
    """Whether it ranks feasible trials before infeasible ones (`TuneConfig(constraints=...)`)."""

    def __init__(
        self,
        *,
        metric: str | list[str] | None = None,
        mode: str | list[str] | None = None,
    ) -> None:
        self.metric, self.mode = check_objectives(
            metric, mode, owner=type(self).__name__, multi_ok=self.supports_multi_objective
        )
        self.constraints: tuple[Constraint, ...] = ()

    def set_search_properties(
        self, metric: str | Sequence[str] | None, mode: str | Sequence[str] | None
    ) -> None:
        """Take the experiment's metric and mode unless the scheduler was built with its own.

        Raises:
            ValueError: When both define a metric or mode and they differ, or when they name
                several objectives and the scheduler ranks by one.
        """
        metric, mode = check_objectives(
            metric, mode, owner=type(self).__name__, multi_ok=self.supports_multi_objective
        )
        for name, ours, theirs in (("metric", self.metric, metric), ("mode", self.mode, mode)):
            if ours is not None and theirs is not None and ours != theirs:
                raise ValueError(
                    f"{type(self).__name__} was built with {name}={ours!r} but TuneConfig has "
                    f"{name}={theirs!r}: set it in one place only"
                )
        self.metric = self.metric if self.metric is not None else metric
        self.mode = self.mode if self.mode is not None else mode

    def set_constraints(self, constraints: tuple[Constraint, ...]) -> None:
        """The experiment's constraints (`TuneConfig(constraints=...)`), after
        `set_search_properties`.

        Raises:
            ValueError: The scheduler does not rank by constraints (`supports_constraints`).
        """
        if constraints and not self.supports_constraints:
            raise ValueError(
                f"{type(self).__name__} does not rank trials by constraints, got "
                f"constraints={[str(c) for c in constraints]}: use FIFO, ASHA, HyperBand, "
                "median stopping or PBT, or drop the constraints"
            )
        self.constraints = tuple(constraints)

    def set_param_space(self, param_space: Mapping[str, Any]) -> None:  # noqa: B027 - optional
        """The Tuner's `param_space` (its domains unresolved), before the first trial: for a
        scheduler that picks configs itself (`DEHB`)."""

    @property
    def fidelity(self) -> Fidelity | None:
        """The budgets at which this scheduler compares trials, told to the searcher
        (`Searcher.set_fidelity`) so that it can learn per budget (BOHB); None if it has none."""
        return None

    @property
    def ranking(self) -> Ranking:
        """The objectives and constraints trials are ranked by.

        Raises:
            ValueError: No metric or mode is set yet.
        """
        return Ranking.needed(type(self).__name__, self.metric, self.mode, self.constraints)

    def on_trial_add(self, trial: TrialView) -> None:  # noqa: B027 - an optional hook
        """Called when a trial is added to the experiment."""

    @abc.abstractmethod
    def on_trial_result(self, trial: TrialView, result: Mapping[str, Any]) -> Decision:
        """Decide what happens to `trial` after it reported `result`."""

    def on_trial_status(self, trial: TrialView) -> None:  # noqa: B027 - an optional hook
        """Called when the loop moved `trial` to `trial.status` for a reason of its own (a
        retry after a failure: PENDING; an interrupt: PAUSED; a restore: PENDING or PAUSED)."""

    def on_trial_complete(self, trial: TrialView, result: Mapping[str, Any]) -> None:
        """Called when a trial finished normally (its trainable returned or a stop applied).
        By default: `on_trial_end`."""
        self.on_trial_end(trial)

    def on_trial_error(self, trial: TrialView) -> None:
        """Called when a trial failed for good (no retries left). By default: `on_trial_end`."""
        self.on_trial_end(trial)

    def on_trial_remove(self, trial: TrialView) -> None:
        """Called when a trial is stopped by the scheduler's own decision or removed. By
        default: `on_trial_end`."""
        self.on_trial_end(trial)

    def on_trial_end(self, trial: TrialView) -> None:  # noqa: B027 - an optional hook
        """The one hook of a scheduler that treats every end alike (called by the three end
        hooks unless they are overridden)."""

    def suggest(self, waiting: WaitingTrials) -> TrialSuggestion | None:
        """What to do now that a worker is free: run a waiting trial, stop one, or None.

        The default runs PENDING trials first in creation order, then PAUSED ones.
        """
        first = next(iter(waiting), None)
        return None if first is None else TrialSuggestion.run(first.trial_id)

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state as plain JSON data."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:  # noqa: B027 - an optional hook
        """Restore the state returned by `state_dict()`."""

    def metric_value(self, result: Mapping[str, Any], key: str | None = None) -> float:
        """Read a numeric metric from a result, with an error that says what the result held
        (by default the one objective's; several objectives are read through `ranking`)."""
        if key is None:
            key = self.metric if isinstance(self.metric, str) else None
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

    supports_multi_objective = True  # it ranks nothing
    supports_constraints = True

    def on_trial_result(self, trial: TrialView, result: Mapping[str, Any]) -> Decision:
        return Decision.CONTINUE
