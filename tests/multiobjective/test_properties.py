"""Properties that hold for every point set: Hypothesis looks for the exceptions."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from searchers._hypervolume import hypervolume
from searchers._pareto import (
    crowding_distance,
    dominates,
    epsilon_net_order,
    non_dominated_sort,
    pareto_front_mask,
    rank_order,
)

# Small integers make duplicates and ties common; floats exercise the general case.
values = st.one_of(st.integers(0, 4).map(float), st.floats(0, 10, allow_nan=False))


def point_sets(n_objectives: int, max_size: int = 12) -> st.SearchStrategy[np.ndarray]:
    return st.lists(
        st.tuples(*[values] * n_objectives), min_size=0, max_size=max_size
    ).map(lambda rows: np.array(rows, dtype=float).reshape(len(rows), n_objectives))


any_point_set = st.integers(1, 4).flatmap(point_sets)


@settings(max_examples=150, deadline=None)
@given(any_point_set)
def test_fronts_partition_and_respect_dominance(points: np.ndarray) -> None:
    fronts = non_dominated_sort(points)
    assert sorted(np.concatenate([[], *fronts]).tolist()) == list(range(len(points)))
    rank = {int(i): k for k, front in enumerate(fronts) for i in front}
    for front in fronts:  # members of a front are mutually non-dominated
        for i, j in itertools.permutations(front.tolist(), 2):
            assert not dominates(points[i], points[j])
    for i in range(len(points)):  # a point in front k > 0 is dominated by one of front k - 1
        if rank[i]:
            assert any(dominates(points[j], points[i]) for j in fronts[rank[i] - 1])
    mask = pareto_front_mask(points)
    assert set(np.flatnonzero(mask).tolist()) == set(fronts[0].tolist() if fronts else [])
    for i in np.flatnonzero(~mask):  # every point off the front is dominated by one on it
        assert any(dominates(points[j], points[i]) for j in np.flatnonzero(mask))


@settings(max_examples=150, deadline=None)
@given(any_point_set, st.data())
def test_rank_order_never_puts_a_point_after_one_it_constrained_dominates(
    points: np.ndarray, data: st.DataObject
) -> None:
    violations = np.array(data.draw(st.lists(
        st.sampled_from([0.0, 0.0, 0.5, 1.0, 2.5]), min_size=len(points), max_size=len(points)
    )))
    tie_break = data.draw(st.sampled_from(["crowding", "epsilon_net"]))
    order = rank_order(points, violations, tie_break=tie_break).tolist()
    assert sorted(order) == list(range(len(points)))

    def constrained_dominates(i: int, j: int) -> bool:  # Deb et al. 2002, section VI
        if violations[i] == 0 or violations[j] == 0:
            return bool(violations[i] == 0 and (violations[j] > 0 or
                                                 dominates(points[i], points[j])))
        return bool(violations[i] < violations[j])

    for before, after in itertools.combinations(order, 2):
        assert not constrained_dominates(after, before)


@settings(max_examples=100, deadline=None)
@given(any_point_set, st.randoms(use_true_random=False))
def test_crowding_distance_depends_on_the_points_not_their_order(
    points: np.ndarray, random: object
) -> None:
    permutation = np.arange(len(points))
    random.shuffle(permutation)  # type: ignore[attr-defined]
    distance = crowding_distance(points)
    assert (distance >= 0).all()
    assert (crowding_distance(points[permutation]) == distance[permutation]).all()


@settings(max_examples=100, deadline=None)
@given(any_point_set)
def test_epsilon_net_order_is_a_permutation_that_starts_at_the_lexicographic_minimum(
    points: np.ndarray,
) -> None:
    order = epsilon_net_order(points).tolist()
    assert sorted(order) == list(range(len(points)))
    if order:
        assert tuple(points[order[0]]) == min(map(tuple, points))


def inclusion_exclusion(points: np.ndarray, reference: np.ndarray) -> float:
    """The union of the boxes [p, reference] by inclusion-exclusion: exact, and independent of
    the sweeps under test (exponential, so for small sets only)."""
    inside = [p for p in points if (p < reference).all()]
    total = 0.0
    for size in range(1, len(inside) + 1):
        for subset in itertools.combinations(inside, size):
            corner = np.max(subset, axis=0)
            total += (-1) ** (size + 1) * float(np.prod(reference - corner))
    return total


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 4).flatmap(lambda m: point_sets(m, max_size=7)))
def test_hypervolume_equals_inclusion_exclusion(points: np.ndarray) -> None:
    reference = np.full(points.shape[1], 8.0)
    expected = inclusion_exclusion(points, reference)
    assert abs(hypervolume(points, reference) - expected) <= 1e-9 * max(1.0, expected)


@settings(max_examples=150, deadline=None)
@given(st.integers(2, 3).flatmap(lambda m: st.tuples(point_sets(m), point_sets(m, 1))))
def test_hypervolume_never_shrinks_when_a_point_is_added(pair: tuple[np.ndarray, ...]) -> None:
    points, extra = pair
    reference = np.full(points.shape[1], 8.0)
    before = hypervolume(points, reference)
    after = hypervolume(np.concatenate([points, extra]), reference)
    assert after >= before - 1e-9 * max(1.0, before)
    front = points[pareto_front_mask(points)] if len(points) else points
    # Dominated points add nothing (up to the rounding of a different sum of slabs).
    assert abs(hypervolume(front, reference) - before) <= 1e-9 * max(1.0, before)
