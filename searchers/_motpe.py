"""TPE's split of the observed trials into good and bad with several objectives or constraints.

Single-objective TPE calls the best `n_below` losses good. With constraints and several
objectives this module decides, as Optuna's `TPESampler` does (its `_split_trials`, following
MOTPE: Ozaki, Tanigaki, Watanabe and Onishi 2020, "Multiobjective tree-structured Parzen
estimator for computationally expensive optimization problems", and its 2022 JAIR version):

1. Feasible trials first. If fewer than `n_below` are feasible, all of them are good and the
   rest of the good set is the least violating infeasible trials (Deb's constrained
   domination, the order the whole engine ranks by).
2. Among the feasible ones, whole non-dominated fronts are good while they fit in `n_below`.
3. The front that does not fit is cut by greedy hypervolume subset selection (HSSP): the next
   good trial is the one that adds most hypervolume to those of the front already chosen,
   against a reference point just beyond that front's worst values (Optuna's rule:
   `max(1.1 w, 0.9 w)` of the worst value w per objective, `1e-12` where that is 0).

The good trials' mixture weights (`below_weights`) are MOTPE's too: each good, feasible trial
on the good set's own front weighs its hypervolume contribution, scaled so the largest is 1;
every other good trial weighs 1e-12. One deviation from Optuna: when no good trial is feasible
the weights are left to the caller (TPE's usual ramp), where Optuna's all-1e-12 weights would
leave the good mixture to its prior and the search random until something is feasible.

With one objective the fronts are the distinct losses, so steps 2 and 3 are a stable sort
(the single-objective rule); with no constraints step 1 does nothing.

Example:
    >>> import numpy as np
    >>> losses = np.array([[1.0, 4.0], [2.0, 2.0], [4.0, 1.0], [3.0, 3.0], [0.0, 0.0]])
    >>> below, above = split_good_bad(losses, np.array([0, 0, 0, 0, 5.0]),
    ...                               np.array([True, True, True, True, False]), 2)
    >>> below.tolist(), above.tolist()  # [2, 2] adds most; then [1, 4] and [4, 1] tie
    ([0, 1], [2, 3, 4])
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from searchers._hypervolume import hypervolume
from searchers._pareto import non_dominated_sort, pareto_front_mask

EPS = 1e-12
"""Weight of a good trial that adds no hypervolume (as Optuna's `_tpe.sampler.EPS`)."""


def split_good_bad(
    losses: NDArray[np.float64],
    violations: NDArray[np.float64],
    feasible: NDArray[np.bool_],
    n_below: int,
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """The good (`n_below` of them, or all if fewer) and the bad trials, each as ascending
    indices (time order).

    Args:
        losses: (n, m) objective values, lower is better, finite.
        violations: Each trial's total constraint violation (0 without constraints).
        feasible: Whether each trial meets every constraint.
        n_below: How many trials are good.
    """
    n = len(losses)
    n_below = max(0, min(n_below, n))
    good_feasible = np.flatnonzero(feasible)
    k = min(n_below, good_feasible.size)
    chosen = good_feasible[_best_feasible(losses[good_feasible], k)]
    infeasible = np.flatnonzero(~feasible)
    by_violation = infeasible[np.argsort(violations[infeasible], kind="stable")]
    below = np.sort(np.concatenate([chosen, by_violation[: n_below - k]]))
    above = np.setdiff1d(np.arange(n), below)
    return below.astype(np.intp), above.astype(np.intp)


def _best_feasible(points: NDArray[np.float64], k: int) -> NDArray[np.intp]:
    """The indices of `k` best points: whole fronts, then HSSP on the front that does not
    fit."""
    if k <= 0:
        return np.empty(0, dtype=np.intp)
    if points.shape[1] == 1:
        return np.argsort(points[:, 0], kind="stable")[:k]
    chosen: list[NDArray[np.intp]] = []
    count = 0
    for front in non_dominated_sort(points):
        if count + front.size <= k:
            chosen.append(front)
            count += front.size
            if count == k:
                break
            continue
        subset = greedy_hssp(points[front], k - count, reference_point(points[front]))
        chosen.append(front[subset])
        break
    return np.concatenate(chosen)


def reference_point(points: NDArray[np.float64]) -> NDArray[np.float64]:
    """Just beyond the worst value of each objective: `max(1.1 w, 0.9 w)`, `EPS` for w = 0
    (Optuna's `_get_reference_point`)."""
    worst = points.max(axis=0)
    reference = np.maximum(1.1 * worst, 0.9 * worst)
    reference[reference == 0] = EPS
    return reference


def greedy_hssp(
    points: NDArray[np.float64], k: int, reference: NDArray[np.float64]
) -> NDArray[np.intp]:
    """`k` of `points` (one non-dominated front) chosen greedily for hypervolume, in the order
    chosen: each time the point that adds most to the hypervolume of those chosen before it
    (ties: lower index).

    Two objectives: what a point adds is the rectangle between it and its chosen neighbours
    along the front, computed for every point at once. More: lazy greedy (Minoux 1978); a
    point's gain only shrinks as others are chosen (hypervolume is submodular), so a stale gain
    is an upper bound, and a point whose fresh gain is still the largest bound is the greedy
    choice without recomputing the others.
    """
    n = len(points)
    if k >= n:
        return np.arange(n, dtype=np.intp)
    if points.shape[1] == 2:
        return _greedy_hssp_2d(points, k, reference)
    # Each point's box alone: its exact gain while none is chosen, an upper bound after.
    gains_left = np.prod(reference - points, axis=1)
    fresh = np.ones(n, dtype=bool)
    chosen: list[int] = []
    volume = 0.0
    while len(chosen) < k:
        pick = int(np.argmax(gains_left))
        if fresh[pick]:  # its exact gain beats every other point's bound
            chosen.append(pick)
            volume = hypervolume(points[chosen], reference)  # not a running sum: no drift
            gains_left[pick] = -np.inf
            fresh[:] = False
            continue
        gains_left[pick] = hypervolume(points[[*chosen, pick]], reference) - volume
        fresh[pick] = True
    return np.array(chosen, dtype=np.intp)


def _greedy_hssp_2d(
    points: NDArray[np.float64], k: int, reference: NDArray[np.float64]
) -> NDArray[np.intp]:
    """`greedy_hssp` on a 2-objective front. Sorted by the first objective a front descends in
    the second, so a point adds `(x_right - x) * (y_left - y)`: up to the chosen point to its
    right (or the reference) along the first objective, and to the one on its left along the
    second; a twin of a chosen point adds nothing."""
    x, y = points[:, 0], points[:, 1]
    taken = np.zeros(len(points), dtype=bool)
    chosen: list[int] = []
    for _ in range(k):
        picked = np.flatnonzero(taken)
        order = picked[np.argsort(x[picked], kind="stable")]
        xs = x[order]
        right = np.searchsorted(xs, x, side="right")  # the first chosen with a larger x
        left = np.searchsorted(xs, x, side="left")  # one past the last with a smaller x
        x_right = np.append(xs, reference[0])[right]  # the reference where there is none
        y_left = np.insert(y[order], 0, reference[1])[left]
        gains = (x_right - x) * (y_left - y)
        gains[(right != left) | taken] = -np.inf  # a twin of a chosen point adds nothing
        pick = int(np.argmax(gains))
        taken[pick] = True
        chosen.append(pick)
    return np.array(chosen, dtype=np.intp)


def below_weights(
    losses: NDArray[np.float64], feasible: NDArray[np.bool_]
) -> NDArray[np.float64] | None:
    """MOTPE's mixture weights of the good trials (see the module docstring); None when none
    of them is feasible (the caller's usual weights apply)."""
    weights = np.full(len(losses), EPS)
    ok = np.flatnonzero(feasible)
    if ok.size == 0:
        return None
    if ok.size == 1:
        weights[ok] = 1.0
        return weights
    points = losses[ok]
    reference = reference_point(points)
    on_front = pareto_front_mask(points)
    front = points[on_front]
    total = hypervolume(front, reference)
    leave_one_out = ~np.eye(len(front), dtype=bool)
    contributions = np.zeros(ok.size)
    contributions[on_front] = [total - hypervolume(front[keep], reference)
                               for keep in leave_one_out]
    weights[ok] = np.maximum(contributions / max(contributions.max(), EPS), EPS)
    return weights
