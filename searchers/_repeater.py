"""`Repeater`: evaluate each suggested config several times and report the mean."""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Mapping
from typing import Any

from searchers._base import Searcher, SearchSignal

logger = logging.getLogger(__name__)

TRIAL_INDEX = "__trial_index__"
"""The config key `Repeater(set_index=True)` sets to the repeat's index, 0 to `repeat - 1`."""


class Repeater(Searcher):
    """Evaluate each config of a searcher `repeat` times; tell it the mean of the metric.

    The first trial of a group takes the wrapped searcher's suggestion; the next `repeat - 1`
    trials repeat that config. When every trial of the group has completed, the wrapped searcher
    is told, under the first trial's id, `{metric: mean}` over the trials that reported the
    metric; if none did, it is told the trial errored. Intermediate results are not passed on.
    Configs are stored in `state_dict()`, so they must be JSON data.

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
        if not isinstance(searcher, Searcher):
            raise ValueError(f"Repeater wraps a Searcher, got {searcher!r}: pass e.g. TPESearch()")
        if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
            raise ValueError(f"`repeat` must be an int >= 1, got repeat={repeat!r}")
        super().__init__()
        self.searcher = searcher
        self.repeat = repeat
        self.set_index = set_index
        self.max_queued = searcher.max_queued * repeat  # room for a whole group of repeats
        self.learns_from_results = searcher.learns_from_results
        # group id (its first trial) -> config, trial ids in order, and their scores so far
        self._groups: dict[str, dict[str, Any]] = {}
        self._trial_group: dict[str, str] = {}
        self._current: str | None = None  # the group still taking repeats

    @property
    def total_trials(self) -> int | None:
        """The wrapped searcher's total times `repeat`, if it knows one."""
        total = getattr(self.searcher, "total_trials", None)
        return None if total is None else total * self.repeat

    def set_search_properties(
        self, metric: str | None, mode: str | None, param_space: Mapping[str, Any]
    ) -> None:
        """Pass the experiment's settings to the wrapped searcher."""
        super().set_search_properties(metric, mode, param_space)
        self.searcher.set_search_properties(metric, mode, param_space)

    def set_num_samples(self, num_samples: int) -> None:
        """Pass on `ceil(num_samples / repeat)` configs (`-1` unchanged), if it takes it."""
        setter = getattr(self.searcher, "set_num_samples", None)
        if setter is not None:
            setter(num_samples if num_samples < 0 else max(1, math.ceil(num_samples / self.repeat)))

    def suggest(self, trial_id: str) -> dict[str, Any] | SearchSignal | None:
        """A new config from the wrapped searcher, or the current one repeated."""
        group = self._groups.get(self._current) if self._current is not None else None
        if group is None or len(group["trials"]) >= self.repeat:
            config = self.searcher.suggest(trial_id)
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

    def on_trial_complete(
        self, trial_id: str, result: Mapping[str, Any] | None = None, error: bool = False
    ) -> None:
        """Record the trial's score; tell the wrapped searcher the mean once the group is done."""
        group_id = self._trial_group.pop(trial_id, None)
        if group_id is None:
            logger.debug("Repeater: trial %s was not suggested here; ignored", trial_id)
            return
        group = self._groups[group_id]
        score = None if error or result is None else result.get(self.searcher.metric or "")
        valid = isinstance(score, numbers.Real) and math.isfinite(score)
        group["scores"][trial_id] = float(score) if valid else None  # type: ignore[arg-type]
        if len(group["scores"]) < self.repeat:
            return
        del self._groups[group_id]
        if self._current == group_id:
            self._current = None
        metric = self.searcher.metric
        if metric is None:  # nothing to average: pass the last result on
            self.searcher.on_trial_complete(group_id, result, error)
            return
        scores = [s for s in group["scores"].values() if s is not None]
        if not scores:
            self.searcher.on_trial_complete(group_id, result, error=True)
            return
        self.searcher.on_trial_complete(group_id, {metric: sum(scores) / len(scores)}, error=False)

    def state_dict(self) -> dict[str, Any]:
        """Open groups and the wrapped searcher's state."""
        return {
            "groups": [[k, g] for k, g in self._groups.items()],
            "current": self._current,
            "searcher": self.searcher.state_dict(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore `state_dict()`."""
        self._groups = {k: dict(g) for k, g in state["groups"]}
        self._trial_group = {}
        for group_id, group in self._groups.items():
            group["scores"] = dict(group["scores"])
            for trial_id in group["trials"]:
                if trial_id not in group["scores"]:
                    self._trial_group[trial_id] = group_id
        self._current = state["current"]
        self.searcher.load_state_dict(state["searcher"])
