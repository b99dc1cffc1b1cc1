"""DEHB: differential evolution on HyperBand's budgets (Awad, Mallik and Hutter 2021)."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from schedulers._base import Decision, TrialScheduler
from schedulers._checks import check_number, check_positive, check_reduction_factor, score_sign
from schedulers._dehb_brackets import (
    Bracket,
    BracketPlan,
    Job,
    budgets,
    max_halvings,
    population_sizes,
    reached,
)
from schedulers._dehb_space import UnitCube
from schedulers._differential_evolution import Subpopulation, evolve
from schedulers._suggestion import TrialSuggestion, WaitingTrials
from schedulers._trial_view import TrialStatus, TrialView
from searchers._fidelity import Fidelity
from searchers._paths import find_domains, find_grids, merge
from searchers._rng import load_rng, make_rng, rng_state


class DEHB(TrialScheduler):
    """DEHB (Awad, Mallik and Hutter 2021): HyperBand's brackets, with the configs of each
    budget evolved by differential evolution instead of drawn at random.

    Why a scheduler and not a searcher: DEHB decides which config runs, to which budget each
    trial runs, and which budgets wait on which (the successive-halving schedule). In this
    engine the scheduler is the component that decides how far trials run and which waiting
    trial runs next, and `TrialSuggestion.run(trial_id, config=...)` lets it give a new
    (PENDING) trial the config it evolved. The trials themselves are created by the loop from
    the default random searcher (`BasicVariantGenerator`), whose configs DEHB replaces; so
    ``supports_model_based_searchers = False`` (a model would learn from configs it did not
    propose) and ``pauses_trials = False``: each config is evaluated from scratch at its budget,
    as in the paper and the reference `dehb` package.

    The algorithm:

    - Budgets ``b_i = max_t * eta**(i - s_max)``, ``s_max = floor(log_eta(max_t / min_t))``.
      Brackets cycle as in HyperBand, most exploratory first: bracket j has
      ``s = s_max - j mod (s_max + 1)`` halvings, ``floor((s_max + 1) / (s + 1)) * eta**s``
      configs at budget ``b_{s_max - s}`` (the reference package's count, smaller than
      HyperBand's after the first bracket: see `BracketPlan.of`), a ``1/eta`` share of them at
      each budget after it.
    - Each budget has a DE subpopulation, as large as the most configs that budget gets in a
      bracket, initialised uniformly in the unit cube (see `schedulers._dehb_space` for how a
      space maps to it) with fitness +inf.
    - In the first HyperBand iteration (the first ``s_max + 1`` brackets) a bracket's higher
      rungs evaluate the best configs of the rung below, as they are (promotion). Every other
      job is one rand/1/bin DE step (`schedulers._differential_evolution`): the target is the
      next member of its budget's subpopulation, in turn; the parents are the best k members
      (k: the rung's number of configs) of the subpopulation of the bracket's rung below, so
      that what did well at a low budget seeds the higher one, and for a bracket's first rung
      of its own budget's, as in the reference package; a pool of fewer than three distinct
      configs is topped up from all subpopulations. (Parents of a first rung from the next
      lower budget instead did no better: median final regret 12% lower on HPOLib naval, 25%
      higher on parkinsons, 10 seeds.)
    - Where this differs from the reference package, on purpose: its promotions in the first
      iteration take the best evaluated configs of the lower budget's whole subpopulation not
      yet in the higher one (other brackets' included), ours the bracket's own rung below; it
      drops the target from the parent pool, ours may draw it; it forces a mutant dimension
      only when CR drew none, ours always; its initial configs are ConfigSpace samples, each
      choice at its bin's lower edge, ours uniform in the cube. Each of its ways, measured
      alone (4 workers, 100 trainings of virtual time, median final regret): on HPOLib naval
      none did better beyond seed noise (ours 1.54e-05 over 120 seeds; its promotions
      1.51e-05, its initial configs 1.28e-05, p = 0.10), and each lost elsewhere (its
      promotions 0.00434 against 0.0036 on parkinsons and 0.668 against 0.591 on
      NAS-Bench-201 cifar10, its initial configs 1.06 against 0.651 on cifar10 at half the
      time, 40 seeds; the other two on parkinsons, 20 seeds).
    - When a job's trial reaches its budget (``result[time_attr] >= budget``) it is STOPped and
      its loss (the metric; negated for mode "max") takes the target's slot if it is at least
      as good. A trial that ends sooner (it failed, or finished by itself) counts with its
      last result, or as a failure (+inf) if it reported none, so no bracket waits forever.
    - Jobs are handed out asynchronously: each goes to the first open bracket whose next rung
      has jobs left and does not wait for results of the rung below (a rung starts once the
      one below is done); if there is none, the next bracket opens.

    Life cycle: `set_param_space` (the Tuner's space, unless `space` was given) and `fidelity`
    (the budgets, for the searcher) when the experiment is built; `suggest` resumes trials
    that hold an unfinished job first (a retry, a pause after an interrupt or restore) with
    their own config, and gives the first PENDING trial the next job's config;
    `on_trial_result` returns CONTINUE below the trial's budget and STOP at it;
    `on_trial_complete` / `on_trial_error` / `on_trial_remove` close a job that ended sooner.
    One objective only.

    Args:
        time_attr: The result key budgets are measured in (cumulative).
        metric: The metric to optimise; TuneConfig's if None.
        mode: "min" or "max"; TuneConfig's if None.
        max_t: The largest budget.
        min_t: The smallest budget (rounded up to the budget grid ``max_t / eta**k``).
        reduction_factor: ``eta``: each rung keeps a ``1/eta`` share, budgets grow by it.
        mutation_factor: DE's F, in (0, 2].
        crossover_prob: DE's CR, in [0, 1].
        space: The search space; None to take the Tuner's `param_space`.
        seed: Seeds the scheduler's generator (initial populations and DE steps).

    Example:
        >>> from schedulers import DEHB, TrialStatus, TrialView, WaitingList
        >>> from searchers import uniform
        >>> dehb = DEHB(metric="loss", mode="min", max_t=9, min_t=1,
        ...             space={"x": uniform(0, 1)}, seed=0)
        >>> dehb.brackets
        [[(1.0, 9), (3.0, 3), (9.0, 1)], [(3.0, 3), (9.0, 1)], [(9.0, 3)]]
        >>> run = dehb.suggest(WaitingList([TrialView("t0", {}, TrialStatus.PENDING)]))
        >>> run.trial_id, sorted(run.config)
        ('t0', ['x'])
        >>> trial = TrialView("t0", run.config, TrialStatus.RUNNING)
        >>> dehb.on_trial_result(trial, {"training_iteration": 1, "loss": 0.5})
        <Decision.STOP: 'STOP'>

    Attributes:
        budgets: The budgets, ascending (floats).
    """

    pauses_trials = False
    supports_model_based_searchers = False

    def __init__(
        self,
        time_attr: str = "training_iteration",
        *,
        metric: str | None = None,
        mode: str | None = None,
        max_t: float = 81,
        min_t: float = 1,
        reduction_factor: float = 3,
        mutation_factor: float = 0.5,
        crossover_prob: float = 0.5,
        space: Mapping[str, Any] | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(metric=metric, mode=mode)
        name = type(self).__name__
        if not isinstance(time_attr, str) or not time_attr:
            raise ValueError(
                f"{name}: `time_attr` must be a result key, got time_attr={time_attr!r}: pass "
                "e.g. time_attr='training_iteration'"
            )
        check_positive(name, "max_t", max_t, fix="pass the largest budget a trial may reach")
        check_positive(name, "min_t", min_t, fix="pass the smallest budget, e.g. min_t=1")
        eta = check_reduction_factor(name, reduction_factor)
        if max_halvings(min_t, max_t, eta) == 0:
            raise ValueError(
                f"{name}: `max_t` must be >= `min_t * reduction_factor` (DEHB needs two budgets "
                f"at least), got max_t={max_t!r}, min_t={min_t!r}, "
                f"reduction_factor={reduction_factor!r}: raise max_t or lower min_t"
            )
        factor = check_number(name, "mutation_factor", mutation_factor, fix="use e.g. 0.5")
        if not 0 < factor <= 2:
            raise ValueError(
                f"{name}: `mutation_factor` must be in (0, 2], got "
                f"mutation_factor={mutation_factor!r}: use e.g. mutation_factor=0.5"
            )
        prob = check_number(name, "crossover_prob", crossover_prob, fix="use e.g. 0.5")
        if not 0 <= prob <= 1:
            raise ValueError(
                f"{name}: `crossover_prob` must be in [0, 1], got "
                f"crossover_prob={crossover_prob!r}: use e.g. crossover_prob=0.5"
            )
        if space is not None and not isinstance(space, Mapping):
            raise ValueError(
                f"{name}: `space` must be a dict of domains or None (the Tuner's param_space), "
                f"got {type(space).__name__}"
            )
        self.time_attr = time_attr
        self.max_t = max_t
        self.min_t = min_t
        self.reduction_factor = reduction_factor
        self.mutation_factor = factor
        self.crossover_prob = prob
        self.budgets = budgets(min_t, max_t, eta)
        self._eta = eta
        self._s_max = len(self.budgets) - 1
        self._sizes = population_sizes(self._s_max, eta)
        self._own_space = space
        self._cube = None if space is None else UnitCube(space, owner=name)
        self._rng = make_rng(seed)
        self._populations: list[Subpopulation] | None = None  # made at the first job
        self._brackets: list[Bracket] = []  # the open ones, in order
        self._n_brackets = 0
        self._n_jobs = 0
        self._live: dict[str, Job] = {}  # trial -> its unfinished job, in job order
        self._budget_of: dict[str, int] = {}  # every trial given a job -> its budget index

    # ----------------------------------------------------------------- what it plans
    @property
    def brackets(self) -> list[list[tuple[float, int]]]:
        """The brackets of one HyperBand iteration, in order: (budget, configs) per rung."""
        plans = [BracketPlan.of(j, self._s_max, self._eta) for j in range(self._s_max + 1)]
        return [[(self.budgets[b], n) for b, n in zip(p.rungs, p.sizes, strict=True)]
                for p in plans]

    @property
    def fidelity(self) -> Fidelity:
        """The budgets, as the levels a searcher may learn at."""
        return Fidelity(self.time_attr, self.budgets)

    @property
    def populations(self) -> list[Subpopulation]:
        """Each budget's subpopulation (empty before the first job)."""
        return list(self._populations or [])

    def trial_budget(self, trial_id: str) -> float | None:
        """The budget DEHB gave the trial, or None if it gave it none."""
        index = self._budget_of.get(trial_id)
        return None if index is None else self.budgets[index]

    def set_param_space(self, param_space: Mapping[str, Any]) -> None:
        """Search the Tuner's space, or (given `space`) put the Tuner's constants into it.

        Raises:
            ValueError: On a grid_search, or when both define domains.
        """
        name = type(self).__name__
        if self._own_space is None:
            self._cube = UnitCube(param_space, owner=name)
            return
        if find_domains(param_space) or find_grids(param_space):
            raise ValueError(
                f"{name} was given a search space and so was the Tuner (param_space): define "
                "it in one place only"
            )
        self._cube = UnitCube(merge(param_space, self._own_space), owner=name)

    # ----------------------------------------------------------------- results
    def _loss(self, result: Mapping[str, Any]) -> float:
        loss = -score_sign(type(self).__name__, self.mode) * self.metric_value(result)
        return math.inf if math.isnan(loss) else loss

    def on_trial_result(self, trial: TrialView, result: Mapping[str, Any]) -> Decision:
        """CONTINUE below the trial's budget; at it, record its loss and STOP."""
        time = self.metric_value(result, self.time_attr)
        job = self._live.get(trial.trial_id)
        if job is None:
            # Not a job of ours now: a trial run again after it ended (a restore that reruns
            # errored trials) keeps its budget; one DEHB never ran, max_t.
            index = self._budget_of.get(trial.trial_id, self._s_max)
            return Decision.STOP if reached(time, self.budgets[index]) else Decision.CONTINUE
        loss = self._loss(result)  # checked on every result, so a wrong metric fails at once
        if not reached(time, self.budgets[job.budget]):
            return Decision.CONTINUE
        self._finish(job, loss)
        return Decision.STOP

    def on_trial_complete(self, trial: TrialView, result: Mapping[str, Any]) -> None:
        """A trial that finished by itself: its job counts with its last result."""
        self._end(trial.trial_id, result)

    def on_trial_end(self, trial: TrialView) -> None:
        """A trial that failed or was removed: its job counts with its last result, or as a
        failure when it reported none."""
        self._end(trial.trial_id, trial.last_result)

    def _end(self, trial_id: str, result: Mapping[str, Any] | None) -> None:
        job = self._live.get(trial_id)
        if job is None:
            return  # its job is done (this is the STOP we decided), or it never had one
        loss = math.inf  # no result, or one without a usable metric: a failed job
        if result and self.metric in result:
            with contextlib.suppress(TypeError, ValueError):
                loss = self._loss(result)
        self._finish(job, loss)

    def _finish(self, job: Job, loss: float) -> None:
        job.done, job.fitness = True, loss
        self._live.pop(job.trial_id, None)
        self._subpopulations()[job.budget].select(job.target, np.array(job.vector), loss)
        self._brackets = [b for b in self._brackets if not b.complete]

    # ----------------------------------------------------------------- what runs next
    def suggest(self, waiting: WaitingTrials) -> TrialSuggestion | None:
        """Resume a trial that holds an unfinished job (its own config), else give the first
        PENDING trial the next job's config; None when nothing waits."""
        for trial_id in self._live:
            if waiting.get(trial_id) is not None:
                return TrialSuggestion.run(trial_id)
        first = next(iter(waiting), None)  # PENDING ones come first, in creation order
        if first is None:
            return None
        if first.status is TrialStatus.PENDING and first.trial_id not in self._budget_of:
            job = self._next_job(first.trial_id)
            return TrialSuggestion.run(first.trial_id, config=self._config(job))
        # A trial run again after its job ended (a restore that reruns errored trials), or a
        # paused one DEHB never gave a job: it goes on with its own config.
        return TrialSuggestion.run(first.trial_id)

    def _require_cube(self) -> UnitCube:
        if self._cube is None:
            raise RuntimeError(
                f"{type(self).__name__} has no search space: pass space=... or run it in a "
                "Tuner, which calls set_param_space(param_space) before the first trial"
            )
        return self._cube

    def _config(self, job: Job) -> dict[str, Any]:
        return self._require_cube().config(job.vector, self._rng)

    def _subpopulations(self) -> list[Subpopulation]:
        if self._populations is None:
            dims = self._require_cube().dims
            self._populations = [Subpopulation.random(n, dims, self._rng) for n in self._sizes]
        return self._populations

    def _next_job(self, trial_id: str) -> Job:
        populations = self._subpopulations()
        bracket, rung = self._next_slot()
        budget = bracket.plan.rungs[rung]
        population = populations[budget]
        target = population.next_target()
        promoted = bracket.index <= self._s_max and rung > 0
        if promoted:  # the first HyperBand iteration: successive halving proper
            vector = bracket.next_promotion(rung).vector
        else:
            parents = populations[budget - 1] if rung > 0 else population
            child = evolve(
                population.vectors[target],
                parents.best(bracket.plan.sizes[rung]),
                np.concatenate([p.vectors for p in populations]),
                mutation_factor=self.mutation_factor,
                crossover_prob=self.crossover_prob,
                rng=self._rng,
            )
            vector = tuple(float(x) for x in child)
        job = Job(self._n_jobs, trial_id, budget, target, vector, promoted)
        self._n_jobs += 1
        bracket.jobs[rung].append(job)
        self._live[trial_id] = job
        self._budget_of[trial_id] = budget
        return job

    def _next_slot(self) -> tuple[Bracket, int]:
        """The first open bracket with a job to hand out now, and the rung; else a new one."""
        for bracket in self._brackets:
            rung = bracket.next_rung()
            if rung is not None:
                return bracket, rung
        plan = BracketPlan.of(self._n_brackets, self._s_max, self._eta)
        bracket = Bracket(self._n_brackets, plan)
        self._n_brackets += 1
        self._brackets.append(bracket)
        return bracket, 0

    # ----------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        """Subpopulations, open brackets with their jobs, counters and the generator as JSON
        data (an unevaluated fitness, +inf, as None)."""
        return {
            "rng": rng_state(self._rng),
            "populations": None if self._populations is None
            else [p.state_dict() for p in self._populations],
            "brackets": [b.state_dict() for b in self._brackets],
            "n_brackets": self._n_brackets,
            "n_jobs": self._n_jobs,
            "budget_of": dict(self._budget_of),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore `state_dict()` of a DEHB built with the same arguments and space."""
        saved = state["populations"]
        populations = None
        if saved is not None:
            dims = None if self._cube is None else self._cube.dims
            populations = [Subpopulation.from_state(p, dims) for p in saved]
            if [len(p) for p in populations] != self._sizes:
                raise ValueError(
                    f"the saved subpopulations have sizes {[len(p) for p in populations]} but "
                    f"this DEHB's are {self._sizes}: restore with the same max_t, min_t and "
                    "reduction_factor"
                )
        brackets = [Bracket.from_state(b, self._s_max, self._eta) for b in state["brackets"]]
        self._rng = load_rng(state["rng"])
        self._populations = populations
        self._brackets = brackets
        self._n_brackets = int(state["n_brackets"])
        self._n_jobs = int(state["n_jobs"])
        self._budget_of = {str(k): int(v) for k, v in state["budget_of"].items()}
        live = [job for b in brackets for rung in b.jobs for job in rung if not job.done]
        self._live = {job.trial_id: job for job in sorted(live, key=lambda j: j.job_id)}
