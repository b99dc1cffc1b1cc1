"""Exact hypervolumes of small sets worked out by hand, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from searchers._hypervolume import hypervolume


def test_two_objectives_staircase() -> None:
    # Ref (4, 4); the staircase (1, 3), (2, 2), (3, 1) covers, column by column:
    # x in [1, 2): 4 - 3 = 1; [2, 3): 4 - 2 = 2; [3, 4): 4 - 1 = 3. Total 6.
    assert hypervolume([(1, 3), (2, 2), (3, 1)], [4, 4]) == 6.0
    # A dominated point, a duplicate, a point beyond the reference and one on its boundary
    # (not strictly dominating it) add nothing.
    extra = [(3, 3), (2, 2), (5, 0), (4, 1), (1, 4)]
    assert hypervolume([(1, 3), (2, 2), (3, 1), *extra], [4, 4]) == 6.0


def test_three_objectives_corner_cube() -> None:
    # Ref (2, 2, 2); each point covers a 2 x 2 x 1 slab (4); pairwise overlaps are 2 x 1 x 1
    # (2 each) and all three meet in [1, 2]^3 (1): 12 - 6 + 1 = 7, the cube less [0, 1]^3.
    assert hypervolume([(0, 0, 1), (0, 1, 0), (1, 0, 0)], [2, 2, 2]) == 7.0


def test_three_objectives_two_boxes() -> None:
    # Ref (4, 4, 4): [1, 4] x [2, 4] x [3, 4] = 3 * 2 * 1 = 6, [3, 4] x [2, 4] x [1, 4] = 6,
    # overlapping in [3, 4] x [2, 4] x [3, 4] = 2: 10. Dominated (2, 3, 3) changes nothing.
    assert hypervolume([(1, 2, 3), (3, 2, 1), (2, 3, 3)], [4, 4, 4]) == 10.0


def test_one_and_four_objectives() -> None:
    assert hypervolume([(3,), (1,)], [5]) == 4.0
    assert hypervolume([(0, 0, 0, 0)], [1, 2, 3, 4]) == 24.0
    # Two 2 x 2 x 2 x 1 boxes (8 each) sharing [1, 2] x [0, 2] x [0, 2] x [1, 2] (4): 12.
    assert hypervolume([(0, 0, 0, 1), (1, 0, 0, 0)], [2, 2, 2, 2]) == 12.0


def test_empty_sets_and_points_outside_the_reference() -> None:
    assert hypervolume([], [1, 1]) == 0.0
    assert hypervolume(np.empty((0, 3)), [1, 1, 1]) == 0.0
    assert hypervolume([(1, 0), (0, 1), (2, 2)], [1, 1]) == 0.0
    assert hypervolume([(math.inf, 0)], [1, 1]) == 0.0


def test_minus_infinity_covers_an_infinite_volume() -> None:
    assert hypervolume([(-math.inf, 0.5), (0.5, 0.5)], [1, 1]) == math.inf


@pytest.mark.parametrize(
    ("points", "reference", "match"),
    [
        ([(0, 0)], [1, math.inf], r"reference point must be .* finite values, got \[1.0, inf\]"),
        ([(0, 0)], [[1, 1]], r"reference point must be a 1-D array"),
        ([(0, 0, 0)], [1, 1], r"\(n_points, 2\) array .* got shape \(1, 3\)"),
        ([(0, math.nan)], [1, 1], r"must not contain NaN"),
    ],
)
def test_bad_input(points: object, reference: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        hypervolume(points, reference)  # type: ignore[arg-type]
