"""TPESearch with several objectives and constraints: MOTPE's good/bad split, its weights, and
one objective left exactly as it was."""

from __future__ import annotations

import json
import logging
import math

import numpy as np
import pytest

from searchers import TPESearch, choice, loguniform, uniform
from searchers._constraints import parse_constraints
from searchers._motpe import EPS, below_weights, greedy_hssp, reference_point, split_good_bad
from searchers._outcome import Outcome

# A hand-checked set, both objectives minimised. Feasible fronts: {0, 1, 2}, then {3} (which
# (2, 3) dominates), then {4}; 5 and 6 break a constraint, by 2 and by 1.
POINTS = np.array([[1, 5], [2, 3], [4, 1], [3, 4], [5, 5], [0, 0], [0.5, 0.5]], dtype=float)
VIOLATIONS = np.array([0, 0, 0, 0, 0, 2, 1], dtype=float)
FEASIBLE = VIOLATIONS == 0


def test_whole_fronts_are_good_while_they_fit() -> None:
    below, above = split_good_bad(POINTS, VIOLATIONS, FEASIBLE, 4)
    assert below.tolist() == [0, 1, 2, 3] and above.tolist() == [4, 5, 6]


def test_the_front_that_does_not_fit_is_cut_by_hypervolume() -> None:
    # Front {0, 1, 2} against the reference (4.4, 5.5) (1.1 times its worst values): the boxes
    # of (1, 5), (2, 3), (4, 1) are 1.7, 6.0 and 1.8, so (2, 3) comes first; then (1, 5) adds
    # 1.7 - 1.2 = 0.5 and (4, 1) adds 1.8 - 1.0 = 0.8, so (4, 1) is the second.
    assert reference_point(POINTS[:3]).tolist() == pytest.approx([4.4, 5.5])
    assert greedy_hssp(POINTS[:3], 2, reference_point(POINTS[:3])).tolist() == [1, 2]
    below, above = split_good_bad(POINTS, VIOLATIONS, FEASIBLE, 2)
    assert below.tolist() == [1, 2] and above.tolist() == [0, 3, 4, 5, 6]


def test_infeasible_trials_fill_the_good_part_by_violation_after_every_feasible_one() -> None:
    below, above = split_good_bad(POINTS, VIOLATIONS, FEASIBLE, 6)
    assert below.tolist() == [0, 1, 2, 3, 4, 6] and above.tolist() == [5]
    # (0, 0) and (0.5, 0.5) dominate everything, but break a constraint: not good at 5.
    assert split_good_bad(POINTS, VIOLATIONS, FEASIBLE, 5)[0].tolist() == [0, 1, 2, 3, 4]


def test_one_objective_with_constraints_sorts_feasible_losses_then_violations() -> None:
    losses = np.array([[3.0], [1.0], [2.0], [0.0], [1.0]])
    violations = np.array([0.0, 0.0, 0.0, 4.0, 0.0])
    below, above = split_good_bad(losses, violations, violations == 0, 2)
    assert below.tolist() == [1, 4] and above.tolist() == [0, 2, 3]  # ties: the older first


def test_good_weights_are_hypervolume_contributions() -> None:
    # The good set {0, 1, 2, 3}; reference (4.4, 5.5). The front's hypervolume is 7.3; without
    # (1, 5) it is 6.8, without (2, 3) 3.3, without (4, 1) 6.5: contributions 0.5, 4.0 and 0.8,
    # scaled by the largest. (3, 4) is off the good set's front: EPS.
    weights = below_weights(POINTS[:4], FEASIBLE[:4])
    assert weights is not None
    assert weights.tolist() == pytest.approx([0.125, 1.0, 0.2, EPS])
    assert below_weights(POINTS[[1, 5]], np.array([True, False])).tolist() == [1.0, EPS]
    assert below_weights(POINTS[5:], np.array([False, False])) is None  # TPE's ramp then


def evaluated(metric: list[str], mode: list[str], constraints: list[str]) -> TPESearch:
    tpe = TPESearch({"x": uniform(0, 5)}, metric=metric, mode=mode, seed=0)
    tpe.set_constraints(parse_constraints(constraints))
    return tpe


def test_tpe_splits_its_observations_so() -> None:
    tpe = evaluated(["a", "b"], ["min", "max"], ["c <= 0"])
    results = [{"a": a, "b": -b, "c": v} for (a, b), v in zip(POINTS, VIOLATIONS, strict=True)]
    tpe.add_evaluated_points([{"x": float(i)} for i in range(len(POINTS))], results)
    assert [o.losses for _, o in tpe.outcomes] == [tuple(p) for p in POINTS.tolist()]
    below, above, weights = tpe._split(2)
    assert below.tolist() == [1, 2] and above.tolist() == [0, 3, 4, 5, 6]
    # Against (4.4, 3.3): (2, 3) adds 0.6 and (4, 1) adds 0.8 to what the other covers.
    assert weights is not None and weights.tolist() == pytest.approx([0.75, 1.0])


def test_a_result_without_a_constraint_metric_is_not_observed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tpe = evaluated(["a", "b"], ["min", "min"], ["c <= 0"])
    tpe.suggest("t")
    with caplog.at_level(logging.WARNING, logger="searchers"):
        tpe.on_trial_complete("t", {"a": 1.0, "b": 2.0})
    assert "constraint metric 'c' was not in the reported result" in caplog.text
    assert tpe.outcomes == []
    tpe.suggest("u")
    tpe.on_trial_complete("u", {"a": 1.0, "b": 2.0, "c": float("nan")})
    assert tpe.outcomes[0][1] == Outcome((1.0, 2.0), math.inf, False)  # NaN: infinitely bad


def test_the_state_round_trips_with_several_objectives() -> None:
    def run(tpe: TPESearch, start: int, stop: int) -> list[float]:
        xs = []
        for i in range(start, stop):
            x = tpe.suggest(str(i))["x"]
            tpe.on_trial_complete(str(i), {"a": x, "b": (x - 2) ** 2, "c": x - 3.0})
            xs.append(x)
        return xs

    first = evaluated(["a", "b"], ["min", "min"], ["c < 0"])
    run(first, 0, 15)
    state = json.loads(json.dumps(first.state_dict(), allow_nan=False))
    assert any(len(row) == 4 for row in state["observations"])  # [enc, losses, viol, feasible]
    second = evaluated(["a", "b"], ["min", "min"], ["c < 0"])
    second.load_state_dict(state)
    assert second.outcomes == first.outcomes
    assert run(second, 15, 20) == run(first, 15, 20)


def test_constraints_steer_one_objective_to_the_feasible_side() -> None:
    def late_median(constraints: list[str]) -> float:
        tpe = TPESearch({"x": uniform(0, 1)}, metric="loss", mode="min", seed=1)
        tpe.set_constraints(parse_constraints(constraints))
        xs = []
        for i in range(40):
            x = tpe.suggest(str(i))["x"]
            tpe.on_trial_complete(str(i), {"loss": -x, "x": x})  # best at x = 1 ...
            xs.append(x)
        return float(np.median(xs[20:]))

    assert 0.6 < late_median(["x <= 0.7"]) < 0.75  # ... or, feasible, at the bound 0.7
    assert late_median([]) > 0.85


def test_one_objective_suggests_what_it_always_did() -> None:
    # Recorded with TPESearch as it was before several objectives (and checked against a
    # before/after run of 8 seeds x 2 modes x 40 trials over every domain kind).
    tpe = TPESearch({"x": uniform(-2, 2), "lr": loguniform(1e-3, 1.0), "c": choice(["a", "b"])},
                    metric="loss", mode="min", seed=3, n_startup_trials=4)
    xs = []
    for i in range(12):
        config = tpe.suggest(str(i))
        xs.append(config["x"])
        tpe.on_trial_complete(str(i), {"loss": (config["x"] - 0.5) ** 2 + (config["c"] == "b")})
    assert xs == pytest.approx([
        -1.6574033314, 0.3286481443, -0.2674922391, 0.9383086056, 0.7833207359, 0.18531606,
        1.7289871469, -1.3631653008, 0.9627276871, 1.8738731092, -1.821730798, 0.7149349925,
    ], abs=1e-9)
    assert tpe.state_dict()["observations"][0][1] == pytest.approx((xs[0] - 0.5) ** 2)
