"""Population Based Training: bottom trials copy a top trial's checkpoint and explore its config."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from schedulers._base import Decision, TrialScheduler
from schedulers._checks import check_number, check_positive, score_sign
from schedulers._frozen import thaw
from schedulers._pbt_explore import (
    Mutation,
    apply_custom_explore,
    check_mutations,
    explore,
    missing_keys,
)
from schedulers._pbt_population import RankedPopulation, ScoreRanking, TrainQueue
from schedulers._scores import Score, Scores, load_score
from schedulers._suggestion import TrialSuggestion, WaitingTrials
from schedulers._trial_view import TrialStatus, TrialView
from schedulers._waiting import StatusBook
from searchers._rng import load_rng, make_rng, rng_state


@dataclass
class _TrialState:
    """What PBT remembers of a live trial (its config and checkpoint flag come from views)."""

    last_score: Score | None = None
    """The signed score at the last interval (the ranked metrics' values under several
    objectives or constraints)."""
    last_train_time: float = 0.0
    last_perturbation_time: float = 0.0
    last_iteration: float = 0.0


class PopulationBasedTraining(TrialScheduler):
    """Population Based Training (Jaderberg et al. 2017) with Ray Tune's semantics.

    Every `perturbation_interval` units of `time_attr` (after `burn_in_period`), a trial's latest
    score places it among the live trials that have a score: if it is in the bottom
    `quantile_fraction`, a donor is drawn from the top `quantile_fraction`; when the donor
    `has_checkpoint`, the trial PAUSEs, and `suggest` resumes it with
    ``TrialSuggestion.run(trial, config=new_config, checkpoint_trial_id=donor)``: the donor's
    config explored (see `schedulers._pbt_explore.explore`), then passed through
    `custom_explore_fn`. A donor without a checkpoint is skipped (the trial CONTINUEs). A trial at
    its interval that does not exploit PAUSEs anyway when other trials wait to run, so that more
    trials than workers share time; `suggest` resumes the least trained first.

    With ``synch=True`` every trial PAUSEs at the interval until all live trials reached it; the
    last one to arrive decides the exploits of all bottom trials together, each carried out when
    `suggest` resumes that trial.

    The event loop logs every exploit it carries out to the experiment's ``pbt_policy.jsonl``,
    which `PopulationBasedTrainingReplay` replays.

    The population is kept in order as it changes (`schedulers._pbt_population`): a result, an
    exploit and a suggestion cost O(log n) in the number of trials, not O(n).

    Several objectives (`metric` a list) or constraints rank the population by constrained
    non-dominated sorting with the epsilon-net tie-break (`schedulers._scores`) for the
    quantiles.

    Life cycle: `on_trial_add` checks the config holds every mutated key; `on_trial_result` ->
    CONTINUE or PAUSE; `suggest` -> the least trained waiting trial, with its exploit if one was
    decided; the end hooks drop the trial.

    Example:
        >>> from schedulers import PopulationBasedTraining
        >>> pbt = PopulationBasedTraining(
        ...     time_attr="training_iteration", metric="acc", mode="max",
        ...     perturbation_interval=5, hyperparam_mutations={"lr": [1e-3, 1e-2, 1e-1]}, seed=0)

    Attributes:
        pauses_trials: True: exploited trials resume from a (copied) checkpoint.
        supports_model_based_searchers: False: PBT changes configs in the middle of trials, so a
            model-based searcher's observations would not belong to the configs it proposed.
    """

    pauses_trials = True
    supports_model_based_searchers = False
    copies_checkpoints = True
    supports_multi_objective = True
    supports_constraints = True

    def __init__(
        self,
        time_attr: str = "time_total_s",
        *,
        metric: str | None = None,
        mode: str | None = None,
        perturbation_interval: float = 60.0,
        burn_in_period: float = 0.0,
        hyperparam_mutations: Mapping[str, Mutation] | None = None,
        quantile_fraction: float = 0.25,
        resample_probability: float = 0.25,
        perturbation_factors: Sequence[float] = (1.2, 0.8),
        custom_explore_fn: Callable[[dict[str, Any]], Any] | None = None,
        synch: bool = False,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        super().__init__(metric=metric, mode=mode)
        name = type(self).__name__
        check_positive(name, "perturbation_interval", perturbation_interval, fix="use e.g. 60.0")
        if check_number(name, "burn_in_period", burn_in_period, fix="use e.g. 0") < 0:
            raise ValueError(f"{name}: `burn_in_period` must be >= 0, got {burn_in_period!r}")
        quantile = check_number(name, "quantile_fraction", quantile_fraction, fix="use e.g. 0.25")
        if not 0 < quantile <= 0.5:
            raise ValueError(
                f"{name}: `quantile_fraction` must be in (0, 0.5], got "
                f"quantile_fraction={quantile_fraction!r}: use e.g. 0.25"
            )
        probability = check_number(
            name, "resample_probability", resample_probability, fix="use e.g. 0.25"
        )
        if not 0 <= probability <= 1:
            raise ValueError(
                f"{name}: `resample_probability` must be in [0, 1], got {resample_probability!r}"
            )
        factors = list(perturbation_factors)
        if not factors:
            raise ValueError(f"{name}: `perturbation_factors` is empty: use e.g. (1.2, 0.8)")
        for factor in factors:
            check_number(name, "perturbation_factors[i]", factor, fix="use e.g. (1.2, 0.8)")
        mutations = dict(hyperparam_mutations or {})
        if not mutations and custom_explore_fn is None:
            raise ValueError(
                f"{name}: `hyperparam_mutations` is empty: name the hyperparameters to explore, "
                "e.g. hyperparam_mutations={'lr': tune.loguniform(1e-4, 1e-1)}, or pass "
                "custom_explore_fn"
            )
        check_mutations(name, mutations)
        self.time_attr = time_attr
        self.perturbation_interval = perturbation_interval
        self.burn_in_period = burn_in_period
        self.hyperparam_mutations = mutations
        self.quantile_fraction = quantile
        self.resample_probability = probability
        self.perturbation_factors = tuple(factors)
        self.custom_explore_fn = custom_explore_fn
        self.synch = synch
        self._rng = make_rng(seed)
        self._states: dict[str, _TrialState] = {}
        # From views, not saved: on restore the loop adds every trial again.
        self._configs: dict[str, Mapping[str, Any]] = {}
        self._checkpointed: dict[str, bool] = {}
        self._exploits: dict[str, TrialSuggestion] = {}
        self._next_sync = float(max(perturbation_interval, burn_in_period))
        self._book = StatusBook()
        self._seq: dict[str, int] = {}
        """The order in which trials joined (the tie-break everywhere)."""
        self._scores = Scores(self)
        self._population: ScoreRanking | RankedPopulation | None = None
        self._queue = TrainQueue(self._queue_key)
        self._behind = 0
        """How many live trials have trained less than `_next_sync` (synch mode's barrier)."""

    # -- views -------------------------------------------------------------------------------

    @property
    def _ranking(self) -> ScoreRanking | RankedPopulation:
        """The live scored trials in order: by signed score, or by the experiment's ranking
        under several objectives or constraints (made when first needed: the experiment sets
        the metric after the scheduler is built)."""
        if self._population is None:
            ranked = self._scores.ranked
            self._population = RankedPopulation(self._scores) if ranked else ScoreRanking()
        return self._population

    def _score(self, result: Mapping[str, Any]) -> Score:
        if self._scores.ranked:
            return self._scores.of(result)  # a NaN ranks worst
        score = score_sign(type(self).__name__, self.mode) * self.metric_value(result)
        return -math.inf if math.isnan(score) else score

    def _see(self, trial: TrialView) -> _TrialState:
        self._configs[trial.trial_id] = trial.config
        self._checkpointed[trial.trial_id] = trial.has_checkpoint
        return self._state(trial.trial_id)

    def _state(self, trial_id: str) -> _TrialState:
        state = self._states.get(trial_id)
        if state is None:
            state = self._states[trial_id] = _TrialState()
            self._seq.setdefault(trial_id, len(self._seq))
            self._behind += state.last_train_time < self._next_sync
        return state

    def _set_train_time(self, trial_id: str, time: float) -> None:
        state = self._states[trial_id]
        self._behind += (time < self._next_sync) - (state.last_train_time < self._next_sync)
        state.last_train_time = time
        self._queue.push(trial_id)

    def _queue_key(self, trial_id: str) -> tuple[float, bool, int] | None:
        status = self._book.status(trial_id)
        state = self._states.get(trial_id)
        if state is None or status not in (TrialStatus.PENDING, TrialStatus.PAUSED):
            return None
        return (state.last_train_time, status is TrialStatus.PAUSED, self._seq[trial_id])

    def _mark(self, trial_id: str, status: TrialStatus) -> None:
        self._book.mark(trial_id, status)
        self._queue.push(trial_id)

    def on_trial_add(self, trial: TrialView) -> None:
        """Start tracking the trial; its config must hold every mutated key."""
        missing = missing_keys(trial.config, self.hyperparam_mutations)
        if missing:
            raise ValueError(
                f"{type(self).__name__}: trial {trial.trial_id}'s config lacks {missing}, which "
                "hyperparam_mutations explores: add them to param_space (e.g. with the same "
                "domain) so that every trial starts with a value"
            )
        self._see(trial)
        self._book.see(trial)
        self._queue.push(trial.trial_id)

    def on_trial_status(self, trial: TrialView) -> None:
        """Follow a move the loop made (a retry, an interrupt, a restore)."""
        if not trial.status.is_finished:
            self._see(trial)  # after a restore: its config and checkpoint, as a donor
        self._book.see(trial)
        self._queue.push(trial.trial_id)

    def suggest(self, waiting: WaitingTrials) -> TrialSuggestion | None:
        """The waiting trial that trained least (in sync mode: only those behind the barrier),
        with the exploit decided for it, if any."""
        if self.synch:
            self._sync_if_ready()
        below = self._next_sync if self.synch else math.inf
        chosen = self._queue.pop_first(lambda t, _: waiting.get(t) is not None, below=below)
        if chosen is None:
            return None
        self._book.mark(chosen, TrialStatus.RUNNING)
        return self._exploits.pop(chosen, None) or TrialSuggestion.run(chosen)

    # -- results -------------------------------------------------------------------------------

    def on_trial_result(self, trial: TrialView, result: Mapping[str, Any]) -> Decision:
        """CONTINUE between intervals; at an interval PAUSE to exploit, to share time, or to sync."""
        time = self.metric_value(result, self.time_attr)
        score = self._score(result)
        trial_id = trial.trial_id
        state = self._see(trial)
        iteration = result.get("training_iteration", state.last_iteration)
        if isinstance(iteration, (int, float)) and not isinstance(iteration, bool):
            state.last_iteration = iteration
        self._book.mark(trial_id, TrialStatus.RUNNING)
        if time < self.burn_in_period or time - state.last_perturbation_time < (
            self.perturbation_interval
        ):
            return Decision.CONTINUE
        state.last_score = score
        self._ranking.set(trial_id, self._seq[trial_id], score)
        self._set_train_time(trial_id, time)
        self._observe(trial_id, time, score)
        if self.synch:
            self._mark(trial_id, TrialStatus.PAUSED)
            self._sync_if_ready()
            return Decision.PAUSE
        state.last_perturbation_time = time
        size = self._ranking.quantile_size(self.quantile_fraction)
        exploited = self._ranking.in_bottom(trial_id, size) and self._exploit(trial_id, size)
        if exploited or self._book.others_waiting(trial_id):
            self._mark(trial_id, TrialStatus.PAUSED)
            return Decision.PAUSE
        return Decision.CONTINUE

    def _exploit(self, trial_id: str, size: int) -> bool:
        """Decide an exploit of a random trial of the top `size`; False when that donor has no
        checkpoint."""
        if not size:
            return False
        donor = self._ranking.top(size, int(self._rng.integers(size)))
        if not self._checkpointed.get(donor, False):
            return False
        # A plain copy of the donor's (read-only) config: explore and custom_explore_fn change it.
        donor_config = thaw(self._configs[donor])
        new_config = apply_custom_explore(
            type(self).__name__,
            self._explore_config(trial_id, donor, donor_config),
            self.custom_explore_fn,
        )
        target, source = self._states[trial_id], self._states[donor]
        self._exploits[trial_id] = TrialSuggestion.run(
            trial_id, config=new_config, checkpoint_trial_id=donor
        )
        self._configs[trial_id] = new_config
        self._checkpointed[trial_id] = True  # it resumes from the donor's checkpoint
        target.last_perturbation_time = source.last_perturbation_time
        target.last_iteration = source.last_iteration
        self._set_train_time(trial_id, source.last_train_time)
        self._on_exploit(trial_id, donor, new_config)
        return True

    def _sync_if_ready(self) -> None:
        """In sync mode: once every live trial reached the barrier, exploit all bottom trials.

        Counting the trials behind the barrier makes the check O(1); the round itself walks the
        population once per interval.
        """
        if not self._states or self._behind:
            return
        size = self._ranking.quantile_size(self.quantile_fraction)
        for state in self._states.values():
            state.last_perturbation_time = state.last_train_time
        for trial_id in self._ranking.bottom(size):
            self._exploit(trial_id, size)
        latest = max(s.last_train_time for s in self._states.values())
        self._next_sync = max(self._next_sync + self.perturbation_interval, latest)
        self._count_behind()

    def _count_behind(self) -> None:
        self._behind = sum(s.last_train_time < self._next_sync for s in self._states.values())

    # -- explore hooks (PB2 overrides) --------------------------------------------------------

    def _explore_config(
        self, trial_id: str, donor_id: str, donor_config: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The donor's config explored for `trial_id`."""
        return explore(
            donor_config,
            self.hyperparam_mutations,
            self._rng,
            resample_probability=self.resample_probability,
            perturbation_factors=self.perturbation_factors,
        )

    def _observe(self, trial_id: str, time: float, score: Score) -> None:
        """A trial's signed score at a perturbation interval (PB2 keeps these)."""

    def _on_exploit(self, trial_id: str, donor_id: str, new_config: Mapping[str, Any]) -> None:
        """A trial now continues from `donor_id`'s checkpoint with `new_config`."""

    # -- end of trials ---------------------------------------------------------------------------

    def _drop(self, trial_id: str) -> None:
        state = self._states.pop(trial_id, None)
        if state is not None:
            self._behind -= state.last_train_time < self._next_sync
        self._ranking.remove(trial_id)
        self._configs.pop(trial_id, None)
        self._checkpointed.pop(trial_id, None)
        self._exploits.pop(trial_id, None)
        self._book.forget(trial_id)
        if self.synch:
            self._sync_if_ready()

    def on_trial_end(self, trial: TrialView) -> None:
        """Stop tracking the trial (it can no longer be a donor)."""
        self._drop(trial.trial_id)

    # -- state -------------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Per-trial times and scores, pending exploits, and the rng, as JSON data."""
        return {
            "trials": {k: asdict(v) for k, v in self._states.items()},
            "exploits": {
                k: {"donor_trial_id": e.checkpoint_trial_id, "new_config": dict(e.config or {})}
                for k, e in self._exploits.items()
            },
            "next_sync": self._next_sync,
            "statuses": self._book.state_dict(),
            "rng": rng_state(self._rng),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore from `state_dict()`; configs and checkpoint flags come from `on_trial_add`."""
        self._states = {k: _TrialState(**v) for k, v in state["trials"].items()}
        self._exploits = {
            k: TrialSuggestion.run(
                k, config=v["new_config"], checkpoint_trial_id=v["donor_trial_id"]
            )
            for k, v in state["exploits"].items()
        }
        self._next_sync = float(state["next_sync"])
        self._book.load_state_dict(state["statuses"])
        self._rng = load_rng(state["rng"])
        # The ordered views of the population, rebuilt from what was saved.
        for trial_id in self._states:
            self._seq.setdefault(trial_id, len(self._seq))
        self._population = None
        for trial_state in self._states.values():
            if trial_state.last_score is not None:
                trial_state.last_score = load_score(trial_state.last_score)
        for trial_id, trial_state in self._states.items():
            if trial_state.last_score is not None:
                self._ranking.set(trial_id, self._seq[trial_id], trial_state.last_score)
        self._queue.clear()
        for trial_id in self._states:
            self._queue.push(trial_id)
        self._count_behind()
