"""`HyperBandForBOHB`: synchronous HyperBand for BOHB, the most exploratory bracket first."""

from __future__ import annotations

from schedulers._hyperband import HyperBandScheduler, bracket_plan


class HyperBandForBOHB(HyperBandScheduler):
    """HyperBand as BOHB runs it (Falkner et al. 2018), under Ray Tune's name and arguments.

    The same synchronous successive halving as `HyperBandScheduler`, with Ray's change for
    BOHB: brackets are filled from the one with the most trials and the smallest first budget
    (for ``max_t=9``, ``reduction_factor=3``: 9 trials with milestones 1, 3, 9, then 5 with
    3, 9, then 3 straight to 9), so that the searcher sees many cheap results before it
    suggests for the expensive brackets. A bracket that cannot fill is halved with the trials
    it has (HyperBandScheduler does this too), so that a searcher that suggests one trial at a
    time is never waited on. The milestones are announced as the budgets (`fidelity`) at which
    `searchers.TuneBOHB` models the results.

    Pair it with `TuneBOHB` (or any searcher); `stop_last_trials=False` lets trials at `max_t`
    go on until a stop criterion ends them, as in Ray's BOHB example.

    Example:
        >>> from schedulers import HyperBandForBOHB
        >>> HyperBandForBOHB(max_t=9, reduction_factor=3).milestones
        [[1, 3, 9], [3, 9], [9]]
    """

    @staticmethod
    def plan(max_t: float, reduction_factor: float) -> list[tuple[int, list[float]]]:
        """HyperBand's brackets, the one with the smallest first budget first."""
        return bracket_plan(max_t, reduction_factor)[::-1]
