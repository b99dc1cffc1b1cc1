"""Objectives, dominance, fronts, crowding distance, epsilon-nets and the constrained order,
on small sets worked out by hand in the comments."""

from __future__ import annotations

import math

import numpy as np
import pytest

from searchers._pareto import (
    MetricNotReportedError,
    Objectives,
    crowding_distance,
    dominates,
    epsilon_net_order,
    non_dominated_sort,
    pareto_front_mask,
    rank_order,
)


def fronts_of(points: object) -> list[list[int]]:
    return [front.tolist() for front in non_dominated_sort(points)]  # type: ignore[arg-type]


# --- Objectives ------------------------------------------------------------------------------


def test_objectives_flip_max_metrics_and_read_nested_keys() -> None:
    objectives = Objectives.of(["val_loss", "val/acc"], ["min", "max"])
    results = [{"val_loss": 0.5, "val": {"acc": 0.75}}, {"val_loss": 2, "val/acc": np.float32(1)}]
    assert objectives.to_matrix(results).tolist() == [[0.5, -0.75], [2.0, -1.0]]


def test_objectives_of_one_name_and_mode() -> None:
    assert Objectives.of("loss", "min") == Objectives(("loss",), ("min",))
    assert Objectives.of("loss", "min").to_matrix([]).shape == (0, 1)


def test_a_nan_objective_is_the_worst_value_whatever_the_mode() -> None:
    objectives = Objectives.of(["loss", "acc"], ["min", "max"])
    matrix = objectives.to_matrix([{"loss": math.nan, "acc": math.nan}])
    assert matrix.tolist() == [[math.inf, math.inf]]


@pytest.mark.parametrize(
    ("metrics", "modes", "error", "match"),
    [
        ((), (), ValueError, r"at least one metric .* got metrics=\(\)"),
        (("a", "b"), ("min",), ValueError, r"one mode per metric.*modes=\('min',\)"),
        (("a",), ("maximize",), ValueError, r"'min' or 'max', got modes\[0\]='maximize'"),
        (("a", "b", "a"), ("min",) * 3, ValueError, r"unique, got 'a' more than once"),
        (("a", ""), ("min", "min"), ValueError, r"non-empty strings, got metrics\[1\]=''"),
        (["a"], ("min",), TypeError, r"`metrics` must be a tuple.*Objectives.of"),
    ],
)
def test_objectives_reject_bad_settings(
    metrics: tuple[str, ...], modes: tuple[str, ...], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        Objectives(metrics, modes)


def test_a_missing_objective_names_the_keys_the_result_has() -> None:
    objectives = Objectives.of(["loss", "latency_ms"], ["min", "min"])
    with pytest.raises(MetricNotReportedError, match=r"'latency_ms' was not in the reported "
                       r"result \(keys: \['epoch', 'loss'\]\): report it or change TuneConfig"):
        objectives.to_matrix([{"loss": 1.0, "epoch": 3}])
    assert issubclass(MetricNotReportedError, KeyError)


@pytest.mark.parametrize("value", ["0.5", True, None, [1.0]])
def test_a_non_numeric_objective_is_a_type_error(value: object) -> None:
    with pytest.raises(TypeError, match=r"metric 'loss' must be a number, but a trial reported"):
        Objectives.of("loss", "min").to_matrix([{"loss": value}])


def test_one_result_must_come_in_a_list() -> None:
    with pytest.raises(TypeError, match=r"sequence of results: for one, pass \[result\]"):
        Objectives.of("loss", "min").to_matrix({"loss": 1.0})  # type: ignore[arg-type]


# --- dominance and fronts --------------------------------------------------------------------


def test_dominates_needs_no_worse_everywhere_and_better_somewhere() -> None:
    assert dominates([1, 2], [1, 3])
    assert dominates([0, 0, 0], [1, 1, 1])
    assert not dominates([1, 2], [1, 2])  # equal points do not dominate each other
    assert not dominates([1, 3], [2, 2])
    with pytest.raises(ValueError, match=r"same length, got shapes \(2,\) and \(3,\)"):
        dominates([1, 2], [1, 2, 3])


def test_fronts_of_a_hand_worked_set_with_ties_and_duplicates() -> None:
    points = [
        (1, 4),  # 0  front 0
        (2, 2),  # 1  front 0
        (4, 1),  # 2  front 0
        (3, 3),  # 3  dominated by 1 and 4 only -> front 1
        (2, 2),  # 4  a duplicate of 1: neither dominates the other -> front 0
        (5, 5),  # 5  dominated by 6 (front 2) -> front 3
        (4, 4),  # 6  dominated by 1, 3, 4 -> front 2
        (1, 5),  # 7  tie on the first objective with 0, worse on the second -> front 1
    ]
    assert fronts_of(points) == [[0, 1, 2, 4], [3, 7], [6], [5]]


def test_fronts_in_three_objectives_and_in_one() -> None:
    # The first three trade off; (3, 3, 3) is dominated by (1, 2, 3) (equal on the third,
    # better on the others) and by (2, 2, 2). With one objective, fronts are the sorted values.
    assert fronts_of([(1, 2, 3), (3, 2, 1), (2, 2, 2), (3, 3, 3)]) == [[0, 1, 2], [3]]
    assert fronts_of([[3], [1], [2], [1]]) == [[1, 3], [2], [0]]


def test_empty_and_malformed_point_sets() -> None:
    assert non_dominated_sort([]) == []
    assert rank_order(np.empty((0, 2))).tolist() == []
    with pytest.raises(ValueError, match=r"2-D array .* got shape \(3,\).*reshape\(-1, 1\)"):
        non_dominated_sort([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"no NaN, got shape \(2, 2\), NaN in rows \[1\]"):
        non_dominated_sort([[1.0, 2.0], [math.nan, 0.0]])


# --- crowding distance -----------------------------------------------------------------------


def test_crowding_distance_of_a_hand_worked_front() -> None:
    # A(0, 10) B(4, 6) D(5, 5) C(10, 0); both ranges are 10.
    # objective 1, sorted A B D C: B gets (5 - 0) / 10 = 0.5, D gets (10 - 4) / 10 = 0.6
    # objective 2, sorted C D B A: D gets (6 - 0) / 10 = 0.6, B gets (10 - 5) / 10 = 0.5
    # A and C are boundary points: infinite.
    distance = crowding_distance([(0, 10), (4, 6), (5, 5), (10, 0)])
    assert distance.tolist() == [math.inf, pytest.approx(1.0), pytest.approx(1.2), math.inf]


def test_an_objective_without_range_adds_nothing() -> None:
    # The second objective is 3 everywhere; on the first, the middle point gets (3 - 1) / 2.
    assert crowding_distance([(1, 3), (2, 3), (3, 3)]).tolist() == [math.inf, 1.0, math.inf]
    assert crowding_distance([(1, 1), (1, 1)]).tolist() == [0.0, 0.0]
    assert crowding_distance([(1, 1)]).tolist() == [0.0]  # one point: nothing to spread


def test_twins_get_equal_distances() -> None:
    # Values 0, 1, 2 on each objective (range 2); the twins at 1 see neighbours 0 and 2:
    # (2 - 0) / 2 = 1 per objective.
    assert crowding_distance([(0, 2), (1, 1), (1, 1), (2, 0)]).tolist() == [
        math.inf, 2.0, 2.0, math.inf,
    ]


def test_infinite_values_give_no_nan() -> None:
    # (inf, 0) is a boundary; (2, 1) has a neighbour at infinity on the first objective.
    distance = crowding_distance([(0, 5), (1, 2), (2, 1), (math.inf, 0)])
    assert not np.isnan(distance).any()
    assert distance[1] == pytest.approx((2 - 0) / 2 + (5 - 1) / 5)
    assert distance[2] == math.inf


# --- epsilon-net -----------------------------------------------------------------------------


def test_epsilon_net_order_of_a_hand_worked_front() -> None:
    # The line (0, 4) ... (4, 0) scaled to [0, 1]: the seed is the lexicographic minimum (0, 4)
    # (index 2); the farthest from it is (4, 0) (index 1); then (2, 2) (index 0), half a
    # diagonal from both; (3, 1) and (1, 3) are then a quarter diagonal from their nearest:
    # a tie, won by the lower index 3.
    points = [(2, 2), (4, 0), (0, 4), (3, 1), (1, 3)]
    assert epsilon_net_order(points).tolist() == [2, 1, 0, 3, 4]


def test_epsilon_net_order_does_not_depend_on_units() -> None:
    rng = np.random.default_rng(7)
    points = rng.random((30, 3))
    assert (epsilon_net_order(points) == epsilon_net_order(points * [1, 1e6, 1e-3])).all()


def test_duplicates_of_chosen_points_come_last() -> None:
    assert epsilon_net_order([(0, 1), (0, 1), (1, 0), (0.5, 0.5)]).tolist() == [0, 2, 3, 1]


# --- the constrained order and the front -----------------------------------------------------


def test_rank_order_is_constrained_domination() -> None:
    points = [(1, 1), (2, 2), (3, 1), (3, 3), (0, 0), (9, 9), (1, 1)]
    violations = [0.5, 0, 0, 0, 2.0, 0.1, 0.5]
    # Feasible: 1, 2, 3. Front 0 is {1: (2, 2), 2: (3, 1)}, seeded by the lexicographic
    # minimum (2, 2); front 1 is {3}. Then the infeasible ones by violation: 5 (0.1),
    # 0 and 6 (0.5, by index), 4 (2.0); 0 and 4 dominate everything, but are infeasible.
    assert rank_order(points, violations).tolist() == [1, 2, 3, 5, 0, 6, 4]
    assert rank_order(points, violations, tie_break="crowding").tolist() == [1, 2, 3, 5, 0, 6, 4]


def test_a_zero_violation_flagged_infeasible_ranks_between_feasible_and_violating() -> None:
    # Point 2 met a strict constraint with equality: violation 0, yet infeasible.
    points = [(5, 5), (0, 0), (1, 1)]
    order = rank_order(points, [0, 0.5, 0], feasible=[True, False, False])
    assert order.tolist() == [0, 2, 1]
    with pytest.raises(ValueError, match=r"positive violation cannot be feasible.*\[1\]"):
        rank_order(points, [0, 0.5, 0], feasible=[True, True, False])


def test_nan_violation_ranks_last_and_negative_is_refused() -> None:
    assert rank_order([(0, 0), (1, 1), (2, 2)], [math.nan, 3.0, 0]).tolist() == [2, 1, 0]
    with pytest.raises(ValueError, match=r"violations must be >= 0 .* got -1.0"):
        rank_order([(0, 0)], [-1.0])
    with pytest.raises(ValueError, match=r"one value per point \(2\), got \(1,\)"):
        rank_order([(0, 0), (1, 1)], [0.0])


def test_the_epsilon_net_carries_the_points_chosen_from_earlier_fronts() -> None:
    # Front 0: (0, 4), (4, 0). Front 1: (1, 5), (3, 4.5). Scaled by x / 4 and y / 5,
    # (1, 5) -> (0.25, 1) is 0.32 from (0, 0.8), (3, 4.5) -> (0.75, 0.9) is 0.76 from it, and
    # farther still from (1, 0): so (3, 4.5) comes first, though (1, 5) would seed a fresh net.
    points = [(0, 4), (4, 0), (1, 5), (3, 4.5)]
    assert rank_order(points).tolist() == [0, 1, 3, 2]
    # Crowding: two points per front, all boundaries (infinite), so by index.
    assert rank_order(points, tie_break="crowding").tolist() == [0, 1, 2, 3]


def test_rank_order_crowding_puts_boundaries_first() -> None:
    # One front: A(0, 10) B(4, 6) D(5, 5) C(10, 0) with distances inf, 1.0, 1.2, inf.
    order = rank_order([(4, 6), (0, 10), (5, 5), (10, 0)], tie_break="crowding")
    assert order.tolist() == [1, 3, 2, 0]


def test_rank_order_rejects_an_unknown_tie_break() -> None:
    with pytest.raises(ValueError, match=r"'crowding' or 'epsilon_net', got tie_break='nsga'"):
        rank_order([(0, 0)], tie_break="nsga")  # type: ignore[arg-type]


def test_pareto_front_mask_is_the_first_feasible_front() -> None:
    points = [(1, 1), (2, 2), (3, 1), (3, 3), (2, 2)]
    assert pareto_front_mask(points).tolist() == [True, False, False, False, False]
    assert pareto_front_mask(points, [1, 0, 0, 0, 0]).tolist() == [False, True, True, False, True]
    assert not pareto_front_mask(points, [1, 1, 1, 1, 1]).any()  # nothing feasible: no front
