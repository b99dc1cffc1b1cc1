"""How a scheduler reads and compares results: one number, or a ranking over several objectives.

With one objective and no constraints a result is one signed score (higher is better), the
schedulers' fast path, unchanged. With several objectives (`metric` a list) or any constraint, a
result is the values of every metric the ranking reads, and trials are compared by the
experiment's `Ranking`: Deb's constrained domination, feasible first, by non-dominated front,
spread inside a front by the epsilon-net tie-break of MO-ASHA (Schmucker et al. 2021), which
keeps a front's extremes and the points between them rather than one corner of it.

Comparing n trials this way costs O(n^2) (the non-dominated sort); a rung or a population of a
few thousand trials is still milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from searchers._pareto import read_metric

if TYPE_CHECKING:
    from schedulers._base import TrialScheduler
    from searchers._ranking import Ranking

Score = float | dict[str, float]
"""A signed score (one objective) or the values of the ranked metrics (a ranking)."""


class Scores:
    """Reads results and ranks trials for `scheduler`, by its metric/mode and constraints (read
    when first needed: the experiment sets them after the scheduler is built)."""

    def __init__(self, scheduler: TrialScheduler) -> None:
        self._scheduler = scheduler
        self._ranking: Ranking | None = None

    @property
    def ranking(self) -> Ranking:
        if self._ranking is None:
            self._ranking = self._scheduler.ranking
        return self._ranking

    @property
    def ranked(self) -> bool:
        """Whether results are compared by a ranking (several objectives, or constraints)."""
        return not self.ranking.simple

    def of(self, result: Mapping[str, Any]) -> Score:
        """What the scheduler keeps of a result: its signed score, or its ranked values (a NaN
        stays NaN: it ranks worst)."""
        if not self.ranked:
            sign = 1.0 if self.ranking.objectives.modes[0] == "max" else -1.0
            return sign * self._scheduler.metric_value(result)
        fix = "change the scheduler's or TuneConfig's metric/constraints"
        return {key: read_metric(result, key, fix=fix) for key in self.ranking.metrics}

    def best_first(self, scores: Mapping[str, Score]) -> list[str]:
        """The trial ids of `scores`, best first (ties: the order given)."""
        ids = list(scores)
        if not self.ranked:
            return sorted(ids, key=lambda t: signed(scores[t]), reverse=True)
        order = self.ranking.order([_values(scores[t]) for t in ids])
        return [ids[i] for i in order]

    def keeps(self, trial_id: str, scores: Mapping[str, Score], fraction: float) -> bool:
        """Whether `trial_id` is among the best ``ceil(n * fraction)`` of `scores` (which holds
        it): MO-ASHA's promotion rule at a rung."""
        keep = math.ceil(len(scores) * fraction)
        return trial_id in self.best_first(scores)[:keep]

    def better_than_median(self, score: Score, others: Sequence[Score]) -> bool:
        """Whether `score` ranks in the better half of itself and `others` (the median stopping
        rule over several objectives; `others` are the other trials' running averages)."""
        if not self.ranked:
            values = sorted(signed(o) for o in others)
            n = len(values)
            median = (values[(n - 1) // 2] + values[n // 2]) / 2
            return signed(score) >= median
        everyone: dict[str, Score] = {"self": score}
        everyone.update({str(i): other for i, other in enumerate(others)})
        return self.best_first(everyone).index("self") <= len(others) / 2

    def mean(self, scores: Sequence[Score]) -> Score:
        """The average of several results' scores, metric by metric (NaNs skipped)."""
        if not self.ranked:
            kept = [signed(s) for s in scores if not math.isnan(signed(s))]
            return sum(kept) / len(kept) if kept else math.nan
        keys = self.ranking.metrics
        out = {}
        for key in keys:
            kept = [v for s in scores if not math.isnan(v := _values(s)[key])]
            out[key] = sum(kept) / len(kept) if kept else math.nan
        return out


def load_score(saved: Any) -> Score:
    """A score as `state_dict()` saved it (JSON: a number, or an object of metric values)."""
    if isinstance(saved, Mapping):
        return {str(k): float(v) for k, v in saved.items()}
    return float(saved)


def signed(score: Score) -> float:
    """A signed score (one objective), or TypeError for ranked values."""
    if isinstance(score, dict):
        raise TypeError("a ranked score where a signed one was expected (a bug)")
    return score


def _values(score: Score) -> dict[str, float]:
    if not isinstance(score, dict):
        raise TypeError("a signed score where ranked values were expected (a bug)")
    return score
