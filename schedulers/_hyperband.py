"""Synchronous HyperBand: trials in a bracket wait at each milestone, then the best 1/rf go on."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from schedulers._base import Decision, TrialScheduler
from schedulers._checks import check_positive, check_reduction_factor, score_sign
from schedulers._scores import Score, Scores, load_score
from schedulers._suggestion import TrialSuggestion, WaitingTrials
from schedulers._trial_view import TrialStatus, TrialView
from searchers._fidelity import Fidelity


def bracket_plan(max_t: float, reduction_factor: float) -> list[tuple[int, list[float]]]:
    """Each bracket of one HyperBand band as (planned trials, milestones), in Ray's order s = 0, 1...

    Bracket ``s`` takes ``ceil(s_max_1 / (s + 1) * rf**s)`` trials, where
    ``s_max_1 = round(log(max_t) / log(rf)) + 1``, and runs them to milestones
    ``r0 * rf**i`` for ``i < s``, then `max_t`, where ``r0 = max_t / rf**s`` (truncated to an int
    when `max_t` is an int). Brackets whose ``r0`` would be 0 are left out, as in Ray.

    Example:
        >>> bracket_plan(9, 3)
        [(3, [9]), (5, [3, 9]), (9, [1, 3, 9])]
    """
    s_max_1 = max(1, round(math.log(max_t) / math.log(reduction_factor)) + 1)
    plan = []
    for s in range(s_max_1):
        n0 = math.ceil(s_max_1 / (s + 1) * reduction_factor**s)
        r0: float = max_t / reduction_factor**s
        if isinstance(max_t, int):
            r0 = int(r0)
        if r0 <= 0:
            continue
        milestones = [r0 * reduction_factor**i for i in range(s)]
        if isinstance(max_t, int):
            milestones = [int(m) for m in milestones]
        plan.append((n0, [*milestones, max_t]))
    return plan


class _Bracket:
    """One bracket: its trials, their latest (time, score), and the current milestone (a score is
    a signed number, or the ranked metrics' values under several objectives or constraints)."""

    def __init__(self, n0: int, milestones: Sequence[float]) -> None:
        self.n0 = n0
        self.n_level = n0  # the planned number of trials at the current milestone
        self.milestones = list(milestones)
        self.level = 0
        self.trials: list[str] = []
        self.live: dict[str, list[Any] | None] = {}
        self.to_unpause: set[str] = set()

    @property
    def milestone(self) -> float:
        return self.milestones[self.level]

    @property
    def is_last_level(self) -> bool:
        return self.level == len(self.milestones) - 1

    @property
    def closed(self) -> bool:
        """Whether the bracket takes no more trials: full, or halving has begun."""
        return self.level > 0 or len(self.trials) >= self.n0

    def waiting(self, trial_id: str) -> bool:
        """Whether a live trial has reached the current milestone and waits for the others."""
        stats = self.live.get(trial_id)
        return stats is not None and stats[0] >= self.milestone

    def all_reached(self) -> bool:
        return bool(self.live) and all(self.waiting(t) for t in self.live)

    def state_dict(self) -> dict[str, Any]:
        return {
            "n0": self.n0,
            "n_level": self.n_level,
            "milestones": list(self.milestones),
            "level": self.level,
            "trials": list(self.trials),
            "live": {k: (list(v) if v is not None else None) for k, v in self.live.items()},
            "to_unpause": sorted(self.to_unpause),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> _Bracket:
        bracket = cls(int(state["n0"]), state["milestones"])
        bracket.n_level = int(state["n_level"])
        bracket.level = int(state["level"])
        bracket.trials = list(state["trials"])
        bracket.live = {
            k: (None if v is None else [float(v[0]), load_score(v[1])])
            for k, v in state["live"].items()
        }
        bracket.to_unpause = set(state["to_unpause"])
        return bracket


class HyperBandScheduler(TrialScheduler):
    """Synchronous HyperBand (Li et al. 2017) on Ray Tune's bracket layout.

    Trials fill brackets in order of creation (see `bracket_plan`; for ``max_t=9``,
    ``reduction_factor=3``: 3 trials run straight to 9, then 5 trials with milestones 3, 9, then 9
    trials with milestones 1, 3, 9, then a new band). A trial that reaches its bracket's milestone
    PAUSEs. Once the bracket holds its planned number of trials and every live one has reached
    the milestone (trials that ended no longer count), the best ``ceil(n / reduction_factor)`` of
    the planned ``n`` go on to the next milestone. A bracket that cannot fill (the experiment has
    fewer trials, or the searcher suggests no more for now) is halved when the event loop asks
    `suggest` with no PENDING trial to offer, since it then created none: the one that
    reported last gets CONTINUE, paused winners are resumed first by `suggest`; the rest are
    stopped (STOP for the reporting trial, STOP suggestions for paused ones). Trials stop at
    `max_t` (with ``stop_last_trials=False`` they go on, unranked, until they end by themselves
    or a stop criterion ends them, as in Ray). Milestones are cumulative in `time_attr` (1, 3,
    9 as in the paper; Ray's code stops the last rung early at 6).

    Life cycle: `on_trial_add` places the trial in a bracket; `on_trial_result` returns
    CONTINUE/PAUSE/STOP; `on_trial_complete`/`on_trial_error`/`on_trial_remove` drop it from its
    bracket, which may complete the bracket's milestone; `suggest` then stops the losers and
    resumes the winners. It never resumes a trial that waits at a milestone.

    Several objectives (`metric` a list) or constraints rank a bracket's trials by constrained
    non-dominated sorting with the epsilon-net tie-break (`schedulers._scores`) at each halving.

    Example:
        >>> from schedulers import HyperBandScheduler
        >>> HyperBandScheduler(metric="acc", mode="max", max_t=9, reduction_factor=3).milestones
        [[9], [3, 9], [1, 3, 9]]

    Attributes:
        pauses_trials: True: trials wait at milestones and resume from a checkpoint.
    """

    pauses_trials = True
    supports_multi_objective = True
    supports_constraints = True

    def __init__(
        self,
        time_attr: str = "training_iteration",
        *,
        metric: str | list[str] | None = None,
        mode: str | list[str] | None = None,
        max_t: float = 81,
        reduction_factor: float = 3,
        stop_last_trials: bool = True,
    ) -> None:
        super().__init__(metric=metric, mode=mode)
        name = type(self).__name__
        check_positive(name, "max_t", max_t, fix="pass the largest time_attr a trial may reach")
        check_reduction_factor(name, reduction_factor)
        self.time_attr = time_attr
        self.max_t = max_t
        self.reduction_factor = reduction_factor
        if not isinstance(stop_last_trials, bool):
            raise ValueError(f"{name}: `stop_last_trials` must be True or False, got "
                             f"stop_last_trials={stop_last_trials!r}")
        self.stop_last_trials = stop_last_trials
        self._plan = self.plan(max_t, reduction_factor)
        self._bands: list[list[_Bracket]] = []
        self._past_max_t: set[str] = set()
        """Trials that reached max_t with stop_last_trials=False: they go on unranked."""
        self._trial_bracket: dict[str, tuple[int, int]] = {}
        self._to_stop: list[str] = []
        self._scores = Scores(self)

    @staticmethod
    def plan(max_t: float, reduction_factor: float) -> list[tuple[int, list[float]]]:
        """The brackets of one band, in the order they are filled (`bracket_plan`'s)."""
        return bracket_plan(max_t, reduction_factor)

    @property
    def milestones(self) -> list[list[float]]:
        """The milestones of the brackets of one band, in the order they are filled."""
        return [list(m) for _, m in self._plan]

    @property
    def fidelity(self) -> Fidelity:
        """Every bracket's milestones, as the budgets a searcher may learn at."""
        levels = {float(m) for _, milestones in self._plan for m in milestones}
        return Fidelity(self.time_attr, tuple(sorted(levels)))

    def _bracket_of(self, trial_id: str) -> _Bracket | None:
        where = self._trial_bracket.get(trial_id)
        return None if where is None else self._bands[where[0]][where[1]]

    def on_trial_add(self, trial: TrialView) -> None:
        """Put the trial into the open bracket, opening the next one when it is closed."""
        if trial.trial_id in self._trial_bracket:
            return  # added again on restore
        if not self._bands or self._bands[-1][-1].closed:
            if not self._bands or len(self._bands[-1]) == len(self._plan):
                self._bands.append([])
            n0, milestones = self._plan[len(self._bands[-1])]
            self._bands[-1].append(_Bracket(n0, milestones))
        bracket = self._bands[-1][-1]
        bracket.trials.append(trial.trial_id)
        bracket.live[trial.trial_id] = None
        self._trial_bracket[trial.trial_id] = (len(self._bands) - 1, len(self._bands[-1]) - 1)

    def on_trial_result(self, trial: TrialView, result: Mapping[str, Any]) -> Decision:
        """CONTINUE below the milestone; PAUSE at it until the bracket is halved; STOP at max_t."""
        time = self.metric_value(result, self.time_attr)
        score: Score
        if self._scores.ranked:
            score = self._scores.of(result)  # a NaN ranks worst
        else:
            score = score_sign(type(self).__name__, self.mode) * self.metric_value(result)
            if math.isnan(score):
                score = -math.inf
        trial_id = trial.trial_id
        if trial_id in self._past_max_t:
            return Decision.CONTINUE
        if trial_id not in self._trial_bracket:
            self.on_trial_add(trial)
        bracket = self._bracket_of(trial_id)
        if bracket is None or trial_id not in bracket.live:
            return Decision.STOP  # given up on already
        bracket.live[trial_id] = [time, score]
        bracket.to_unpause.discard(trial_id)
        if time < bracket.milestone:
            return Decision.CONTINUE
        if bracket.is_last_level:
            return self._finish(bracket, trial_id, trial_id) or Decision.CONTINUE
        decision = self._halve(bracket, current=trial_id)
        return Decision.PAUSE if decision is None else decision

    def _halve(
        self, bracket: _Bracket, current: str | None, *, unfilled: bool = False
    ) -> Decision | None:
        """Halve the bracket while all its live trials reached the milestone.

        A bracket still taking trials waits for them (the event loop creates trials only as
        workers free up, so the rest of the bracket may not exist yet), unless `unfilled` says
        that no more will come.

        Returns the decision for `current` when the halving decided it, else None.
        """
        decision: Decision | None = None
        while (
            not bracket.is_last_level
            and (bracket.closed or unfilled)
            and bracket.all_reached()
        ):
            keep = math.ceil(bracket.n_level / self.reduction_factor)
            bracket.n_level = keep
            bracket.level += 1
            # Stable sort: on ties the trial added first goes on.
            ranked = self._scores.best_first(
                {t: stats[1] for t, stats in bracket.live.items() if stats is not None}
            )
            for trial_id in ranked[keep:]:
                decision = self._give_up(bracket, trial_id, current) or decision
            for trial_id in ranked[:keep]:
                stats = bracket.live[trial_id]
                if stats is not None and stats[0] >= bracket.milestone:
                    if bracket.is_last_level:  # ran past max_t while waiting: done
                        decision = self._finish(bracket, trial_id, current) or decision
                    elif trial_id == current:
                        decision = Decision.PAUSE
                elif trial_id == current:
                    decision = Decision.CONTINUE
                else:
                    bracket.to_unpause.add(trial_id)
        return decision

    def _finish(self, bracket: _Bracket, trial_id: str, current: str | None) -> Decision | None:
        """A trial at max_t: stopped, or (stop_last_trials=False) left to go on unranked."""
        if self.stop_last_trials:
            return self._give_up(bracket, trial_id, current)
        del bracket.live[trial_id]
        bracket.to_unpause.discard(trial_id)
        self._past_max_t.add(trial_id)
        return Decision.CONTINUE if trial_id == current else None

    def _give_up(self, bracket: _Bracket, trial_id: str, current: str | None) -> Decision | None:
        del bracket.live[trial_id]
        bracket.to_unpause.discard(trial_id)
        if trial_id == current:
            return Decision.STOP
        self._to_stop.append(trial_id)
        return None

    def _drop(self, trial_id: str) -> None:
        self._past_max_t.discard(trial_id)
        bracket = self._bracket_of(trial_id)
        if bracket is None or trial_id not in bracket.live:
            return
        del bracket.live[trial_id]
        bracket.to_unpause.discard(trial_id)
        self._halve(bracket, current=None)

    def on_trial_end(self, trial: TrialView) -> None:
        """Drop the trial from its bracket; the others may now be halved."""
        self._drop(trial.trial_id)

    def suggest(self, waiting: WaitingTrials) -> TrialSuggestion | None:
        """Stop the trials that lost a halving; then resume trials that won one, then start
        PENDING ones, bracket by bracket.

        Trials waiting at a milestone are never run. With no PENDING trial waiting, brackets
        that did not fill are halved first.
        """
        if not self._to_stop:
            first = next(iter(waiting), None)
            if first is None or first.status is not TrialStatus.PENDING:
                # The loop offers a new trial whenever it can create one: none will join the
                # open bracket now, so its waiting trials must not wait for the trials it planned.
                for band in self._bands:
                    for bracket in band:
                        self._halve(bracket, current=None, unfilled=True)
        if self._to_stop:
            return TrialSuggestion.stop(self._to_stop.pop(0))
        best: tuple[tuple[int, int, int, int], str] | None = None
        for view in waiting:
            key = self._rank(view)
            if key is not None and (best is None or key < best[0]):
                best = (key, view.trial_id)
        return None if best is None else TrialSuggestion.run(best[1])

    def _rank(self, view: TrialView) -> tuple[int, int, int, int] | None:
        """Where a waiting trial comes in the order of `suggest` (None: not to be run now)."""
        where = self._trial_bracket.get(view.trial_id)
        bracket = self._bracket_of(view.trial_id)
        if bracket is None or where is None:
            return (3, 0, 0, 0)  # not ours: run as FIFO would
        if view.trial_id in self._past_max_t:
            return (0, bracket.level, where[0], where[1])  # paused while it went on past max_t
        if view.trial_id not in bracket.live:
            return None
        order = (bracket.level, where[0], where[1])
        if view.status is TrialStatus.PAUSED and view.trial_id in bracket.to_unpause:
            return (0, *order)
        if view.status is TrialStatus.PENDING:
            return (1, *order)
        if view.status is TrialStatus.PAUSED and not bracket.waiting(view.trial_id):
            return (2, *order)
        return None

    def state_dict(self) -> dict[str, Any]:
        """Bands, brackets, trial placement and trials still to stop as JSON data."""
        return {
            "bands": [[b.state_dict() for b in band] for band in self._bands],
            "trial_bracket": {k: list(v) for k, v in self._trial_bracket.items()},
            "to_stop": list(self._to_stop),
            "past_max_t": sorted(self._past_max_t),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore from `state_dict()`."""
        self._bands = [[_Bracket.from_state(b) for b in band] for band in state["bands"]]
        self._trial_bracket = {k: (int(v[0]), int(v[1])) for k, v in state["trial_bracket"].items()}
        self._to_stop = list(state["to_stop"])
        self._past_max_t = set(state.get("past_max_t", []))
