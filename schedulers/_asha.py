"""Asynchronous Successive Halving (ASHA): stop a trial at a rung unless it is in the top 1/rf."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from schedulers._base import Decision, TrialScheduler
from schedulers._checks import check_positive, check_reduction_factor, score_sign
from schedulers._scores import Score, Scores, load_score
from schedulers._trial_view import TrialView
from searchers._fidelity import Fidelity


def rung_milestones(
    grace_period: float, max_t: float, reduction_factor: float, s: int = 0
) -> list[float]:
    """The milestones of bracket `s`, ascending: ``grace_period * rf**(k + s) < max_t`` for k >= 0.

    A milestone at max_t itself would never matter: every trial stops there anyway.

    Example:
        >>> rung_milestones(1, 8, 2)
        [1, 2, 4]
    """
    milestones = []
    k = s
    while grace_period * reduction_factor**k < max_t:
        milestones.append(grace_period * reduction_factor**k)
        k += 1
    return milestones


class _Bracket:
    """The rungs of one ASHA bracket and the signed scores recorded at each."""

    def __init__(self, milestones: Sequence[float], reduction_factor: float) -> None:
        self.milestones = list(milestones)
        self.rf = reduction_factor
        # recorded[i]: trial id -> signed score (higher is better) at milestones[i], or the
        # ranked metrics' values under several objectives or constraints
        self.recorded: list[dict[str, Any]] = [{} for _ in self.milestones]

    def _rung_of(self, trial_id: str, time: float) -> int | None:
        """The highest rung `time` crossed, if the trial was not recorded there yet."""
        for rung in reversed(range(len(self.milestones))):
            if time >= self.milestones[rung]:
                return None if trial_id in self.recorded[rung] else rung
        return None

    def on_ranked(self, trial_id: str, time: float, score: Score, scores: Scores) -> Decision:
        """MO-ASHA: record the trial at the highest rung it crossed first; it goes on if it is
        among the best ``ceil(n / rf)`` of the n trials recorded there (itself included)."""
        rung = self._rung_of(trial_id, time)
        if rung is None:
            return Decision.CONTINUE
        self.recorded[rung][trial_id] = score
        kept = scores.keeps(trial_id, self.recorded[rung], 1 / self.rf)
        return Decision.CONTINUE if kept else Decision.STOP

    def cutoff(self, rung: int) -> float | None:
        """The score a trial must reach at `rung` to continue: the (1 - 1/rf) quantile."""
        values = [v for v in self.recorded[rung].values() if not math.isnan(v)]
        if not values:
            return None
        return float(np.percentile(values, (1 - 1 / self.rf) * 100))

    def on_result(self, trial_id: str, time: float, score: float) -> Decision:
        """Record the trial at the highest rung it crossed first and decide against the cut-off."""
        for rung in reversed(range(len(self.milestones))):
            if time < self.milestones[rung]:
                continue
            if trial_id in self.recorded[rung]:
                # Decided at this rung already; lower rungs were passed on the way up.
                return Decision.CONTINUE
            cutoff = self.cutoff(rung)
            if not math.isnan(score):
                self.recorded[rung][trial_id] = score
            if cutoff is not None and (math.isnan(score) or score < cutoff):
                return Decision.STOP
            return Decision.CONTINUE
        return Decision.CONTINUE


class AsyncHyperBandScheduler(TrialScheduler):
    """Asynchronous Successive Halving (ASHA, Li et al. 2018) with Ray Tune's semantics.

    Each bracket ``s`` has rungs at ``grace_period * reduction_factor**(k + s)`` below `max_t`.
    The first time a trial's `time_attr` reaches a rung, its score is compared with the
    ``1 - 1/reduction_factor`` quantile of the scores recorded at that rung so far (linear
    interpolation, as `numpy.percentile`); a trial below that cut-off is stopped, and its score is
    recorded either way. Every trial stops once `time_attr` reaches `max_t`. The scheduler never
    pauses trials, so it needs no checkpoints.

    With several brackets, trials are assigned deterministically in proportion to Ray's softmax
    over the number of rungs (a weighted round-robin; Ray draws at random).

    Several objectives (`metric` a list) or constraints make it MO-ASHA (Schmucker et al. 2021):
    a trial reaching a rung goes on if it is among the best ``ceil(n / reduction_factor)`` of
    the n trials recorded there, ranked by constrained non-dominated sorting with the
    epsilon-net tie-break (`schedulers._scores`).

    Life cycle: `on_trial_add` assigns a bracket; `on_trial_result` returns CONTINUE or STOP;
    `on_trial_complete` records the final result at a rung it reached; `on_trial_error` and
    `on_trial_remove` forget the trial's bracket (its recorded scores stay, as in Ray).

    Example:
        >>> from schedulers import ASHAScheduler, TrialStatus, TrialView
        >>> asha = ASHAScheduler(metric="acc", mode="max", max_t=8, grace_period=1,
        ...                      reduction_factor=2)
        >>> views = [TrialView(str(i), {}, TrialStatus.RUNNING) for i in range(2)]
        >>> for view in views:
        ...     asha.on_trial_add(view)
        >>> asha.on_trial_result(views[0], {"training_iteration": 1, "acc": 0.9})
        <Decision.CONTINUE: 'CONTINUE'>
        >>> asha.on_trial_result(views[1], {"training_iteration": 1, "acc": 0.1})
        <Decision.STOP: 'STOP'>

    Attributes:
        pauses_trials: False: ASHA only continues or stops trials.
    """

    pauses_trials = False
    supports_multi_objective = True
    supports_constraints = True

    def __init__(
        self,
        time_attr: str = "training_iteration",
        *,
        metric: str | list[str] | None = None,
        mode: str | list[str] | None = None,
        max_t: float = 100,
        grace_period: float = 1,
        reduction_factor: float = 4,
        brackets: int = 1,
        stop_last_trials: bool = True,
    ) -> None:
        super().__init__(metric=metric, mode=mode)
        name = type(self).__name__
        check_positive(name, "max_t", max_t, fix="pass the largest time_attr a trial may reach")
        check_positive(name, "grace_period", grace_period, fix="use e.g. grace_period=1")
        check_reduction_factor(name, reduction_factor)
        if grace_period > max_t:
            raise ValueError(
                f"{name}: `grace_period` must be <= `max_t`, got grace_period={grace_period!r}, "
                f"max_t={max_t!r}: lower grace_period or raise max_t"
            )
        if isinstance(brackets, bool) or not isinstance(brackets, int) or brackets < 1:
            raise ValueError(f"{name}: `brackets` must be an int >= 1, got brackets={brackets!r}")
        self.time_attr = time_attr
        self.max_t = max_t
        self.grace_period = grace_period
        self.reduction_factor = reduction_factor
        self.stop_last_trials = stop_last_trials
        self._brackets = [
            _Bracket(rung_milestones(grace_period, max_t, reduction_factor, s), reduction_factor)
            for s in range(brackets)
        ]
        sizes = np.array([len(b.milestones) for b in self._brackets], dtype=float)
        weights = np.exp(sizes - sizes.max())
        self._bracket_probs = [float(w) for w in weights / weights.sum()]
        self._bracket_counts = [0] * brackets
        self._trial_bracket: dict[str, int] = {}
        self._scores = Scores(self)

    @property
    def milestones(self) -> list[list[float]]:
        """The rung milestones of each bracket, ascending."""
        return [list(b.milestones) for b in self._brackets]

    @property
    def fidelity(self) -> Fidelity:
        """Every bracket's rungs, and `max_t`, as the budgets a searcher may learn at."""
        levels = {float(m) for b in self._brackets for m in b.milestones} | {float(self.max_t)}
        return Fidelity(self.time_attr, tuple(sorted(levels)))

    def _assign(self, trial_id: str) -> int:
        if trial_id in self._trial_bracket:
            return self._trial_bracket[trial_id]
        # Weighted round-robin: the bracket furthest behind its softmax share gets the trial.
        total = sum(self._bracket_counts) + 1
        deficits = [
            p * total - c for p, c in zip(self._bracket_probs, self._bracket_counts, strict=True)
        ]
        index = max(range(len(deficits)), key=lambda i: (deficits[i], -i))
        self._bracket_counts[index] += 1
        self._trial_bracket[trial_id] = index
        return index

    def on_trial_add(self, trial: TrialView) -> None:
        """Assign the trial to a bracket (idempotent, so a restore may add trials again)."""
        self._assign(trial.trial_id)

    def on_trial_result(self, trial: TrialView, result: Mapping[str, Any]) -> Decision:
        """STOP at max_t or below a rung's cut-off; CONTINUE otherwise."""
        time = self.metric_value(result, self.time_attr)
        if self._scores.ranked:
            score: Score = self._scores.of(result)
        else:
            score = score_sign(type(self).__name__, self.mode) * self.metric_value(result)
        if time >= self.max_t and self.stop_last_trials:
            return Decision.STOP
        bracket = self._brackets[self._assign(trial.trial_id)]
        return self._decide(bracket, trial.trial_id, time, score)

    def _decide(self, bracket: _Bracket, trial_id: str, time: float, score: Score) -> Decision:
        if isinstance(score, dict):
            return bracket.on_ranked(trial_id, time, score, self._scores)
        return bracket.on_result(trial_id, time, score)

    def on_trial_complete(self, trial: TrialView, result: Mapping[str, Any]) -> None:
        """Record the final result at the highest rung the trial reached, as Ray does."""
        index = self._trial_bracket.pop(trial.trial_id, None)
        if index is None or not result:
            return
        time = self.metric_value(result, self.time_attr)
        if self._scores.ranked:
            score: Score = self._scores.of(result)
        else:
            score = score_sign(type(self).__name__, self.mode) * self.metric_value(result)
        self._decide(self._brackets[index], trial.trial_id, time, score)

    def on_trial_end(self, trial: TrialView) -> None:
        """Forget the trial's bracket (an error or a removal; a completion records first)."""
        self._trial_bracket.pop(trial.trial_id, None)

    def state_dict(self) -> dict[str, Any]:
        """Recorded rung scores, bracket assignments and counts as JSON data."""
        return {
            "recorded": [[dict(r) for r in b.recorded] for b in self._brackets],
            "trial_bracket": dict(self._trial_bracket),
            "bracket_counts": list(self._bracket_counts),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore from `state_dict()` of a scheduler built with the same arguments."""
        recorded = state["recorded"]
        if [len(r) for r in recorded] != [len(b.milestones) for b in self._brackets]:
            raise ValueError(
                f"{type(self).__name__}: the saved state has rungs {[len(r) for r in recorded]} "
                f"per bracket but this scheduler has {[len(b.milestones) for b in self._brackets]}:"
                " build it with the same max_t, grace_period, reduction_factor and brackets"
            )
        for bracket, rungs in zip(self._brackets, recorded, strict=True):
            bracket.recorded = [{k: load_score(v) for k, v in r.items()} for r in rungs]
        self._trial_bracket = {k: int(v) for k, v in state["trial_bracket"].items()}
        self._bracket_counts = [int(c) for c in state["bracket_counts"]]


ASHAScheduler = AsyncHyperBandScheduler
