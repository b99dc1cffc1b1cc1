"""`Repeater`: evaluate each suggested config several times and report the mean."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

from searchers._base import Searcher, SearchSignal
from searchers._objective import as_finite
from searchers._wrapper import SearcherWrapper

logger = logging.getLogger(__name__)

TRIAL_INDEX = "__trial_index__"
"""The config key `Repeater(set_index=True)` sets to the repeat's index, 0 to `repeat - 1`."""


class Repeater(SearcherWrapper):
    """Evaluate each config of a searcher `repeat` times; tell it the mean of the metric.

    The first trial of a group takes the wrapped searcher's suggestion; the next `repeat - 1`
    trials repeat that config. When every trial of the group has completed, the wrapped searcher
    is told, under the first trial's id, `{metric: mean}` over the trials that reported the
    metric, for each metric in its `metrics` (every objective, and the metric of every
    constraint, so a group is feasible when its mean is); if none did, it is told the trial
    errored. Several objectives and constraints pass through to the wrapped searcher. Intermediate results are not passed on. Configs are stored in
    `state_dict()`, so they must be JSON data.

    As in Ray Tune, `TuneConfig(num_samples)` counts trials, repeats included: `num_samples=15`
    with `repeat=5` gives 3 configs, each run 5 times. Set it to a multiple of `repeat`: the
    last group of `num_samples=10, repeat=3` has one trial, and the wrapped searcher never hears
    of it. A wrapped grid search (`BasicVariantGenerator`) is cut at `num_samples` trials too:
    set `num_samples` to `repeat` times the grid's size to run each grid point `repeat` times.

    Args:
        searcher: The searcher whose configs are repeated.
        repeat: Trials per config, >= 1.
        set_index: Put the repeat's index into the config under `"__trial_index__"`.

    Example:
        >>> from searchers import BasicVariantGenerator, Repeater, uniform
        >>> repeater = Repeater(BasicVariantGenerator(seed=0), repeat=2)
        >>> repeater.set_search_properties("loss", "min", {"x": uniform(0, 1)})
        >>> a, b = repeater.suggest("a"), repeater.suggest("b")
        >>> a["x"] == b["x"], a["__trial_index__"], b["__trial_index__"]
        (True, 0, 1)
    """

    def __init__(self, searcher: Searcher, repeat: int = 1, set_index: bool = True) -> None:
        super().__init__(searcher)
        if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
            raise ValueError(f"`repeat` must be an int >= 1, got repeat={repeat!r}")
        self.repeat = repeat
        self.set_index = set_index
        self.max_queued = searcher.max_queued * repeat  # room for a whole group of repeats
        # group id (its first trial) -> config, trial ids in order, and their scores so far
        self._groups: dict[str, dict[str, Any]] = {}
        self._trial_group: dict[str, str] = {}
        self._current: str | None = None  # the group still taking repeats
        self._num_samples: int | None = None

    @property
    def total_trials(self) -> int | None:
        """The wrapped searcher's total times `repeat`, at most `num_samples`, if it knows one."""
        total = self.searcher.total_trials
        if total is None:
            return None
        if self._num_samples is None or self._num_samples < 0:
            return total * self.repeat
        return min(self._num_samples, total * self.repeat)

    def set_num_samples(self, num_samples: int) -> None:
        """Trials in all, repeats included; the wrapped searcher is asked for `ceil(n / repeat)`."""
        self._num_samples = num_samples
        if num_samples > 0 and num_samples % self.repeat:
            logger.warning(
                "Repeater: num_samples=%d counts trials, repeats included, and is not a multiple "
                "of repeat=%d: the last %d trial(s) form a group that is never complete, so the "
                "wrapped searcher does not hear of them; set num_samples=%d for %d configs",
                num_samples, self.repeat, num_samples % self.repeat,
                math.ceil(num_samples / self.repeat) * self.repeat,
                math.ceil(num_samples / self.repeat),
            )
        super().set_num_samples(
            num_samples if num_samples < 0 else max(1, math.ceil(num_samples / self.repeat))
        )

    def suggest(self, trial_id: str) -> dict[str, Any] | SearchSignal | None:
        """A new config from the wrapped searcher, or the current one repeated."""
        group = self._groups.get(self._current) if self._current is not None else None
        if group is None or len(group["trials"]) >= self.repeat:
            config = super().suggest(trial_id)
            if not isinstance(config, dict):
                return config
            group = {"config": config, "trials": [], "scores": {}}
            self._groups[trial_id] = group
            self._current = trial_id
        index = len(group["trials"])
        group["trials"].append(trial_id)
        self._trial_group[trial_id] = self._current  # type: ignore[assignment]  # set above
        config = dict(group["config"])
        if self.set_index:
            config[TRIAL_INDEX] = index
        return config

    def on_trial_result(self, trial_id: str, result: Mapping[str, Any]) -> None:
        """Not passed on: the wrapped searcher hears of a group once, when all of it is done."""

    def on_trial_complete(
        self, trial_id: str, result: Mapping[str, Any] | None = None, error: bool = False
    ) -> None:
        """Record the trial's score; tell the wrapped searcher the mean once the group is done."""
        group_id = self._trial_group.pop(trial_id, None)
        if group_id is None:
            logger.debug("Repeater: trial %s was not suggested here; ignored", trial_id)
            return
        group = self._groups[group_id]
        metrics = self.searcher.metrics
        group["scores"][trial_id] = {} if error or result is None else _finite(result, metrics)
        if len(group["scores"]) < self.repeat:
            return
        del self._groups[group_id]
        if self._current == group_id:
            self._current = None
        if not metrics:  # nothing to average: pass the last result on
            super().on_trial_complete(group_id, result, error)
            return
        means = {}
        for metric in metrics:
            scores = [s[metric] for s in group["scores"].values() if metric in s]
            if not scores:
                super().on_trial_complete(group_id, result, error=True)
                return
            means[metric] = sum(scores) / len(scores)
        super().on_trial_complete(group_id, means, error=False)

    def add_evaluated_points(
        self, points: Sequence[Mapping[str, Any]], results: Sequence[Mapping[str, Any]]
    ) -> None:
        """Not taken: a Repeater learns from the means of whole groups, not from single results."""
        raise NotImplementedError("Repeater does not take evaluated points")

    def state_dict(self) -> dict[str, Any]:
        """Open groups and the wrapped searcher's state."""
        return {
            "groups": [[k, g] for k, g in self._groups.items()],
            "current": self._current,
            "searcher": super().state_dict(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore `state_dict()`."""
        self._groups = {k: dict(g) for k, g in state["groups"]}
        self._trial_group = {}
        metrics = self.searcher.metrics
        for group_id, group in self._groups.items():
            group["scores"] = {
                trial_id: _scores_from_state(score, metrics)
                for trial_id, score in group["scores"].items()
            }
            for trial_id in group["trials"]:
                if trial_id not in group["scores"]:
                    self._trial_group[trial_id] = group_id
        self._current = state["current"]
        super().load_state_dict(state["searcher"])


def _finite(result: Mapping[str, Any], metrics: tuple[str, ...]) -> dict[str, float]:
    """The finite numbers `result` reports for `metrics`."""
    found = {}
    for metric in metrics:
        number = as_finite(result.get(metric))
        if number is not None:
            found[metric] = number
    return found


def _scores_from_state(score: Any, metrics: tuple[str, ...]) -> dict[str, float]:
    """A trial's saved scores; states written before multi-objective support hold one number."""
    if isinstance(score, Mapping):
        return {str(k): float(v) for k, v in score.items()}
    if score is None or not metrics:
        return {}
    return {metrics[0]: float(score)}
