"""Median stopping rule: stop a trial whose best result trails the median of the others."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from schedulers._base import Decision, TrialScheduler
from schedulers._checks import check_number, score_sign
from schedulers._scores import Score, Scores, load_score
from schedulers._suggestion import TrialSuggestion, WaitingTrials
from schedulers._trial_view import TrialStatus, TrialView
from schedulers._waiting import StatusBook


class MedianStoppingRule(TrialScheduler):
    """The median stopping rule (Golovin et al. 2017, Google Vizier) with Ray Tune's semantics.

    After `grace_period` (in units of `time_attr`), a trial is stopped at time ``t`` when its best
    result so far is strictly worse than the median, over the other trials that reached ``t``,
    of their running averages of results reported between `grace_period` and ``t``. Results of
    completed trials count too. With fewer than `min_samples_required` such trials the rule cannot
    judge; the trial then yields its worker (PAUSE) if other trials wait to run and it ran at least
    `min_time_slice` since it last yielded, and continues otherwise.

    Under several objectives (`metric` a list) or constraints, a trial is stopped when its best
    result so far (by the experiment's ranking) ranks in the worse half of itself and the
    others' running averages (each metric averaged), by constrained non-dominated sorting.

    `hard_stop=False` pauses a trial the rule would stop instead; it is resumed only when no
    other trial waits, then runs on without being judged again (Ray's behaviour).

    Life cycle: `on_trial_add`, `on_trial_status` and its own decisions tell the scheduler
    which trials wait; `suggest` runs one of them; `on_trial_result` returns CONTINUE, PAUSE (yield, or soft stop) or STOP; `on_trial_complete`
    adds the final result to the history; errors and removals keep the history.

    Example:
        >>> from schedulers import MedianStoppingRule, TrialStatus, TrialView
        >>> rule = MedianStoppingRule(metric="loss", mode="min", time_attr="training_iteration",
        ...                           grace_period=1, min_samples_required=1)
        >>> a, b = (TrialView(i, {}, TrialStatus.RUNNING) for i in "ab")
        >>> rule.on_trial_result(a, {"training_iteration": 1, "loss": 1.0})
        <Decision.CONTINUE: 'CONTINUE'>
        >>> rule.on_trial_result(b, {"training_iteration": 1, "loss": 2.0})
        <Decision.STOP: 'STOP'>

    Attributes:
        pauses_trials: True: trials yield their worker while the rule lacks samples, and
            `hard_stop=False` pauses instead of stopping; a paused trial resumes from a checkpoint.
    """

    pauses_trials = True
    supports_multi_objective = True
    supports_constraints = True

    def __init__(
        self,
        time_attr: str = "time_total_s",
        *,
        metric: str | list[str] | None = None,
        mode: str | list[str] | None = None,
        grace_period: float = 60.0,
        min_samples_required: int = 3,
        min_time_slice: float = 0,
        hard_stop: bool = True,
    ) -> None:
        super().__init__(metric=metric, mode=mode)
        name = type(self).__name__
        if check_number(name, "grace_period", grace_period, fix="use e.g. 60.0") < 0:
            raise ValueError(f"{name}: `grace_period` must be >= 0, got {grace_period!r}")
        if check_number(name, "min_time_slice", min_time_slice, fix="use e.g. 0") < 0:
            raise ValueError(f"{name}: `min_time_slice` must be >= 0, got {min_time_slice!r}")
        if (
            isinstance(min_samples_required, bool)
            or not isinstance(min_samples_required, int)
            or min_samples_required < 1
        ):
            raise ValueError(
                f"{name}: `min_samples_required` must be an int >= 1, got "
                f"min_samples_required={min_samples_required!r}: use e.g. 3"
            )
        self.time_attr = time_attr
        self.grace_period = grace_period
        self.min_samples_required = min_samples_required
        self.min_time_slice = min_time_slice
        self.hard_stop = hard_stop
        # trial id -> [[time, signed score], ...] in report order (higher score is better); the
        # score is the ranked metrics' values under several objectives or constraints
        self._results: dict[str, list[list[Any]]] = {}
        self._scores = Scores(self)
        self._stopped: set[str] = set()
        self._last_pause: dict[str, float] = {}
        self._book = StatusBook()

    def on_trial_add(self, trial: TrialView) -> None:
        """Note the trial's status (it may be waiting to run)."""
        self._book.see(trial)

    def on_trial_result(self, trial: TrialView, result: Mapping[str, Any]) -> Decision:
        """Judge the trial against the median of the others' running averages."""
        trial_id = trial.trial_id
        time = self.metric_value(result, self.time_attr)
        score = self._score(result)
        self._book.mark(trial_id, TrialStatus.RUNNING)
        if trial_id in self._stopped:
            return Decision.CONTINUE  # soft-stopped and resumed: runs on unjudged
        self._results.setdefault(trial_id, []).append([time, score])
        if time < self.grace_period:
            return Decision.CONTINUE
        others = [
            other
            for other, history in self._results.items()
            if other != trial_id and history[-1][0] >= time
        ]
        means = [m for m in (self._running_mean(o, time) for o in others) if m is not None]
        if len(means) < self.min_samples_required:
            return self._on_insufficient_samples(trial_id, time)
        if self._worse_than_median(trial_id, means):
            self._stopped.add(trial_id)
            if self.hard_stop:
                return Decision.STOP
            self._book.mark(trial_id, TrialStatus.PAUSED)
            return Decision.PAUSE
        return Decision.CONTINUE

    def _on_insufficient_samples(self, trial_id: str, time: float) -> Decision:
        ran_enough = time - self._last_pause.get(trial_id, -math.inf) > self.min_time_slice
        if ran_enough and self._book.others_waiting(trial_id):
            self._last_pause[trial_id] = time
            self._book.mark(trial_id, TrialStatus.PAUSED)
            return Decision.PAUSE
        return Decision.CONTINUE

    def _score(self, result: Mapping[str, Any]) -> Score:
        if self._scores.ranked:
            return self._scores.of(result)
        return score_sign(type(self).__name__, self.mode) * self.metric_value(result)

    def _worse_than_median(self, trial_id: str, means: list[Score]) -> bool:
        """Whether the trial's best result so far is worse than the median of `means`: by the
        one score, or, under several objectives or constraints, ranking in the worse half of
        itself and the others' running averages."""
        history = [s for _, s in self._results[trial_id]]
        if self._scores.ranked:
            best = self._scores.best_first({str(i): s for i, s in enumerate(history)})[0]
            return not self._scores.better_than_median(history[int(best)], means)
        signed = [s for s in history if isinstance(s, float)]
        best_score = max((s for s in signed if not math.isnan(s)), default=-math.inf)
        return bool(best_score < float(np.median([m for m in means if isinstance(m, float)])))

    def _running_mean(self, trial_id: str, time: float) -> Score | None:
        scoped = [s for t, s in self._results[trial_id] if self.grace_period <= t <= time]
        if self._scores.ranked:
            # A trial that reported nothing inside the window (coarse reports) is no sample.
            return self._scores.mean(scoped) if scoped else None
        kept = [s for s in scoped if not math.isnan(s)]
        return float(np.mean(kept)) if kept else None

    def on_trial_complete(self, trial: TrialView, result: Mapping[str, Any]) -> None:
        """Add the final result to the history, as Ray does."""
        self._book.forget(trial.trial_id)
        if not result or trial.trial_id in self._stopped:
            return
        time = self.metric_value(result, self.time_attr)
        score = self._score(result)
        history = self._results.setdefault(trial.trial_id, [])
        if not history or history[-1] != [time, score]:
            history.append([time, score])

    def on_trial_end(self, trial: TrialView) -> None:
        """The trial no longer waits; its history still counts."""
        self._book.forget(trial.trial_id)

    def on_trial_status(self, trial: TrialView) -> None:
        """Follow a move the loop made (a retry, an interrupt)."""
        self._book.see(trial)

    def suggest(self, waiting: WaitingTrials) -> TrialSuggestion | None:
        """PENDING trials first, then trials that yielded, then soft-stopped ones."""
        chosen = None
        for view in waiting:  # PENDING ones come first
            if view.status is TrialStatus.PENDING or view.trial_id not in self._stopped:
                chosen = view
                break
            chosen = chosen or view
        if chosen is None:
            return None
        self._book.mark(chosen.trial_id, TrialStatus.RUNNING)
        return TrialSuggestion.run(chosen.trial_id)

    def state_dict(self) -> dict[str, Any]:
        """Histories, soft-stopped trials, last yields and known statuses as JSON data."""
        return {
            "results": {k: [list(r) for r in v] for k, v in self._results.items()},
            "stopped": sorted(self._stopped),
            "last_pause": dict(self._last_pause),
            "statuses": self._book.state_dict(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore from `state_dict()`."""
        self._results = {
            k: [[float(t), load_score(s)] for t, s in v] for k, v in state["results"].items()
        }
        self._stopped = set(state["stopped"])
        self._last_pause = {k: float(v) for k, v in state["last_pause"].items()}
        self._book.load_state_dict(state["statuses"])
