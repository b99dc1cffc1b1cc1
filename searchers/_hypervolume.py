"""The exact hypervolume of a set of points (lower is better on every objective).

The hypervolume of points P against a reference point r is the volume of the union of the boxes
[p, r] for the p in P that strictly dominate r (Zitzler and Thiele 1998); points that do not are
ignored, and an empty set has volume 0. It grows whenever a point adds something, which makes
it the usual single number for how good a Pareto front is (`ResultGrid.hypervolume`).

- 1 objective: r - min(p).
- 2 objectives: a sort and one sweep over the staircase of non-dominated points, O(n log n).
- 3 objectives and more: Hypervolume by Slicing Objectives (HSO; While, Hingston, Barone and
  Huband 2006, "A faster algorithm for calculating hypervolume"): sweep the last objective
  upwards; between two consecutive levels the covered region is a slab whose cross-section is
  the hypervolume, one dimension down, of the points at or below the level, and the recursion
  ends at the 2-objective sweep. Only the non-dominated points of each cross-section are kept.
  Exact for any number of objectives; O(n^2 log n) for 3, and O(n^(m-1)) in the worst case for
  m objectives, so fine for 4 or 5 objectives with hundreds of points, not for many more (use
  the WFG algorithm there, e.g. `optuna._hypervolume.compute_hypervolume`).

A point with a -inf value strictly dominating r covers an infinite volume: the result is inf.

Example:
    >>> hypervolume([[1, 2], [2, 1]], reference=[3, 3])
    3.0
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from searchers._pareto import _dominance


def hypervolume(points: ArrayLike, reference: ArrayLike) -> float:
    """The volume the points dominate, bounded by `reference` (see the module docstring).

    Args:
        points: (n, m) objective values, lower is better; n may be 0.
        reference: m finite values, worse than every point that should count.

    Raises:
        ValueError: a non-finite reference, NaN in the points, or mismatched shapes.
    """
    ref = np.asarray(reference, dtype=float)
    if ref.ndim != 1 or ref.size == 0 or not np.isfinite(ref).all():
        raise ValueError(
            f"the reference point must be a 1-D array of finite values, got {ref.tolist()}: "
            "give one finite value per objective, worse than the points that should count"
        )
    matrix = np.asarray(points, dtype=float)
    if matrix.size == 0:
        return 0.0
    if matrix.ndim != 2 or matrix.shape[1] != ref.size:
        raise ValueError(
            f"points must be an (n_points, {ref.size}) array to match the reference point "
            f"{ref.tolist()}, got shape {matrix.shape}: give one reference value per objective"
        )
    if np.isnan(matrix).any():
        raise ValueError("points must not contain NaN: map NaN to inf or leave those points out")
    inside = matrix[np.all(matrix < ref, axis=1)]
    if len(inside) == 0:
        return 0.0
    if np.isneginf(inside).any():
        return math.inf
    return _volume(inside, ref)


def _volume(points: NDArray[np.float64], ref: NDArray[np.float64]) -> float:
    """Hypervolume of finite points that all strictly dominate `ref`."""
    m = points.shape[1]
    if m == 1:
        return float(ref[0] - points[:, 0].min())
    if m == 2:
        stair = _staircase(points)
        widths = np.diff(stair[:, 0], append=ref[0])
        return float(np.sum(widths * (ref[1] - stair[:, 1])))
    return _slices(points, ref)


def _staircase(points: NDArray[np.float64]) -> NDArray[np.float64]:
    """The non-dominated 2-D points, one per value, by increasing first (decreasing second)
    objective."""
    ordered = points[np.lexsort((points[:, 1], points[:, 0]))]
    best = np.minimum.accumulate(ordered[:, 1])
    keep = np.ones(len(ordered), dtype=bool)
    # After the sort, a point counts only if it beats the second objective of all before it.
    keep[1:] = ordered[1:, 1] < best[:-1]
    return ordered[keep]


def _non_dominated(points: NDArray[np.float64]) -> NDArray[np.float64]:
    """The distinct non-dominated rows of `points`."""
    if points.shape[1] == 1:
        return points[np.argmin(points[:, 0])][None]
    if points.shape[1] == 2:
        return _staircase(points)
    unique = np.unique(points, axis=0)
    return unique[~_dominance(unique).any(axis=0)]


def _slices(points: NDArray[np.float64], ref: NDArray[np.float64]) -> float:
    """HSO over the last objective: the sum of slab heights times their cross-sections."""
    ordered = points[np.argsort(points[:, -1], kind="stable")]
    levels, starts = np.unique(ordered[:, -1], return_index=True)
    ends = np.append(starts[1:], len(ordered))
    tops = np.append(levels[1:], ref[-1])
    section = ordered[:0, :-1]
    total = 0.0
    for start, end, level, top in zip(starts, ends, levels, tops, strict=True):
        section = _non_dominated(np.concatenate([section, ordered[start:end, :-1]]))
        total += _volume(section, ref[:-1]) * float(top - level)
    return total
