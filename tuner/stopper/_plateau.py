"""Plateaus: a trial stops once its metric stops changing, the experiment once its best do.

Both measure a plateau as the population standard deviation of a window of values:
`TrialPlateauStopper` the last values of one trial, `ExperimentPlateauStopper` the best values
across all trials.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections import deque
from collections.abc import Mapping
from typing import Any

from searchers._objective import check_mode
from tuner.exceptions import ConfigError
from tuner.stopper._base import Stopper
from tuner.stopper._values import lookup, number


class TrialPlateauStopper(Stopper):
    """Stops a trial once its metric stopped changing.

    A trial stops when the standard deviation of its last ``num_results`` values of ``metric``
    is below ``std``, after at least ``grace_period`` results and (if set) once the metric is
    better than ``metric_threshold`` in direction ``mode``.

    Example:
        >>> stopper = TrialPlateauStopper("loss", num_results=3, grace_period=3)
        >>> [stopper("t0", {"loss": v}) for v in (0.9, 0.5, 0.5, 0.5)]
        [False, False, False, True]
    """

    def __init__(
        self,
        metric: str,
        std: float = 0.01,
        num_results: int = 4,
        grace_period: int = 4,
        metric_threshold: float | None = None,
        mode: str | None = None,
    ):
        threshold = metric_threshold is not None
        check_mode(
            mode,
            owner="TrialPlateauStopper" + (" (when metric_threshold is set)" if threshold else ""),
            allow_none=not threshold,
            error=ConfigError,
        )
        if number(std, "std") < 0:
            raise ConfigError(f"std must be >= 0, got std={std}")
        if num_results < 1 or grace_period < 0:
            raise ConfigError(
                f"num_results must be >= 1 and grace_period >= 0, got num_results={num_results}, "
                f"grace_period={grace_period}"
            )
        self._metric = metric
        self._std = float(std)
        self._num_results = num_results
        self._grace_period = grace_period
        self._metric_threshold = metric_threshold
        self._mode = mode
        self._results: dict[str, deque[float]] = {}
        self._iter: dict[str, int] = {}

    def __call__(self, trial_id: str, result: Mapping[str, Any]) -> bool:
        fix = "TrialPlateauStopper(metric=...)"
        value = number(lookup(result, self._metric, fix), f"metric '{self._metric}'")
        history = self._results.setdefault(trial_id, deque(maxlen=self._num_results))
        history.append(value)
        count = self._iter[trial_id] = self._iter.get(trial_id, 0) + 1
        if count < self._grace_period or len(history) < self._num_results:
            return False
        if self._metric_threshold is not None:
            if self._mode == "min" and value > self._metric_threshold:
                return False
            if self._mode == "max" and value < self._metric_threshold:
                return False
        if not all(math.isfinite(v) for v in history):
            return False
        return statistics.pstdev(history) < self._std

    def stop_all(self) -> bool:
        return False

    def state_dict(self) -> dict[str, Any]:
        return {
            "results": {k: list(v) for k, v in self._results.items()},
            "iter": dict(self._iter),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self._results = {
            str(k): deque(map(float, v), maxlen=self._num_results)
            for k, v in state.get("results", {}).items()
        }
        self._iter = {str(k): int(v) for k, v in state.get("iter", {}).items()}


class ExperimentPlateauStopper(Stopper):
    """Stops the experiment once the best ``top`` values of a metric stopped improving.

    After every result, the ``top`` best values of ``metric`` across all trials are kept; when
    there are ``top`` of them and their standard deviation is at most ``std`` for more than
    ``patience`` consecutive results, everything stops.

    Example:
        >>> stopper = ExperimentPlateauStopper("loss", top=2, std=0.01)
        >>> [stopper(t, {"loss": 0.5}) for t in ("a", "b")]
        [False, True]
    """

    def __init__(
        self, metric: str, std: float = 0.001, top: int = 10, mode: str = "min", patience: int = 0
    ):
        check_mode(mode, owner="ExperimentPlateauStopper", error=ConfigError)
        if isinstance(top, bool) or not isinstance(top, int) or top <= 1:
            raise ConfigError(f"top must be an int > 1, got top={top!r}")
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ConfigError(f"patience must be an int >= 0, got patience={patience!r}")
        if number(std, "std") <= 0:
            raise ConfigError(f"std must be > 0, got std={std}")
        self._metric = metric
        self._std = float(std)
        self._top = top
        self._mode = mode
        self._patience = patience
        self._top_values: list[float] = []  # sorted ascending
        self._iterations = 0

    def __call__(self, trial_id: str, result: Mapping[str, Any]) -> bool:
        fix = "ExperimentPlateauStopper(metric=...)"
        value = number(lookup(result, self._metric, fix), f"metric '{self._metric}'")
        bisect.insort(self._top_values, value)
        if len(self._top_values) > self._top:
            if self._mode == "min":
                self._top_values.pop()
            else:
                self._top_values.pop(0)
        self._iterations = self._iterations + 1 if self._has_plateaued() else 0
        return self.stop_all()

    def _has_plateaued(self) -> bool:
        return (
            len(self._top_values) == self._top and statistics.pstdev(self._top_values) <= self._std
        )

    def stop_all(self) -> bool:
        return self._has_plateaued() and self._iterations > self._patience

    def state_dict(self) -> dict[str, Any]:
        return {"top_values": list(self._top_values), "iterations": self._iterations}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self._top_values = sorted(float(v) for v in state.get("top_values", []))
        self._iterations = int(state.get("iterations", 0))
