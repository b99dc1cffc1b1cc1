"""DEHB: budget and bracket arithmetic, the DE step by hand, the unit cube, the job schedule,
its state, bad input, and whole experiments through the Tuner in virtual time."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import schedulers._dehb as dehb_module
from schedulers import (
    DEHB,
    Decision,
    FIFOScheduler,
    TrialStatus,
    TrialSuggestion,
    TrialView,
    WaitingList,
    WaitingTrials,
)
from schedulers._dehb_brackets import BracketPlan, budgets, max_halvings, population_sizes
from schedulers._dehb_space import UnitAxis, UnitCube
from schedulers._differential_evolution import (
    Subpopulation,
    binomial_crossover,
    crossover_mask,
    evolve,
    parent_pool,
    rand1_mutant,
    resample_outside,
)
from searchers import TPESearch
from searchers._model import NORMAL_SPAN, Param
from searchers._space import choice, grid_search, loguniform, randint, randn, sample_from, uniform
from tuner import ConfigError, RunConfig, TuneConfig, report
from tuner.testing._runs import (
    InterruptAfter,
    Interrupted,
    file_results,
    fit,
    iterations_by_trial,
    restore,
    saved_statuses,
)
from tuner.testing._trainable import trial_index

CONTINUE, STOP = Decision.CONTINUE, Decision.STOP


# ---------------------------------------------------------------------------- budgets, brackets
def test_budgets_and_brackets_for_max_t_9() -> None:
    """s_max = 2; n_s = floor(3 / (s + 1)) * 3**s (the reference dehb's): 9, 1 * 3 = 3, 3."""
    dehb = DEHB(max_t=9, min_t=1, reduction_factor=3)
    assert dehb.budgets == (1.0, 3.0, 9.0)
    assert dehb.brackets == [[(1.0, 9), (3.0, 3), (9.0, 1)], [(3.0, 3), (9.0, 1)], [(9.0, 3)]]
    assert population_sizes(2, 3) == [9, 3, 3]


def test_budgets_and_brackets_for_max_t_27() -> None:
    """s_max = 3; n_s = floor(4 / (s + 1)) * 3**s: 27, 9, 6, 4; then floor(n_s / 3**k)."""
    dehb = DEHB(max_t=27, min_t=1, reduction_factor=3)
    assert dehb.budgets == (1.0, 3.0, 9.0, 27.0)
    assert dehb.brackets == [
        [(1.0, 27), (3.0, 9), (9.0, 3), (27.0, 1)],
        [(3.0, 9), (9.0, 3), (27.0, 1)],
        [(9.0, 6), (27.0, 2)],
        [(27.0, 4)],
    ]
    assert population_sizes(3, 3) == [27, 9, 6, 4]
    assert BracketPlan.of(4, 3, 3) == BracketPlan.of(0, 3, 3)  # the next iteration begins
    assert BracketPlan.of(6, 3, 3).rungs == (2, 3)


def test_budgets_off_the_grid() -> None:
    assert budgets(1, 10, 3) == (10 / 9, 10 / 3, 10.0)
    assert budgets(2, 9, 3) == (3.0, 9.0)  # min_t rounds up to the grid max_t / 3**k
    assert budgets(1, 8, 2) == (1.0, 2.0, 4.0, 8.0)
    assert budgets(0.1, 0.3, 3) == (0.1, 0.3)  # not 0.3 / 3 = 0.09999999999999999
    assert max_halvings(1, 27, 3) == 3 and max_halvings(1, 26.9, 3) == 2


@given(s_max=st.integers(1, 5), eta=st.sampled_from([2, 3, 4, 2.5]), j=st.integers(0, 30))
def test_bracket_arithmetic(s_max: int, eta: float, j: int) -> None:
    plan = BracketPlan.of(j, s_max, eta)
    assert plan.s == s_max - j % (s_max + 1)
    assert plan.rungs == tuple(range(s_max - plan.s, s_max + 1))
    assert plan.sizes[0] == max(1, math.floor(
        math.floor((s_max + 1) / (plan.s + 1)) * eta**plan.s + 1e-9))
    for k, size in enumerate(plan.sizes):
        assert size == max(1, math.floor(plan.sizes[0] / eta**k + 1e-9))
    sizes = population_sizes(s_max, eta)
    assert all(sizes[b] >= n for b, n in zip(plan.rungs, plan.sizes, strict=True))


# ---------------------------------------------------------------------------- the DE step by hand
def test_rand1_mutant_by_hand() -> None:
    a, b, c = np.array([0.2, 0.6]), np.array([0.5, 0.1]), np.array([0.3, 0.3])
    # a + 0.5 * (b - c) = [0.2 + 0.5 * 0.2, 0.6 + 0.5 * -0.2]
    np.testing.assert_allclose(rand1_mutant(a, b, c, 0.5), [0.3, 0.5])


def test_binomial_crossover_takes_one_dimension_from_the_mutant_always() -> None:
    # default_rng(0) draws [0.637, 0.270, 0.041], then dimension 0 as the one always crossed:
    # with CR = 0.2 only dimension 2 passes the draw, and dimension 0 is forced.
    twin = np.random.default_rng(0)
    assert twin.random(3).round(3).tolist() == [0.637, 0.27, 0.041] and twin.integers(3) == 0
    mask = crossover_mask(3, 0.2, np.random.default_rng(0))
    assert mask.tolist() == [True, False, True]
    child = binomial_crossover(np.array([0.1, 0.2, 0.3]), np.array([0.7, 0.8, 0.9]), mask)
    assert child.tolist() == [0.7, 0.2, 0.9]
    assert crossover_mask(3, 0.0, np.random.default_rng(0)).tolist() == [True, False, False]
    assert crossover_mask(3, 1.0, np.random.default_rng(0)).all()


def test_one_de_step_by_hand() -> None:
    """Seed 0 picks the parents (a, b, c) = (pool[2], pool[0], pool[1]) and dimension 0 as the
    crossed one; CR = 0 crosses only that: child = [mutant[0], target[1]]."""
    twin = np.random.default_rng(0)
    assert twin.choice(3, 3, replace=False).tolist() == [2, 0, 1]
    pool = np.array([[0.2, 0.8], [0.4, 0.2], [0.5, 0.5]])
    # mutant = [0.5, 0.5] + 0.5 * ([0.2, 0.8] - [0.4, 0.2]) = [0.4, 0.8]
    target = np.array([0.9, 0.1])
    child = evolve(target, pool, pool, mutation_factor=0.5, crossover_prob=0.0,
                   rng=np.random.default_rng(0))
    np.testing.assert_allclose(child, [0.4, 0.1])
    child = evolve(target, pool, pool, mutation_factor=0.5, crossover_prob=1.0,
                   rng=np.random.default_rng(0))
    np.testing.assert_allclose(child, [0.4, 0.8])


def test_components_outside_the_cube_are_drawn_again() -> None:
    fixed = resample_outside(np.array([-0.2, 0.5, 1.3, 1.0, 0.0]), np.random.default_rng(5))
    draws = np.random.default_rng(5).random(2)  # the two outside get these; the rest stay
    assert fixed.tolist() == [draws[0], 0.5, draws[1], 1.0, 0.0]
    rng = np.random.default_rng(1)
    for _ in range(200):  # F = 2 throws most mutants out of the cube
        pool = rng.random((4, 3))
        child = evolve(rng.random(3), pool, pool, mutation_factor=2.0, crossover_prob=1.0,
                       rng=rng)
        assert ((child >= 0) & (child <= 1)).all()


def test_a_small_pool_is_topped_up_with_distinct_configs() -> None:
    same = np.array([[0.5, 0.5], [0.5, 0.5]])
    fill = np.array([[0.5, 0.5], [0.1, 0.2], [0.3, 0.4], [0.3, 0.4]])
    parents = parent_pool(same, fill, np.random.default_rng(0))
    assert len({tuple(p) for p in parents.tolist()}) == 3 == len(parents)
    assert {tuple(p) for p in parents.tolist()} == {(0.5, 0.5), (0.1, 0.2), (0.3, 0.4)}
    lonely = parent_pool(same, same, np.random.default_rng(0))  # nothing to fill from
    assert len({tuple(p) for p in lonely.tolist()}) == 3 and lonely.min() >= 0


def test_selection_keeps_the_better_config() -> None:
    pop = Subpopulation(np.array([[0.1], [0.2]]), np.array([1.0, np.inf]))
    assert not pop.select(0, np.array([0.9]), 2.0)  # worse: the target stays
    assert pop.vectors.tolist() == [[0.1], [0.2]] and pop.fitness.tolist() == [1.0, np.inf]
    assert pop.select(0, np.array([0.8]), 1.0)  # as good: the newer takes the slot
    assert pop.select(1, np.array([0.7]), 5.0)  # anything beats an unevaluated slot
    assert pop.vectors.tolist() == [[0.8], [0.7]] and pop.fitness.tolist() == [1.0, 5.0]
    assert pop.best(1).tolist() == [[0.8]]


# ---------------------------------------------------------------------------- the unit cube
def test_categorical_bins() -> None:
    axis = UnitAxis.of(Param(("act",), choice(["a", "b", "c"])))
    xs = [0.0, 0.3333, 1 / 3, 0.6666, 2 / 3, 0.9999, 1.0]
    assert [axis.decode(x) for x in xs] == ["a", "a", "b", "b", "c", "c", "c"]
    assert [axis.decode(axis.encode(v)) for v in "abc"] == ["a", "b", "c"]


def test_numeric_axes() -> None:
    log = UnitAxis.of(Param(("lr",), loguniform(1e-4, 1e-2)))
    assert log.decode(0.5) == pytest.approx(1e-3) and log.decode(1.0) == pytest.approx(1e-2)
    assert log.encode(1e-3) == pytest.approx(0.5)
    ints = UnitAxis.of(Param(("n",), randint(1, 5)))  # 1..4, each a quarter of the axis
    assert [ints.decode(x) for x in (0.0, 0.24, 0.26, 0.99, 1.0)] == [1, 1, 2, 4, 4]
    assert all(isinstance(ints.decode(x / 10), int) for x in range(11))
    normal = UnitAxis.of(Param(("z",), randn(2.0, 0.5)))
    assert normal.decode(0.0) == pytest.approx(2.0 - NORMAL_SPAN * 0.5)
    assert normal.decode(0.5) == pytest.approx(2.0)


def test_a_config_keeps_constants_and_recomputes_sample_from() -> None:
    space = {"x": uniform(0, 10), "model": {"width": choice([8, 16])}, "epochs": 3,
             "twice_x": sample_from(lambda spec: 2 * spec.config.x)}
    cube = UnitCube(space, owner="DEHB")
    assert cube.names == ["x", "model/width"]
    config = cube.config([0.25, 0.75], np.random.default_rng(0))
    assert config == {"x": 2.5, "model": {"width": 16}, "epochs": 3, "twice_x": 5.0}
    assert cube.encode(config) == [0.25, 0.75]


# ---------------------------------------------------------------------------- the job schedule
class Driver:
    """Hands DEHB one new PENDING trial at a time and reports for it."""

    def __init__(self, dehb: DEHB) -> None:
        self.dehb = dehb
        self.configs: dict[str, dict[str, Any]] = {}

    def start(self) -> str:
        trial_id = f"t{len(self.configs)}"
        suggestion = self.dehb.suggest(WaitingList([TrialView(trial_id, {}, TrialStatus.PENDING)]))
        assert suggestion is not None and suggestion.trial_id == trial_id
        assert suggestion.config is not None
        self.configs[trial_id] = dict(suggestion.config)
        return trial_id

    def report(self, trial_id: str, time: float, loss: float) -> Decision:
        view = TrialView(trial_id, self.configs[trial_id], TrialStatus.RUNNING)
        return self.dehb.on_trial_result(view, {"training_iteration": time, "loss": loss})

    def finish(self, trial_id: str, loss: float) -> None:
        budget = self.dehb.trial_budget(trial_id)
        assert budget is not None
        if budget > 1:
            assert self.report(trial_id, budget - 1, loss) is CONTINUE
        assert self.report(trial_id, budget, loss) is STOP


def make(**kwargs: Any) -> DEHB:
    args: dict[str, Any] = {"metric": "loss", "mode": "min", "max_t": 9, "min_t": 1,
                            "space": {"x": uniform(0, 1), "y": uniform(0, 1)}, "seed": 0}
    return DEHB(**{**args, **kwargs})


def test_the_first_bracket_promotes_the_best_of_the_rung_below() -> None:
    driver = Driver(make())
    first = [driver.start() for _ in range(9)]
    assert {driver.dehb.trial_budget(t) for t in first} == {1.0}
    losses = [0.5, 0.1, 0.9, 0.3, 0.8, 0.2, 0.7, 0.6, 0.4]
    for trial_id, loss in zip(first, losses, strict=True):
        driver.finish(trial_id, loss)
    population = driver.dehb.populations[0]
    assert sorted(population.fitness.tolist()) == sorted(x + 0.0 for x in losses)
    promoted = [driver.start() for _ in range(3)]
    assert {driver.dehb.trial_budget(t) for t in promoted} == {3.0}
    # The best three of rung 1 (t1, t5, t3), in that order, with their configs as they were.
    assert [driver.configs[t] for t in promoted] == [driver.configs[t] for t in ("t1", "t5", "t3")]
    for trial_id, loss in zip(promoted, [0.3, 0.05, 0.2], strict=True):
        driver.finish(trial_id, loss)
    top = driver.start()
    assert driver.dehb.trial_budget(top) == 9.0 and driver.configs[top] == driver.configs["t5"]


def test_a_rung_that_waits_opens_the_next_bracket() -> None:
    driver = Driver(make())
    first = [driver.start() for _ in range(9)]
    driver.finish(first[0], 0.5)  # eight still run: rung 3 of bracket 0 cannot start
    later = [driver.start() for _ in range(6)]
    # bracket 1 (3 configs at 3), then bracket 2 (3 at 9) while bracket 1's rung waits too
    assert [driver.dehb.trial_budget(t) for t in later] == [3.0] * 3 + [9.0] * 3
    new = [c for t, c in driver.configs.items() if t not in first]
    assert all(c not in [driver.configs[t] for t in first] for c in new)  # evolved, not promoted


def test_from_the_second_iteration_every_job_evolves_from_the_rung_below(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    driver = Driver(make())
    pools: list[tuple[float, list[list[float]]]] = []
    real = dehb_module.evolve

    def spy(target: np.ndarray, pool: np.ndarray, fill: np.ndarray, **kw: Any) -> np.ndarray:
        pools.append((len(pool), pool.tolist()))
        return real(target, pool, fill, **kw)

    monkeypatch.setattr(dehb_module, "evolve", spy)
    rng = np.random.default_rng(0)
    for _ in range(22):  # one HyperBand iteration: 13 + 6 + 3 trials, each finished at once
        driver.finish(driver.start(), float(rng.random()))
    assert len(pools) == 9 + 5 + 3  # first rungs only evolve in the first iteration
    pools.clear()
    trial = driver.start()  # bracket 3, rung 0: budget 1 evolves from its own subpopulation
    assert pools[-1][1] == driver.dehb.populations[0].best(9).tolist()
    driver.finish(trial, 0.5)
    for _ in range(8):
        driver.finish(driver.start(), float(rng.random()))
    best_at_1 = driver.dehb.populations[0].best(3).tolist()
    trial = driver.start()  # rung 1 of bracket 3, budget 3: parents are budget 1's best 3
    assert driver.dehb.trial_budget(trial) == 3.0
    assert pools[-1] == (3, best_at_1)
    driver.finish(trial, 0.5)
    # The first rung of a bracket that starts higher draws its parents from its own budget's
    # subpopulation, as the reference package does (bracket 4 starts at budget 3).
    checked = 0
    for _ in range(40):
        trial = driver.start()
        job = driver.dehb._live[trial]
        bracket = next(b for b in driver.dehb._brackets if job in b.jobs[0] or any(
            job in rung for rung in b.jobs))
        if job in bracket.jobs[0] and job.budget > 0:
            own = driver.dehb.populations[job.budget]
            assert pools[-1] == (bracket.plan.sizes[0], own.best(bracket.plan.sizes[0]).tolist())
            checked += 1
        driver.finish(trial, float(rng.random()))
    assert checked >= 5


def test_a_trial_that_ends_early_counts_with_its_last_result() -> None:
    dehb = make(max_t=3, min_t=1)  # brackets: 3 at 1 then 1 at 3; 2 at 3
    driver = Driver(dehb)
    a, b, c = (driver.start() for _ in range(3))
    driver.finish(a, 0.4)
    view = TrialView(b, driver.configs[b], TrialStatus.ERROR)
    dehb.on_trial_error(view)  # failed before its first result: a failed job, +inf
    view = TrialView(c, driver.configs[c], TrialStatus.TERMINATED,
                     {"training_iteration": 0.5, "loss": 0.2})
    dehb.on_trial_complete(view, view.last_result)  # ended by itself before its budget
    assert sorted(dehb.populations[0].fitness.tolist()) == [0.2, 0.4, math.inf]
    promoted = driver.start()  # the bracket did not wait for the failed trial
    assert dehb.trial_budget(promoted) == 3.0 and driver.configs[promoted] == driver.configs[c]


def test_waiting_trials_that_hold_a_job_run_first_with_their_own_config() -> None:
    dehb = make()
    driver = Driver(dehb)
    first = driver.start()
    paused = TrialView(first, driver.configs[first], TrialStatus.PAUSED)
    fresh = TrialView("new", {"x": 0.0}, TrialStatus.PENDING)
    assert dehb.suggest(WaitingList([fresh, paused])) == TrialSuggestion.run(first)
    assert dehb.suggest(WaitingList([])) is None


def test_a_trial_run_again_after_its_job_keeps_its_budget() -> None:
    dehb = make()
    driver = Driver(dehb)
    trial = driver.start()
    driver.finish(trial, 0.3)
    again = TrialView(trial, driver.configs[trial], TrialStatus.PENDING)
    dehb.on_trial_add(again)  # a restore that reruns errored trials
    assert dehb.suggest(WaitingList([again])) == TrialSuggestion.run(trial)
    assert driver.report(trial, 1, 0.3) is STOP
    stranger = TrialView("stranger", {}, TrialStatus.RUNNING)
    result = {"training_iteration": 8, "loss": 1.0}
    assert dehb.on_trial_result(stranger, result) is CONTINUE  # never DEHB's: runs to max_t
    assert dehb.on_trial_result(stranger, {**result, "training_iteration": 9}) is STOP


def test_mode_max_negates_the_metric() -> None:
    driver = Driver(make(metric="acc", mode="max"))
    trial = driver.start()
    view = TrialView(trial, driver.configs[trial], TrialStatus.RUNNING)
    assert driver.dehb.on_trial_result(view, {"training_iteration": 1, "acc": 0.75}) is STOP
    assert -0.75 in driver.dehb.populations[0].fitness.tolist()


def test_state_is_strict_json_and_a_restored_dehb_makes_the_same_decisions() -> None:
    original, copy = Driver(make()), Driver(make(seed=99))
    rng = np.random.default_rng(3)
    started = [original.start() for _ in range(12)]
    for trial_id in started[:10]:
        original.finish(trial_id, float(rng.random()))
    state = original.dehb.state_dict()
    text = json.dumps(state, allow_nan=False)  # +inf fitness is saved as null
    assert None in state["populations"][1]["fitness"]
    copy.dehb.load_state_dict(json.loads(text))
    copy.configs = dict(original.configs)
    assert json.dumps(copy.dehb.state_dict(), sort_keys=True) == json.dumps(state, sort_keys=True)
    for driver in (original, copy):
        for trial_id in started[10:]:
            driver.finish(trial_id, 0.5)
        for _ in range(10):
            driver.finish(driver.start(), 0.25)
    assert copy.configs == original.configs
    assert copy.dehb.state_dict() == original.dehb.state_dict()


def test_end_hooks_after_the_end_change_nothing() -> None:
    driver = Driver(make())
    trial = driver.start()
    driver.finish(trial, 0.3)
    before = json.dumps(driver.dehb.state_dict(), sort_keys=True)
    view = TrialView(trial, driver.configs[trial], TrialStatus.TERMINATED, {"loss": 9.0})
    driver.dehb.on_trial_remove(view)
    driver.dehb.on_trial_error(view)
    driver.dehb.on_trial_complete(view, view.last_result)
    assert json.dumps(driver.dehb.state_dict(), sort_keys=True) == before


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_t": 0}, r"`max_t` must be > 0, got max_t=0"),
        ({"min_t": -1}, r"`min_t` must be > 0, got min_t=-1"),
        ({"max_t": 2, "min_t": 1}, r"`max_t` must be >= `min_t \* reduction_factor`.*max_t=2"),
        ({"reduction_factor": 1}, r"`reduction_factor` must be > 1"),
        ({"mutation_factor": 0}, r"`mutation_factor` must be in \(0, 2\], got mutation_factor=0"),
        ({"mutation_factor": math.nan}, r"`mutation_factor` must be a finite number"),
        ({"crossover_prob": 1.5}, r"`crossover_prob` must be in \[0, 1\], got crossover_prob=1.5"),
        ({"time_attr": ""}, r"`time_attr` must be a result key"),
        ({"space": [1, 2]}, r"`space` must be a dict of domains or None"),
        ({"seed": "0"}, r"`seed` must be an int or None"),
        ({"space": {"x": grid_search([1, 2])}}, r"DEHB does not support grid_search \(parameter "
                                                r"'x'\).*choice"),
        ({"metric": ["a", "b"], "mode": ["min", "min"]}, r"DEHB optimises one metric"),
    ],
)
def test_bad_arguments_say_what_to_do(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DEHB(**kwargs)


def test_a_space_in_both_places_and_no_space_at_all() -> None:
    with pytest.raises(ValueError, match="define it in one place only"):
        make().set_param_space({"x": uniform(0, 1)})
    dehb = make(space=None)
    with pytest.raises(RuntimeError, match="has no search space: pass space="):
        dehb.suggest(WaitingList([TrialView("t0", {}, TrialStatus.PENDING)]))
    with pytest.raises(ValueError, match=r"does not support grid_search \(parameter 'a/b'\)"):
        dehb.set_param_space({"a": {"b": grid_search([1, 2])}})


def test_a_result_without_the_metric_or_time_attr_is_an_error() -> None:
    driver = Driver(make())
    trial = driver.start()
    view = TrialView(trial, driver.configs[trial], TrialStatus.RUNNING)
    with pytest.raises(ValueError, match="DEHB needs 'loss' in every result"):
        driver.dehb.on_trial_result(view, {"training_iteration": 1})
    with pytest.raises(ValueError, match="DEHB needs 'training_iteration' in every result"):
        driver.dehb.on_trial_result(view, {"loss": 1.0})


def test_fidelity_is_the_budgets() -> None:
    fidelity = DEHB("epoch", max_t=27, min_t=3).fidelity
    assert (fidelity.time_attr, fidelity.levels) == ("epoch", (3.0, 9.0, 27.0))


# ---------------------------------------------------------------------------- through the Tuner
def steps(config: Mapping[str, Any]) -> None:
    """Reports ``loss = f(config) + 1 / step`` for up to 100 steps of one virtual second."""
    for step in range(1, 101):
        report({"loss": quadratic(config) + 1 / step, "time_this_iter_s": 1.0})


CENTRE = {"x": 0.7, "y": 0.2}


def quadratic(config: Mapping[str, Any]) -> float:
    return sum((float(config[k]) - c) ** 2 for k, c in CENTRE.items() if k in config)


class Recorded(DEHB):
    """DEHB that keeps the config it gave each trial, and whether that config shares a value
    with what it knew before: its subpopulations and the configs it gave earlier trials."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.given: dict[str, dict[str, Any]] = {}
        self.shares: dict[str, bool] = {}

    def suggest(self, waiting: WaitingTrials) -> TrialSuggestion | None:
        known = {c[k] for c in self.given.values() for k in ("x", "y")}
        suggestion = super().suggest(waiting)
        # A new config joins a subpopulation only once its result is in: reading them after
        # the suggestion (the first one makes them) sees what DEHB held when it chose.
        known |= {x for p in self.populations for x in p.vectors.ravel().tolist()}
        if suggestion is not None and suggestion.config is not None:
            config = dict(suggestion.config)
            self.given[suggestion.trial_id] = config
            self.shares[suggestion.trial_id] = bool({config["x"], config["y"]} & known)
        return suggestion


def run(tmp_path: Path, scheduler: Any, *, name: str = "dehb", num_samples: int = 40,
        seed: int = 0, stop: InterruptAfter | None = None) -> Any:
    return fit(steps, storage_path=str(tmp_path), name=name,
               param_space={"x": uniform(0, 1), "y": uniform(0, 1), "tag": "toy"},
               tune_config=TuneConfig(metric="loss", mode="min", num_samples=num_samples,
                                      scheduler=scheduler, seed=seed),
               run_config=RunConfig(verbose=0, callbacks=[] if stop is None else [stop]),
               n_workers=4)


def test_trials_run_to_their_budget_with_the_configs_dehb_chose(tmp_path: Path) -> None:
    dehb = Recorded(max_t=9, min_t=1, reduction_factor=3, crossover_prob=0.0, seed=1)
    grid = run(tmp_path, dehb)
    assert len(grid) == 40
    random_configs = {trial_index(r.trial_id): r.config
                      for r in run(tmp_path, FIFOScheduler(), name="random")}
    by_index = sorted(grid, key=lambda r: trial_index(r.trial_id))
    rows = iterations_by_trial(file_results(grid))
    for result in by_index:
        budget = dehb.trial_budget(result.trial_id)
        assert budget in dehb.budgets
        assert result.metrics["training_iteration"] == budget
        assert rows[result.trial_id] == list(range(1, int(budget) + 1))
        assert result.config == dehb.given[result.trial_id]  # DEHB's, with the constant kept
        assert result.config["tag"] == "toy"
        assert result.config != random_configs[trial_index(result.trial_id)]
    assert {r.metrics["training_iteration"] for r in grid} == {1, 3, 9}
    # With CR = 0 an evolved config takes one of its two values from its target, a member of
    # the subpopulation; a promoted one is an earlier trial's config. Random draws share none.
    assert all(dehb.shares.values()) and len(dehb.shares) == 40
    assert not any(random_configs[trial_index(t)]["x"] in {c["x"] for c in dehb.given.values()}
                   for t in dehb.given)
    later = by_index[22:]  # after the first HyperBand iteration's 22 trials
    earlier = [r.config for r in by_index[:22]]
    assert sum(r.config not in earlier for r in later) >= 12  # most are new: evolved


def test_dehb_with_a_model_based_searcher_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"DEHB cannot be combined with TPESearch: it sets "
                                          r"trial configs itself"):
        fit(steps, storage_path=str(tmp_path), name="tpe", param_space={"x": uniform(0, 1)},
            tune_config=TuneConfig(metric="loss", mode="min", num_samples=4,
                                   scheduler=DEHB(max_t=9), search_alg=TPESearch(seed=0)),
            run_config=RunConfig(verbose=0), n_workers=2)


def test_a_grid_search_in_the_tuner_s_space_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"DEHB does not support grid_search \(parameter 'x'\)"):
        fit(steps, storage_path=str(tmp_path), name="grid",
            param_space={"x": grid_search([0.1, 0.9])},
            tune_config=TuneConfig(metric="loss", mode="min", scheduler=DEHB(max_t=9)),
            run_config=RunConfig(verbose=0), n_workers=2)


def test_several_objectives_are_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"DEHB optimises one metric, got metric=\['loss', "):
        fit(steps, storage_path=str(tmp_path), name="mo", param_space={"x": uniform(0, 1)},
            tune_config=TuneConfig(metric=["loss", "time_this_iter_s"], mode=["min", "min"],
                                   num_samples=4, scheduler=DEHB(max_t=9)),
            run_config=RunConfig(verbose=0), n_workers=2)


def test_a_restored_run_ends_every_trial_once_at_its_budget(tmp_path: Path) -> None:
    with pytest.raises(Interrupted):
        run(tmp_path, DEHB(max_t=9, min_t=1, seed=0), stop=InterruptAfter(60))
    saved = saved_statuses(str(tmp_path / "dehb"))
    assert any(not s.is_finished for s in saved.values())
    dehb = DEHB(max_t=9, min_t=1, seed=0)
    grid = restore(str(tmp_path / "dehb"), steps, n_workers=4,
                   tune_config=TuneConfig(metric="loss", mode="min", num_samples=40,
                                          scheduler=dehb),
                   run_config=RunConfig(verbose=0))
    assert len(grid) == 40
    assert set(saved_statuses(str(tmp_path / "dehb")).values()) == {TrialStatus.TERMINATED}
    rows = iterations_by_trial(file_results(grid))
    for result in grid:
        budget = dehb.trial_budget(result.trial_id)
        assert budget is not None
        assert rows[result.trial_id] == list(range(1, int(budget) + 1))  # each result once


def test_dehb_beats_random_configs_on_a_quadratic(tmp_path: Path) -> None:
    """f is a quadratic in 6 dimensions, the loss at step b is f + 1/b; 100 trials on 4
    workers. Random search gets the configs DEHB replaced (the same seeded searcher), each
    run to max_t."""
    centre = [0.2, 0.8, 0.35, 0.6, 0.5, 0.75]
    space = {f"x{i}": uniform(0, 1) for i in range(len(centre))}

    def f(config: Mapping[str, Any]) -> float:
        return sum((config[f"x{i}"] - c) ** 2 for i, c in enumerate(centre))

    def trainable(config: Mapping[str, Any]) -> None:
        for step in range(1, 10):
            report({"loss": f(config) + 1 / step, "time_this_iter_s": 1.0})

    best: dict[str, list[float]] = {"dehb": [], "random": []}
    late: dict[str, list[float]] = {"dehb": [], "random": []}
    for seed in range(3):
        for kind in best:
            scheduler = DEHB(max_t=9, min_t=1, seed=seed) if kind == "dehb" else None
            grid = fit(trainable, storage_path=str(tmp_path), name=f"{kind}{seed}",
                       param_space=space, n_workers=4, run_config=RunConfig(verbose=0),
                       tune_config=TuneConfig(metric="loss", mode="min", num_samples=100,
                                              scheduler=scheduler, seed=seed))
            values = [f(r.config) for r in sorted(grid, key=lambda r: trial_index(r.trial_id))]
            best[kind].append(min(values))
            late[kind].append(float(np.median(values[50:])))
    assert all(d < r for d, r in zip(best["dehb"], best["random"], strict=True))
    assert np.mean(best["dehb"]) < 0.6 * np.mean(best["random"])
    assert np.mean(late["dehb"]) < 0.6 * np.mean(late["random"])  # it homes in
