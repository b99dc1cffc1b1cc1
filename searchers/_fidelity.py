"""`Fidelity`: the budgets at which a multi-fidelity scheduler compares trials, as a searcher
that learns per budget (BOHB) needs to know them."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Fidelity:
    """Where a scheduler compares trials: the values of `time_attr` it stops or promotes at.

    HyperBand, `HyperBandForBOHB` and ASHA announce theirs (`TrialScheduler.fidelity`); the loop
    hands it to the searcher (`Searcher.set_fidelity`) before the first suggestion, so that a
    searcher such as `TuneBOHB` can model the results at each budget apart.

    Attributes:
        time_attr: The result key the budgets are measured in (e.g. "training_iteration").
        levels: The budgets (floats), ascending, without repeats; the last is the largest a
            trial reaches.

    Example:
        >>> Fidelity("training_iteration", (1, 3, 9)).level_of(4)
        3.0
    """

    time_attr: str
    levels: tuple[float, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.time_attr, str) or not self.time_attr:
            raise ValueError(f"`time_attr` must be a result key, got {self.time_attr!r}")
        levels = tuple(self.levels)
        if not levels or any(
            isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v)
            or v <= 0 for v in levels
        ):
            raise ValueError(f"`levels` must be positive finite numbers, got {self.levels!r}")
        if list(levels) != sorted(set(levels)):
            raise ValueError(f"`levels` must ascend without repeats, got {self.levels!r}")
        object.__setattr__(self, "levels", tuple(float(v) for v in levels))

    def level_of(self, time: float) -> float | None:
        """The largest budget `time` has reached, or None below the first."""
        reached = [level for level in self.levels if time >= level]
        return reached[-1] if reached else None
