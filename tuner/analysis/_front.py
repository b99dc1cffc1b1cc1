"""The Pareto front, feasibility and hypervolume of an experiment's results, as analysis reads them.

The engine ranks results with `searchers._ranking.Ranking`, which raises when a result lacks a
metric: a scheduler must not rank a trial it cannot place. Analysis reads whatever trials left
behind (a trial that failed before its first report, one that reported NaN), so it is lenient
in two ways, and both are documented on `ResultGrid`:

- A result that lacks a constraint's metric, or holds something other than a number there, is
  infeasible with an infinite violation (it is not an error).
- A result whose objectives are not all finite numbers (missing, NaN, infinite) has no place
  on the front: like `get_best_result(filter_nan_and_inf=True)`, it is left out.

Everything else is Deb's constrained domination, as in the engine (`searchers._pareto`). Every
function takes each trial's last result (`Result.metrics`) and returns indices into `results`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from searchers._constraints import Constraint, Feasibility, check_constraints
from searchers._objective import as_real, rank_key
from searchers._pareto import MetricNotReportedError, Objectives
from tuner.analysis._result import Result, metric_value
from tuner.exceptions import ConfigError

INFEASIBLE = Feasibility(feasible=False, violation=math.inf)
"""A result that cannot be checked: a constraint's metric is missing or not a number."""


def feasibility(constraints: Sequence[Constraint], metrics: Mapping[str, Any]) -> Feasibility:
    """How `metrics` stands against `constraints` (feasible when there are none); a missing or
    non-numeric constraint metric makes it infeasible, with an infinite violation."""
    if not constraints:
        return Feasibility(feasible=True, violation=0.0)
    try:
        return check_constraints(constraints, metrics)
    except (MetricNotReportedError, TypeError):
        return INFEASIBLE


def objective_values(objectives: Objectives, metrics: Mapping[str, Any]) -> tuple[float, ...] | None:
    """The objectives' finite values in `metrics`, in the metrics' own units; None if one is
    missing, not a number, NaN or infinite."""
    values = []
    for metric in objectives.metrics:
        value = metric_value(metrics, metric)
        if value is None:
            return None
        values.append(value)
    return tuple(values)


def minimised(objectives: Objectives, values: Sequence[float]) -> tuple[float, ...]:
    """`values` with the 'max' objectives' signs flipped: lower is better on every axis."""
    return tuple(v if mode == "min" else -v for v, mode in zip(values, objectives.modes,
                                                               strict=True))


def front(
    results: Sequence[Result], objectives: Objectives, constraints: Sequence[Constraint]
) -> list[int]:
    """The indices of the results on the Pareto front: feasible, with finite objectives, and
    dominated by no other such result. Best first by the first objective (ties by the next
    objectives, then by creation order); equal results are all on it.

    With one objective the front is the feasible results that share the best value. With no
    feasible result it is empty.
    """
    return [i for i, _ in _front_points(results, objectives, constraints)]


def order(
    results: Sequence[Result], objectives: Objectives, constraints: Sequence[Constraint]
) -> list[int]:
    """Every index, best first: feasible results front by front (each front by its first
    objective, as `front`), then infeasible ones by total violation, then those without finite
    objectives, in creation order. A readable order for a table; schedulers use an epsilon-net
    inside each front instead (`searchers._pareto.rank_order`)."""
    from searchers._pareto import non_dominated_sort

    placed = _placed(results, objectives)
    checks = [feasibility(constraints, results[i].metrics) for i, _ in placed]
    good = [pair for pair, check in zip(placed, checks, strict=True) if check.feasible]
    bad = sorted(
        ((check.violation, pair[1], pair[0]) for pair, check in zip(placed, checks, strict=True)
         if not check.feasible),
    )
    ranked: list[int] = []
    levels = non_dominated_sort([point for _, point in good]) if good else []
    for level in levels:
        members = sorted((good[k][1], good[k][0]) for k in level.tolist())
        ranked += [i for _, i in members]
    ranked += [i for _, _, i in bad]
    seen = set(ranked)
    return ranked + [i for i in range(len(results)) if i not in seen]


def least_violating(
    candidates: Sequence[tuple[float, Result]], constraints: Sequence[Constraint], mode: str
) -> tuple[float, Result]:
    """Of (score, result) pairs, none of them feasible, the one with the smallest total
    violation; ties by score in `mode`, then by position."""
    return min(
        enumerate(candidates),
        key=lambda item: (
            feasibility(constraints, item[1][1].metrics).violation,
            rank_key(item[1][0], mode),
            item[0],
        ),
    )[1]


def hypervolume(
    results: Sequence[Result],
    objectives: Objectives,
    constraints: Sequence[Constraint],
    reference: Sequence[float] | Mapping[str, float],
) -> float:
    """The hypervolume of the front against `reference` (see `ResultGrid.hypervolume`)."""
    from searchers._hypervolume import hypervolume as volume

    ref = minimised(objectives, reference_point(objectives, reference))
    points = [point for _, point in _front_points(results, objectives, constraints)]
    if not points:
        return 0.0
    if not any(all(p < r for p, r in zip(point, ref, strict=True)) for point in points):
        worst = [
            max(p[j] for p in points) if mode == "min" else -max(p[j] for p in points)
            for j, mode in enumerate(objectives.modes)
        ]
        shown = ", ".join(
            f"{metric}={value:.6g}" for metric, value in zip(objectives.metrics, worst,
                                                             strict=True)
        )
        raise ConfigError(
            f"the reference point {_named(objectives, reference)} is not beyond the Pareto "
            f"front: no front trial is better than it on every objective, so the hypervolume "
            f"would be 0; pass a reference worse than the front's worst values ({shown}) on "
            "every objective"
        )
    return float(volume(points, ref))


def reference_point(
    objectives: Objectives, reference: Sequence[float] | Mapping[str, float]
) -> tuple[float, ...]:
    """`reference` (a sequence in objective order, or metric -> value) as finite floats in
    objective order.

    Raises:
        ConfigError: a wrong length, an unknown or missing metric, or a value that is not a
            finite number.
    """
    metrics = objectives.metrics
    example = dict(zip(metrics, (1.0,) * len(metrics), strict=True))
    if isinstance(reference, Mapping):
        unknown = [key for key in reference if key not in metrics]
        missing = [metric for metric in metrics if metric not in reference]
        if unknown or missing:
            raise ConfigError(
                f"the reference point must give one value per objective {list(metrics)}, got "
                f"{dict(reference)!r} (unknown: {unknown}, missing: {missing}): e.g. "
                f"hypervolume({example!r})"
            )
        values = [reference[metric] for metric in metrics]
    elif isinstance(reference, str) or not isinstance(reference, Sequence):
        raise ConfigError(
            f"the reference point must be a sequence of numbers in objective order "
            f"{list(metrics)} or a mapping metric -> number, got {reference!r}: e.g. "
            f"hypervolume({list(example.values())!r})"
        )
    else:
        values = list(reference)
        if len(values) != len(metrics):
            raise ConfigError(
                f"the reference point must have one value per objective {list(metrics)} "
                f"({len(metrics)}), got {len(values)}: {values!r}"
            )
    numbers = [as_real(value) for value in values]
    bad = [
        f"{metric}={value!r}" for metric, value, number in zip(metrics, values, numbers,
                                                               strict=True)
        if number is None or not math.isfinite(number)
    ]
    if bad:
        raise ConfigError(
            f"the reference point's values must be finite numbers, got {', '.join(bad)}"
        )
    return tuple(float(number) for number in numbers if number is not None)


def _front_points(
    results: Sequence[Result], objectives: Objectives, constraints: Sequence[Constraint]
) -> list[tuple[int, tuple[float, ...]]]:
    """(index, minimised objective values) of the front's results, in `front`'s order."""
    from searchers._pareto import pareto_front_mask

    placed = _placed(results, objectives)
    if not placed:
        return []
    checks = [feasibility(constraints, results[i].metrics) for i, _ in placed]
    mask = pareto_front_mask(
        [point for _, point in placed],
        [c.violation for c in checks],
        feasible=[c.feasible for c in checks],
    )
    on_front = [pair for pair, on in zip(placed, mask.tolist(), strict=True) if on]
    return sorted(on_front, key=lambda pair: (pair[1], pair[0]))


def _placed(
    results: Sequence[Result], objectives: Objectives
) -> list[tuple[int, tuple[float, ...]]]:
    """(index, minimised objective values) of the results with finite objectives."""
    placed = []
    for i, result in enumerate(results):
        values = objective_values(objectives, result.metrics)
        if values is not None:
            placed.append((i, minimised(objectives, values)))
    return placed


def _named(objectives: Objectives, reference: Sequence[float] | Mapping[str, float]) -> str:
    if isinstance(reference, Mapping):
        return repr(dict(reference))
    return repr(dict(zip(objectives.metrics, reference, strict=True)))
