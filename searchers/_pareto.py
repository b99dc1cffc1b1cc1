"""Pareto ranking of trials: dominance, non-dominated sorting, crowding distance, epsilon-nets.

Every objective is minimised here: `Objectives` flips the sign of the 'max' metrics once, when
results become a matrix (rows are trials, columns objectives), and everything below sees only
that matrix. Constraints enter as one total violation per trial (`searchers._constraints`).

`rank_order` puts trials best first by Deb's constrained domination (Deb, Pratap, Agarwal and
Meyarivan 2002, "A fast and elitist multiobjective genetic algorithm: NSGA-II", section VI; the
rule of Optuna's `constraints_func`): feasible trials before infeasible ones; feasible ones by
non-dominated front, and inside a front by a tie-break that spreads the chosen trials over it;
infeasible ones by total violation, smallest first. Schedulers cut this order at a rung, NSGA-II
keeps its head as the next population, and the best result is its first element.

Two tie-breaks: Deb's crowding distance (NSGA-II), and the greedy epsilon-net (farthest-first
traversal, Clarkson 2005) of MO-ASHA (Schmucker et al. 2021; Salinas et al. 2021). The default
is the epsilon-net: MO-ASHA found it spreads the promoted trials better than crowding at the
rungs, where only the head of a front survives, and its order means something from the first
element on (crowding puts every objective's boundary points first, tied at infinity). NSGA-II
passes `tie_break="crowding"`.

numpy is imported inside the functions: `TuneConfig` may build `Objectives` (and parse
constraints, which use `read_metric`) on the `import tuner` path, which loads no numpy.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike, NDArray

TieBreak = Literal["crowding", "epsilon_net"]
_MODES = ("min", "max")
_TIE_BREAKS = ("crowding", "epsilon_net")
# Cells of one block of a pairwise (rows x n x objectives) comparison: bounds its temporaries.
_BLOCK_CELLS = 1 << 22


class MetricNotReportedError(KeyError):
    """A metric that the objectives or a constraint need is not in a result."""

    def __str__(self) -> str:  # KeyError's own str() is the repr of the message, quotes included
        return str(self.args[0])


def read_metric(result: Mapping[str, Any], key: str, *, fix: str, what: str = "metric") -> float:
    """`result[key]` as a float (`a/b` also finds `result["a"]["b"]`); `MetricNotReportedError`
    listing the result's keys if absent, `TypeError` if not a real number (a bool is not)."""
    node: Any = result
    if key in result:
        node = result[key]
    else:
        for part in key.split("/"):
            if not isinstance(node, Mapping) or part not in node:
                raise MetricNotReportedError(
                    f"{what} '{key}' was not in the reported result (keys: "
                    f"{sorted(map(str, result))}): report it or {fix}"
                )
            node = node[part]
    if isinstance(node, bool) or not isinstance(node, numbers.Real):  # numpy's bool_ is no Real
        raise TypeError(
            f"{what} '{key}' must be a number, but a trial reported {node!r} "
            f"({type(node).__name__}): report a float or int"
        )
    return float(node)


@dataclass(frozen=True)
class Objectives:
    """The metrics an experiment optimises and the direction of each.

    Attributes:
        metrics: The metric names: at least one, each once.
        modes: 'min' or 'max' for each metric, in the same order.

    Example:
        >>> objectives = Objectives.of(["val_loss", "accuracy"], ["min", "max"])
        >>> objectives.to_matrix([{"val_loss": 0.5, "accuracy": 0.9}]).tolist()
        [[0.5, -0.9]]
    """

    metrics: tuple[str, ...]
    modes: tuple[str, ...]

    def __post_init__(self) -> None:
        for field, value in (("metrics", self.metrics), ("modes", self.modes)):
            if not isinstance(value, tuple):
                raise TypeError(
                    f"`{field}` must be a tuple, got {value!r}: use Objectives.of(metric, mode) "
                    "to pass one name or a list"
                )
        if not self.metrics or len(self.modes) != len(self.metrics):
            raise ValueError(
                f"give at least one metric and one mode per metric, got metrics={self.metrics} "
                f"and modes={self.modes}: e.g. Objectives.of(['val_loss', 'latency_ms'], "
                "['min', 'min'])"
            )
        for i, (name, mode) in enumerate(zip(self.metrics, self.modes, strict=True)):
            if not isinstance(name, str) or not name:
                raise ValueError(
                    f"metric names must be non-empty strings, got metrics[{i}]={name!r}: "
                    "name the reported key, e.g. 'val_loss'"
                )
            if mode not in _MODES:
                raise ValueError(
                    f"mode must be 'min' or 'max', got modes[{i}]={mode!r} for metric "
                    f"'{name}': use 'min' or 'max'"
                )
            if name in self.metrics[:i]:
                raise ValueError(
                    f"metric names must be unique, got '{name}' more than once in "
                    f"{self.metrics}: list each metric once"
                )

    @classmethod
    def of(cls, metric: str | Sequence[str], mode: str | Sequence[str]) -> Objectives:
        """From `TuneConfig`'s `metric` and `mode`: one name and one mode, or a list of each."""
        metrics = (metric,) if isinstance(metric, str) else tuple(metric)
        modes = (mode,) if isinstance(mode, str) else tuple(mode)
        return cls(metrics, modes)

    def to_matrix(self, results: Sequence[Mapping[str, Any]]) -> NDArray[np.float64]:
        """The results as an (n_results, n_metrics) matrix in which lower is better.

        'max' metrics change sign. A NaN (a diverged loss) becomes +inf, the worst value on its
        axis, so it never ranks ahead of a real number.

        Raises:
            MetricNotReportedError: a result lacks a metric.
            TypeError: a metric's value is not a number.
        """
        import numpy as np

        if isinstance(results, Mapping):
            raise TypeError("`results` must be a sequence of results: for one, pass [result]")
        fix = "change TuneConfig(metric=...)"
        rows = [[read_metric(result, key, fix=fix) for key in self.metrics] for result in results]
        signs = np.array([1.0 if mode == "min" else -1.0 for mode in self.modes])
        matrix = np.array(rows, dtype=float).reshape(len(rows), len(self.metrics)) * signs
        matrix[np.isnan(matrix)] = np.inf
        return matrix


def dominates(a: ArrayLike, b: ArrayLike) -> bool:
    """Whether `a` Pareto-dominates `b` (minimisation): no worse anywhere, better somewhere."""
    import numpy as np

    first, second = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if first.ndim != 1 or first.shape != second.shape:
        raise ValueError(
            f"`a` and `b` must be two 1-D points of the same length, got shapes {first.shape} "
            f"and {second.shape}: pass one row of objective values each"
        )
    first, second = _as_points([first, second])
    return bool(np.all(first <= second) and np.any(first < second))


def non_dominated_sort(points: ArrayLike) -> list[NDArray[np.intp]]:
    """Split the points into non-dominated fronts: Deb et al. 2002's fast non-dominated sort.

    Front 0 holds the points that no point dominates; front k those dominated only by points of
    fronts < k. Equal points never dominate each other, so duplicates share a front. O(M N^2)
    time and N^2 bytes of memory for N points and M objectives.

    Returns:
        The fronts, best first, each the ascending indices of its points.

    Example:
        >>> [f.tolist() for f in non_dominated_sort([[1, 2], [2, 1], [2, 2], [1, 2]])]
        [[0, 1, 3], [2]]
    """
    import numpy as np

    matrix = _as_points(points)
    if len(matrix) == 0:
        return []
    dominated_by = _dominance(matrix)  # [i, j]: i dominates j
    counts = dominated_by.sum(axis=0)
    fronts = []
    front = np.flatnonzero(counts == 0)
    while front.size:
        fronts.append(front)
        counts -= dominated_by[front].sum(axis=0)
        counts[front] = -1  # placed; no point of a front dominates another of it
        front = np.flatnonzero(counts == 0)
    return fronts


def crowding_distance(points: ArrayLike) -> NDArray[np.float64]:
    """Deb et al. 2002's crowding distance of the points of one front (larger: less crowded).

    Per objective, the gap between a point's two neighbours divided by the objective's range,
    summed over objectives; the points at either end of an objective get infinity. An objective
    on which all points are equal adds 0. Equal values are one neighbour, so equal points get
    equal distances (sorting would give twins different ones, by index). Infinite values
    (`Objectives` maps NaN to +inf) are neighbours at infinity; the range spans finite values.
    """
    import numpy as np

    matrix = _as_points(points)
    distance = np.zeros(len(matrix))
    for column in matrix.T:
        levels, where = np.unique(column, return_inverse=True)
        if levels.size < 2:
            continue
        finite = levels[np.isfinite(levels)]
        width = finite[-1] - finite[0] if finite.size >= 2 else 0.0
        gaps = np.full(levels.size, np.inf)
        gaps[1:-1] = (levels[2:] - levels[:-2]) / (width if width > 0 else 1.0)
        distance += gaps[where.reshape(-1)]
    return distance


def epsilon_net_order(points: ArrayLike) -> NDArray[np.intp]:
    """The points farthest-first: the greedy epsilon-net of MO-ASHA (Schmucker et al. 2021).

    The first point is the lexicographically smallest (best on the first objective, ties by the
    next); each next point is the one farthest, in Euclidean distance after scaling every
    objective to [0, 1] over these points, from all points already chosen. Ties go to the lower
    index; duplicates of a chosen point come last. Deterministic, unlike MO-ASHA's random seed.
    """
    import numpy as np

    matrix = _as_points(points)
    everything = np.arange(len(matrix))
    return _farthest_first(matrix, _unit_scaled(matrix), everything, everything[:0])


def rank_order(
    points: ArrayLike,
    violations: ArrayLike | None = None,
    *,
    feasible: ArrayLike | None = None,
    tie_break: TieBreak = "epsilon_net",
) -> NDArray[np.intp]:
    """Indices of the points, best first, by Deb's constrained domination.

    Feasible points come first, front by front (`non_dominated_sort`); inside a front they are
    ordered by decreasing crowding distance, or by the epsilon-net, which carries the points
    chosen from earlier fronts (a point of front 1 far from front 0 comes first) and scales the
    objectives over all feasible points. Infeasible points follow by total violation, smallest
    first. Remaining ties go to the lower index.

    Args:
        points: (n, m) objective values, lower is better.
        violations: Each point's total constraint violation, >= 0 (NaN: infinite); None: none.
        feasible: Which points meet every constraint; defaults to `violations == 0`. Pass it
            where a strict constraint sits on its bound (violation 0 yet infeasible, see
            `searchers._constraints`).
        tie_break: "epsilon_net" (MO-ASHA) or "crowding" (NSGA-II).

    Example:
        >>> rank_order([[1, 1], [0, 0], [2, 0]], violations=[0, 3, 0]).tolist()
        [0, 2, 1]
    """
    import numpy as np

    if tie_break not in _TIE_BREAKS:
        raise ValueError(
            f"tie_break must be 'crowding' or 'epsilon_net', got tie_break={tie_break!r}"
        )
    matrix = _as_points(points)
    amounts, ok = _feasibility(len(matrix), violations, feasible)
    good = np.flatnonzero(ok)
    kept = matrix[good]
    fronts = non_dominated_sort(kept)
    chosen = good[:0]
    if tie_break == "crowding":
        ordered = [f[np.argsort(-crowding_distance(kept[f]), kind="stable")] for f in fronts]
        chosen = np.concatenate([chosen, *ordered])
    else:
        unit = _unit_scaled(kept)
        for front in fronts:
            chosen = np.concatenate([chosen, _farthest_first(kept, unit, front, chosen)])
    bad = np.flatnonzero(~ok)
    return np.concatenate([good[chosen], bad[np.argsort(amounts[bad], kind="stable")]])


def pareto_front_mask(
    points: ArrayLike, violations: ArrayLike | None = None, *, feasible: ArrayLike | None = None
) -> NDArray[np.bool_]:
    """Which points are on the Pareto front: feasible, and dominated by no feasible point.

    With no feasible point the front is empty (the least violating point is still the head of
    `rank_order`). `violations` and `feasible` are as in `rank_order`.
    """
    import numpy as np

    matrix = _as_points(points)
    _, ok = _feasibility(len(matrix), violations, feasible)
    mask = np.zeros(len(matrix), dtype=bool)
    good = np.flatnonzero(ok)
    if good.size:
        mask[good] = ~_dominance(matrix[good]).any(axis=0)
    return mask


def _as_points(points: ArrayLike) -> NDArray[np.float64]:
    import numpy as np

    matrix = np.asarray(points, dtype=float)
    if matrix.ndim == 1 and matrix.size == 0:
        return matrix.reshape(0, 1)
    if matrix.ndim != 2:
        raise ValueError(
            f"points must be a 2-D array (n_points, n_objectives), got shape {matrix.shape}: "
            "for one objective use points.reshape(-1, 1)"
        )
    if matrix.shape[1] == 0 or np.isnan(matrix).any():
        rows = np.flatnonzero(np.isnan(matrix).any(axis=1)).tolist()
        raise ValueError(
            f"points need at least one objective and no NaN, got shape {matrix.shape}, NaN in "
            f"rows {rows}: map NaN to inf (Objectives.to_matrix does) or leave those trials out"
        )
    return matrix


def _feasibility(
    n: int, violations: ArrayLike | None, feasible: ArrayLike | None
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """The violations (NaN as inf) and the feasibility mask, checked against each other."""
    import numpy as np

    amounts = np.zeros(n) if violations is None else np.asarray(violations, dtype=float)
    if amounts.shape != (n,):
        raise ValueError(f"violations must have one value per point ({n}), got {amounts.shape}")
    if (amounts < 0).any():
        raise ValueError(
            f"violations must be >= 0 (0: every constraint holds), got {amounts.min()}: "
            "pass total_violation(...) values"
        )
    amounts = np.where(np.isnan(amounts), np.inf, amounts)
    if feasible is None:
        return amounts, amounts == 0
    ok = np.asarray(feasible, dtype=bool)
    if ok.shape != (n,):
        raise ValueError(f"feasible must have one flag per point ({n}), got {ok.shape}")
    contradictions = np.flatnonzero(ok & (amounts > 0))
    if contradictions.size:
        raise ValueError(
            f"a point with a positive violation cannot be feasible, got feasible=True at "
            f"{contradictions.tolist()}: pass the flags and totals of the same constraints"
        )
    return amounts, ok


def _dominance(matrix: NDArray[np.float64]) -> NDArray[np.bool_]:
    """The (n, n) matrix whose [i, j] says whether point i dominates point j."""
    import numpy as np

    n, m = matrix.shape
    out = np.empty((n, n), dtype=bool)
    step = max(1, _BLOCK_CELLS // max(1, n * m))
    for start in range(0, n, step):
        block = matrix[start : start + step, None, :]
        no_worse = np.all(block <= matrix[None], axis=2)
        out[start : start + step] = no_worse & np.any(block < matrix[None], axis=2)
    return out


def _unit_scaled(matrix: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each objective scaled to [0, 1] over its finite values; infinities sit at the edges and
    an objective without range is 0 (it tells no point from another)."""
    import numpy as np

    out = np.zeros_like(matrix)
    for j, column in enumerate(matrix.T):
        finite = column[np.isfinite(column)]
        if finite.size and finite.max() > finite.min():
            low, high = finite.min(), finite.max()
            out[:, j] = (np.clip(column, low, high) - low) / (high - low)
    return out


def _farthest_first(
    matrix: NDArray[np.float64],
    unit: NDArray[np.float64],
    candidates: NDArray[np.intp],
    chosen: NDArray[np.intp],
) -> NDArray[np.intp]:
    """`candidates` (rows) in farthest-first order from the rows `chosen` before them; with none
    chosen, the lexicographically smallest candidate starts."""
    import numpy as np

    points = unit[candidates]
    nearest = np.full(len(candidates), np.inf)
    step = max(1, _BLOCK_CELLS // max(1, len(candidates) * unit.shape[1]))
    for start in range(0, len(chosen), step):
        block = unit[chosen[start : start + step]]
        gaps = np.linalg.norm(points[:, None, :] - block[None], axis=2)
        nearest = np.minimum(nearest, gaps.min(axis=1))
    order = np.empty(len(candidates), dtype=np.intp)
    taken = np.zeros(len(candidates), dtype=bool)
    for k in range(len(candidates)):
        if k == 0 and len(chosen) == 0:
            pick = int(np.lexsort(matrix[candidates].T[::-1])[0])
        else:
            pick = int(np.argmax(np.where(taken, -1.0, nearest)))
        order[k], taken[pick] = candidates[pick], True
        nearest = np.minimum(nearest, np.linalg.norm(points - points[pick], axis=1))
    return order
