"""Population Based Training: bottom trials copy a top trial's checkpoint and explore its config."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from schedulers._base import Decision, Exploit, TrialScheduler
from schedulers._checks import check_number, check_positive, jsonable, score_sign
from schedulers._frozen import thaw
from schedulers._pbt_explore import (
    Mutation,
    apply_custom_explore,
    check_mutations,
    explore,
    missing_keys,
)
from schedulers._trial_view import TrialStatus, TrialView
from schedulers._waiting import StatusBook
from searchers._rng import load_rng, make_rng, rng_state


@dataclass
class _TrialState:
    """What PBT remembers of a live trial (its config and checkpoint flag come from views)."""

    last_score: float | None = None
    last_train_time: float = 0.0
    last_perturbation_time: float = 0.0
    last_iteration: float = 0.0


class PopulationBasedTraining(TrialScheduler):
    """Population Based Training (Jaderberg et al. 2017) with Ray Tune's semantics.

    Every `perturbation_interval` units of `time_attr` (after `burn_in_period`), a trial's latest
    score places it among the live trials that have a score: if it is in the bottom
    `quantile_fraction`, a donor is drawn from the top `quantile_fraction`; when the donor
    `has_checkpoint`, the trial PAUSEs and `take_exploit` returns ``Exploit(donor, new_config)``:
    the donor's config explored (see `schedulers._pbt_explore.explore`), then passed through
    `custom_explore_fn`. A donor without a checkpoint is skipped (the trial CONTINUEs). A trial at
    its interval that does not exploit PAUSEs anyway when other trials wait to run, so that more
    trials than workers share time; `choose_trial_to_run` resumes the least trained first.

    With ``synch=True`` every trial PAUSEs at the interval until all live trials reached it; the
    last one to arrive triggers the exploits of all bottom trials together. Exploits of trials that
    are already paused are handed out by `take_exploit` when the event loop asks before resuming
    them.

    Every exploit is recorded as a JSON-able dict, collected with `take_perturbation_records()`:
    ``time``, ``target_trial_id``, ``donor_trial_id``, ``target_iteration``, ``donor_iteration``,
    ``old_config`` (the donor's config, i.e. the config the copied checkpoint was trained with, as
    in Ray's policy files), ``target_config`` (what the target discards) and ``new_config``.

    Life cycle: `on_trial_add` checks the config holds every mutated key; `on_trial_result` ->
    CONTINUE or PAUSE; after a PAUSE (and before resuming a paused trial) `take_exploit`;
    `take_perturbation_records` whenever the loop writes them; the end hooks drop the trial.

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
        self._exploits: dict[str, Exploit] = {}
        self._records: list[dict[str, Any]] = []
        self._next_sync = float(max(perturbation_interval, burn_in_period))
        self._book = StatusBook()

    # -- views -------------------------------------------------------------------------------

    def _see(self, trial: TrialView) -> _TrialState:
        self._configs[trial.trial_id] = trial.config
        self._checkpointed[trial.trial_id] = trial.has_checkpoint
        return self._states.setdefault(trial.trial_id, _TrialState())

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

    def choose_trial_to_run(self, trials: Sequence[TrialView]) -> str | None:
        """The waiting trial that trained least (in sync mode: only those behind the barrier)."""
        self._book.see_all(trials)
        for view in trials:
            if not view.status.is_finished:
                self._see(view)
        if self.synch:
            self._sync_if_ready()
        candidates = [
            t
            for t in trials
            if t.status in (TrialStatus.PENDING, TrialStatus.PAUSED)
            and (not self.synch or self._states[t.trial_id].last_train_time < self._next_sync)
        ]
        if not candidates:
            return None
        chosen = min(candidates, key=lambda t: self._states[t.trial_id].last_train_time)
        self._book.mark(chosen.trial_id, TrialStatus.RUNNING)
        return chosen.trial_id

    # -- results -------------------------------------------------------------------------------

    def on_trial_result(self, trial: TrialView, result: Mapping[str, Any]) -> Decision:
        """CONTINUE between intervals; at an interval PAUSE to exploit, to share time, or to sync."""
        time = self.metric_value(result, self.time_attr)
        score = score_sign(type(self).__name__, self.mode) * self.metric_value(result)
        if math.isnan(score):
            score = -math.inf
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
        state.last_train_time = time
        self._observe(trial_id, time, score)
        if self.synch:
            self._sync_if_ready()
            self._book.mark(trial_id, TrialStatus.PAUSED)
            return Decision.PAUSE
        state.last_perturbation_time = time
        lower, upper = self._quantiles()
        exploited = trial_id in lower and self._exploit(trial_id, upper, time)
        if exploited or self._book.others_waiting(trial_id):
            self._book.mark(trial_id, TrialStatus.PAUSED)
            return Decision.PAUSE
        return Decision.CONTINUE

    def _quantiles(self) -> tuple[list[str], list[str]]:
        """Ids of the live scored trials in the bottom and top quantile (worst first)."""
        scored = [t for t, s in self._states.items() if s.last_score is not None]
        scored.sort(key=lambda t: self._states[t].last_score)  # type: ignore[arg-type, return-value]
        if len(scored) <= 1:
            return [], []
        size = math.ceil(len(scored) * self.quantile_fraction)
        size = min(size, len(scored) // 2)
        return scored[:size], scored[len(scored) - size :]

    def _exploit(self, trial_id: str, upper: Sequence[str], time: float) -> bool:
        """Record an exploit of a random top trial; False when that donor has no checkpoint."""
        if not upper:
            return False
        donor = upper[int(self._rng.integers(len(upper)))]
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
        self._records.append(
            {
                "time": time,
                "target_trial_id": trial_id,
                "donor_trial_id": donor,
                "target_iteration": target.last_iteration,
                "donor_iteration": source.last_iteration,
                "old_config": jsonable(donor_config),
                "target_config": jsonable(self._configs[trial_id]),
                "new_config": jsonable(new_config),
            }
        )
        self._exploits[trial_id] = Exploit(donor_trial_id=donor, new_config=new_config)
        self._configs[trial_id] = new_config
        self._checkpointed[trial_id] = True  # it resumes from the donor's checkpoint
        target.last_perturbation_time = source.last_perturbation_time
        target.last_train_time = source.last_train_time
        target.last_iteration = source.last_iteration
        self._on_exploit(trial_id, donor, new_config)
        return True

    def _sync_if_ready(self) -> None:
        """In sync mode: once every live trial reached the barrier, exploit all bottom trials."""
        if not self._states or any(
            s.last_train_time < self._next_sync for s in self._states.values()
        ):
            return
        lower, upper = self._quantiles()
        for state in self._states.values():
            state.last_perturbation_time = state.last_train_time
        for trial_id in lower:
            self._exploit(trial_id, upper, self._states[trial_id].last_train_time)
        latest = max(s.last_train_time for s in self._states.values())
        self._next_sync = max(self._next_sync + self.perturbation_interval, latest)

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

    def _observe(self, trial_id: str, time: float, score: float) -> None:
        """A trial's signed score at a perturbation interval (PB2 keeps these)."""

    def _on_exploit(self, trial_id: str, donor_id: str, new_config: Mapping[str, Any]) -> None:
        """A trial now continues from `donor_id`'s checkpoint with `new_config`."""

    # -- hand-outs -------------------------------------------------------------------------------

    def take_exploit(self, trial_id: str) -> Exploit | None:
        """The exploit decided for a trial (once), or None."""
        return self._exploits.pop(trial_id, None)

    def take_perturbation_records(self) -> list[dict[str, Any]]:
        """The perturbation records made since the last call, oldest first (JSON data)."""
        records, self._records = self._records, []
        return records

    # -- end of trials ---------------------------------------------------------------------------

    def _drop(self, trial_id: str) -> None:
        self._states.pop(trial_id, None)
        self._configs.pop(trial_id, None)
        self._checkpointed.pop(trial_id, None)
        self._exploits.pop(trial_id, None)
        self._book.forget(trial_id)
        if self.synch:
            self._sync_if_ready()

    def on_trial_complete(self, trial: TrialView, result: Mapping[str, Any]) -> None:
        """Stop tracking the trial (it can no longer be a donor)."""
        self._drop(trial.trial_id)

    def on_trial_error(self, trial: TrialView) -> None:
        """Stop tracking the trial."""
        self._drop(trial.trial_id)

    def on_trial_remove(self, trial: TrialView) -> None:
        """Stop tracking the trial."""
        self._drop(trial.trial_id)

    # -- state -------------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Per-trial times and scores, pending exploits and records, and the rng, as JSON data."""
        return {
            "trials": {k: asdict(v) for k, v in self._states.items()},
            "exploits": {
                k: {"donor_trial_id": e.donor_trial_id, "new_config": dict(e.new_config)}
                for k, e in self._exploits.items()
            },
            "records": list(self._records),
            "next_sync": self._next_sync,
            "statuses": self._book.state_dict(),
            "rng": rng_state(self._rng),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore from `state_dict()`; configs and checkpoint flags come from `on_trial_add`."""
        self._states = {k: _TrialState(**v) for k, v in state["trials"].items()}
        self._exploits = {
            k: Exploit(donor_trial_id=v["donor_trial_id"], new_config=v["new_config"])
            for k, v in state["exploits"].items()
        }
        self._records = list(state["records"])
        self._next_sync = float(state["next_sync"])
        self._book.load_state_dict(state["statuses"])
        self._rng = load_rng(state["rng"])
