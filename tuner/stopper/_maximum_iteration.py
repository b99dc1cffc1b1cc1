"""`MaximumIterationStopper`: a trial stops after a number of results."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tuner.exceptions import ConfigError
from tuner.stopper._base import Stopper


class MaximumIterationStopper(Stopper):
    """Stops each trial after ``max_iter`` results.

    Example:
        >>> stopper = MaximumIterationStopper(max_iter=2)
        >>> [stopper("t0", {}) for _ in range(2)]
        [False, True]
    """

    def __init__(self, max_iter: int):
        if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
            raise ConfigError(f"max_iter must be an int >= 1, got {max_iter!r}")
        self._max_iter = max_iter
        self._iter: dict[str, int] = {}

    def __call__(self, trial_id: str, result: Mapping[str, Any]) -> bool:
        count = self._iter[trial_id] = self._iter.get(trial_id, 0) + 1
        return count >= self._max_iter

    def stop_all(self) -> bool:
        return False

    def state_dict(self) -> dict[str, Any]:
        return {"iter": dict(self._iter)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self._iter = {str(k): int(v) for k, v in state.get("iter", {}).items()}
