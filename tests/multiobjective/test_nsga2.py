"""NSGA2Search: selection on hand-checked fronts, constrained domination, the tournament, the
variation operators, breeding in every kind of domain, asynchrony and the JSON state. (The
searcher contract runs it through the Tuner in tests/searchers/test_contract.py, and its front
is compared with random search's in test_searchers_fronts.py.)"""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any

import numpy as np
import pytest

from searchers import (
    NSGA2Search,
    choice,
    grid_search,
    lograndint,
    loguniform,
    qrandint,
    quniform,
    randint,
    randn,
    sample_from,
    uniform,
)
from searchers._constraints import parse_constraints
from searchers._variation import polynomial_mutation, sbx
from tuner import SimulatedExecutor, TuneConfig, Tuner, report

# Both objectives minimised. Front 0: (1, 4), (2, 2), (4, 1), (1.5, 3.5); front 1: (3, 3),
# which (2, 2) dominates; front 2: (5, 5).
POINTS = [(1, 4), (2, 2), (4, 1), (3, 3), (1.5, 3.5), (5, 5)]


def observed(population_size: int, constraints: list[str] | None = None,
             violations: list[float] | None = None) -> NSGA2Search:
    nsga = NSGA2Search({"i": randint(0, 100)}, metric=["a", "b"], mode=["min", "min"],
                       population_size=population_size, seed=0)
    nsga.set_constraints(parse_constraints(constraints or []))
    cs = violations or [0.0] * len(POINTS)
    nsga.add_evaluated_points([{"i": i} for i in range(len(POINTS))],
                              [{"a": a, "b": b, "c": c} for (a, b), c in zip(POINTS, cs,
                                                                             strict=True)])
    return nsga


def test_selection_keeps_whole_fronts_then_the_least_crowded() -> None:
    # Crowding in front 0 (ranges 3 and 3): (1, 4) and (4, 1) end an axis (inf); (2, 2) has
    # gaps 2.5/3 + 2.5/3 = 1.67, (1.5, 3.5) 1/3 + 2/3 = 1.0.
    assert observed(3)._select() == [0, 2, 1]
    assert observed(5)._select() == [0, 2, 1, 4, 3]
    assert [m["losses"] for m in observed(3).population] == []  # not selected before a child
    nsga = observed(3)
    nsga._select()
    assert [m["losses"] for m in nsga.population] == [[1, 4], [4, 1], [2, 2]]


def test_constrained_domination_puts_feasible_before_infeasible() -> None:
    # (2, 2) breaks the constraint by 2 and (4, 1) by 1. The feasible front is then (1, 4),
    # (3, 3) (no longer dominated), (1.5, 3.5); (5, 5) comes after it; the infeasible last, the
    # smaller violation first, although (2, 2) dominates most of the feasible points.
    nsga = observed(6, ["c <= 0"], [0, 2, 1, 0, 0, 0])
    assert nsga._select() == [0, 3, 4, 5, 2, 1]
    assert observed(4, ["c <= 0"], [0, 2, 1, 0, 0, 0])._select() == [0, 3, 4, 5]


def test_a_strict_constraint_met_with_equality_is_infeasible() -> None:
    nsga = observed(6, ["c < 0"], [0, -1, -1, -1, -1, -1])  # only (1, 4) sits on the bound
    assert nsga._select()[-1] == 0


def test_the_tournament_prefers_the_better_of_two_distinct_members() -> None:
    nsga = observed(4)
    wins = Counter(nsga._tournament(4) for _ in range(6000))
    assert set(wins) == {0, 1, 2}  # the last one never beats anyone
    # Position k wins when drawn with a worse one: (3 - k) of the 6 pairs.
    for k, pairs in ((0, 3), (1, 2), (2, 1)):
        assert wins[k] / 6000 == pytest.approx(pairs / 6, abs=0.03)


def test_sbx_and_polynomial_mutation_stay_in_bounds_and_spread_around_the_parents() -> None:
    rng = np.random.default_rng(0)
    children = np.array([sbx(0.3, 0.5, 0.0, 1.0, eta=2.0, rng=rng) for _ in range(2000)])
    assert ((children >= 0) & (children <= 1)).all()
    inside = children[(children > 0) & (children < 1)].reshape(-1)
    assert np.median(inside) == pytest.approx(0.4, abs=0.02)  # centred on the parents' mean
    assert sbx(0.5, 0.5, 0.0, 1.0, eta=2.0, rng=rng) == (0.5, 0.5)
    typical = {}
    for eta in (2.0, 50.0):
        steps = np.array([polynomial_mutation(0.5, 0.0, 1.0, eta=eta, rng=rng) - 0.5
                          for _ in range(2000)])
        assert np.abs(steps).max() <= 0.5 and abs(np.median(steps)) < 0.02  # no drift
        typical[eta] = np.median(np.abs(steps))
    assert typical[50.0] < typical[2.0] / 5  # a larger eta: smaller steps


def test_children_of_every_kind_of_domain_lie_in_their_domains() -> None:
    space = {
        "lr": loguniform(1e-4, 1e-1), "layers": randint(1, 5), "units": qrandint(16, 128, 16),
        "act": choice(["relu", "tanh", "gelu"]), "drop": [quniform(0.0, 0.5, 0.1), "fixed"],
        "noise": randn(0.0, 1.0), "width": lograndint(1, 1000),
        "double": sample_from(lambda config: config["layers"] * 2), "const": 7,
    }
    nsga = NSGA2Search(space, metric=["a", "b"], mode=["min", "max"], population_size=4,
                       seed=3)
    for i in range(40):
        config = nsga.suggest(str(i))
        assert 1e-4 <= config["lr"] <= 1e-1 and config["layers"] in range(1, 5)
        assert config["units"] % 16 == 0 and 16 <= config["units"] <= 128
        assert config["act"] in ("relu", "tanh", "gelu") and config["drop"][1] == "fixed"
        assert round(config["drop"][0] * 10, 9) == round(config["drop"][0] * 10)
        assert isinstance(config["width"], int) and 1 <= config["width"] < 1000
        assert config["double"] == 2 * config["layers"] and config["const"] == 7
        assert abs(config["noise"]) <= 4.0 or i < 4  # bred ones within 4 sd
        nsga.on_trial_complete(str(i), {"a": config["lr"] * config["layers"],
                                        "b": config["units"] + config["noise"]})
    assert len(nsga.population) == 4


def test_grid_search_is_refused() -> None:
    nsga = NSGA2Search(metric=["a", "b"], mode=["min", "min"])
    with pytest.raises(ValueError, match="does not support grid_search"):
        nsga.set_search_properties(None, None, {"x": grid_search([1, 2])})


def two_objective(nsga: NSGA2Search, trial: str) -> dict[str, float]:
    x = nsga.suggest(trial)["x"]
    return {"a": x, "b": (x - 2) ** 2}


def test_trials_that_complete_late_join_the_population_when_they_end() -> None:
    nsga = NSGA2Search({"x": uniform(0, 3)}, metric=["a", "b"], mode=["min", "min"],
                       population_size=2, seed=1)
    results = {str(i): two_objective(nsga, str(i)) for i in range(3)}
    nsga.on_trial_complete("1", results["1"])
    nsga.on_trial_complete("2", results["2"])
    results["3"] = two_objective(nsga, "3")  # bred from trials 1 and 2; trial 0 still runs
    assert sorted(nsga._population) == [0, 1]  # outcome indices: trials 1 and 2
    nsga.on_trial_complete("0", results["0"])
    nsga.on_trial_complete("3", results["3"])
    two_objective(nsga, "4")
    assert nsga._selected == 4 and len(nsga._population) == 2


def test_errored_trials_and_trials_without_the_metrics_do_not_count() -> None:
    nsga = NSGA2Search({"x": uniform(0, 3)}, metric=["a", "b"], mode=["min", "min"],
                       population_size=2, seed=1)
    for i in range(3):
        two_objective(nsga, str(i))
    nsga.on_trial_complete("0", {"a": 1.0, "b": 1.0})
    nsga.on_trial_complete("1", None, error=True)
    nsga.on_trial_complete("2", {"a": 1.0})
    assert len(nsga.outcomes) == 1
    two_objective(nsga, "3")
    assert nsga.population == []  # drawn at random: no population before 2 outcomes


def test_a_space_with_nothing_new_to_breed_still_suggests() -> None:
    nsga = NSGA2Search({"c": choice([0, 1])}, metric=["a", "b"], mode=["min", "min"],
                       population_size=2, points_to_evaluate=[{"c": 0}, {"c": 1}], seed=0)
    for i in range(6):
        c = nsga.suggest(str(i))["c"]
        nsga.on_trial_complete(str(i), {"a": c, "b": 1 - c})
    assert len(nsga.outcomes) == 6


def test_the_state_is_json_and_a_restored_searcher_breeds_the_same_children() -> None:
    def run(nsga: NSGA2Search, start: int, stop: int) -> list[float]:
        xs = []
        for i in range(start, stop):
            result = two_objective(nsga, str(i))
            nsga.on_trial_complete(str(i), {**result, "c": result["a"] - 2.5})
            xs.append(result["a"])
        return xs

    def fresh() -> NSGA2Search:
        nsga = NSGA2Search({"x": uniform(0, 3)}, metric=["a", "b"], mode=["min", "min"],
                           population_size=4, seed=5)
        nsga.set_constraints(parse_constraints(["c <= 0"]))
        return nsga

    original = fresh()
    run(original, 0, 12)
    state = json.loads(json.dumps(original.state_dict(), allow_nan=False))
    restored = fresh()
    restored.load_state_dict(state)
    assert restored.state_dict() == state
    assert run(restored, 12, 20) == run(original, 12, 20)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"population_size": 1}, "`population_size` must be an int >= 2"),
        ({"population_size": 2.5}, "`population_size` must be an int >= 2"),
        ({"crossover_prob": 1.5}, "`crossover_prob` must be a probability"),
        ({"swapping_prob": -0.1}, "`swapping_prob` must be a probability"),
        ({"mutation_prob": math.nan}, "`mutation_prob` must be a probability"),
        ({"crossover_eta": -1}, "`crossover_eta` must be a finite number >= 0"),
        ({"mutation_eta": math.inf}, "`mutation_eta` must be a finite number >= 0"),
    ],
)
def test_bad_settings_are_clear_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        NSGA2Search(**kwargs)


def test_one_objective_is_an_elitist_genetic_algorithm() -> None:
    def train(config: dict[str, Any]) -> None:
        report({"loss": (config["x"] - 0.3) ** 2 + (config["y"] + 0.5) ** 2,
                "time_this_iter_s": 1.0})

    grid = Tuner(
        train,
        param_space={"x": uniform(-2, 2), "y": uniform(-2, 2)},
        tune_config=TuneConfig(metric="loss", mode="min", num_samples=60,
                               search_alg=NSGA2Search(population_size=10, seed=0)),
        executor=SimulatedExecutor(n_workers=2, start_time=0.0),
    ).fit()
    losses = [r.metrics["loss"] for r in grid]
    assert min(losses[40:]) < 0.05 and np.median(losses[40:]) < np.median(losses[:10])
