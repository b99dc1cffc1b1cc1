"""The same answers as Optuna's own multi-objective code, on 200 random sets per check.

Compared (Optuna's private functions, the ones its samplers and `Study.best_trials` use):
- `optuna.study._multi_objective._fast_non_domination_rank`: the front of every point, with
  and without a penalty (Optuna's total constraint violation), against `non_dominated_sort`
  and the order of `rank_order`;
- `optuna.study._multi_objective._is_pareto_front`: against `pareto_front_mask`;
- `optuna._hypervolume.compute_hypervolume` (2-D sweep, 3-D, WFG beyond): against
  `hypervolume`, in 2, 3 and 4 objectives;
- `optuna.samplers.nsgaii._elite_population_selection_strategy._calc_crowding_distance`:
  against `crowding_distance`, on fronts without tied values (with ties, Optuna's value
  depends on the order its sorts leave twins in; ours gives twins equal distances).

Half of the sets are small integers, so that they hold duplicate points and tied values.
"""

from __future__ import annotations

import numpy as np
import pytest

from searchers._hypervolume import hypervolume
from searchers._pareto import crowding_distance, non_dominated_sort, pareto_front_mask, rank_order

optuna = pytest.importorskip("optuna")
from optuna._hypervolume import compute_hypervolume  # noqa: E402
from optuna.samplers.nsgaii._elite_population_selection_strategy import (  # noqa: E402
    _calc_crowding_distance,
)
from optuna.study._multi_objective import (  # noqa: E402
    _fast_non_domination_rank,
    _is_pareto_front,
)

SEEDS = range(200)


def random_points(seed: int, n_objectives: int, *, max_points: int = 40) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, max_points + 1))
    if seed % 2:
        return rng.integers(0, 5, size=(n, n_objectives)).astype(float)
    return rng.random((n, n_objectives))


def front_ranks(points: np.ndarray) -> np.ndarray:
    ranks = np.full(len(points), -1)
    for k, front in enumerate(non_dominated_sort(points)):
        ranks[front] = k
    return ranks


@pytest.mark.parametrize("n_objectives", [2, 3])
def test_fronts_match_optunas_non_domination_rank(n_objectives: int) -> None:
    for seed in SEEDS:
        points = random_points(seed, n_objectives)
        assert (front_ranks(points) == _fast_non_domination_rank(points)).all(), seed
        mask = _is_pareto_front(points, assume_unique_lexsorted=False)
        assert (pareto_front_mask(points) == mask).all(), seed


@pytest.mark.parametrize("n_objectives", [2, 3])
def test_constrained_order_matches_optunas_penalised_rank(n_objectives: int) -> None:
    for seed in SEEDS:
        points = random_points(seed, n_objectives)
        rng = np.random.default_rng(10_000 + seed)
        penalty = np.where(rng.random(len(points)) < 0.4, rng.integers(1, 4, len(points)), 0.0)
        optuna_rank = _fast_non_domination_rank(points, penalty=penalty)
        for tie_break in ("crowding", "epsilon_net"):
            order = rank_order(points, penalty, tie_break=tie_break)
            assert sorted(order.tolist()) == list(range(len(points))), seed
            # Optuna ranks feasible points by front, then infeasible ones by penalty: its rank
            # never decreases along our order.
            assert (np.diff(optuna_rank[order]) >= 0).all(), (seed, tie_break)
        feasible = penalty == 0
        ranks = front_ranks(points[feasible])
        assert (ranks == optuna_rank[feasible]).all(), seed


@pytest.mark.parametrize("n_objectives", [2, 3, 4])
def test_hypervolume_matches_optuna(n_objectives: int) -> None:
    for seed in SEEDS:
        points = random_points(seed, n_objectives, max_points=12 if n_objectives == 4 else 40)
        reference = np.full(n_objectives, 4.0 if seed % 2 else 0.9)
        # Optuna wants every point inside the reference box; ours ignores the others.
        inside = points[np.all(points <= reference, axis=1)]
        expected = compute_hypervolume(inside, reference)
        assert hypervolume(points, reference) == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("n_objectives", [2, 3])
def test_crowding_distance_matches_optuna_without_ties(n_objectives: int) -> None:
    for seed in SEEDS:
        points = random_points(2 * seed, n_objectives)  # continuous: no ties
        for front in non_dominated_sort(points):
            trials = []
            for number, values in enumerate(points[front]):
                trial = optuna.trial.create_trial(values=values.tolist())
                trial.number = number
                trials.append(trial)
            expected = _calc_crowding_distance(trials)
            ours = crowding_distance(points[front])
            assert ours.tolist() == pytest.approx([expected[i] for i in range(len(front))])
