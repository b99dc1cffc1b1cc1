"""What a model-based searcher learns from one trial: its objectives and its feasibility.

A `Ranking` (the experiment's objectives and constraints) turns a trial's last result into an
`Outcome`: the objective values with every objective minimised ('max' metrics negated), the
total constraint violation and whether every constraint holds. Searchers rank outcomes with
`searchers._pareto.rank_order` (Deb's constrained domination), as the rest of the engine ranks
results with `Ranking.order`.

A result is not observed (`outcome_of` says why) when an objective or a constraint's metric is
missing or an objective is not a finite number: the searcher cannot place such a trial. A
constraint metric that is NaN is observed, as infeasible with an infinite violation (a diverged
memory reading breaks the limit by as much as it can).

Example:
    >>> from searchers._ranking import Ranking
    >>> ranking = Ranking.of(["loss", "acc"], ["min", "max"], ["mem <= 512"])
    >>> outcome_of({"loss": 0.5, "acc": 0.9, "mem": 600}, ranking)
    Outcome(losses=(0.5, -0.9), violation=88.0, feasible=False)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from searchers._constraints import check_constraints
from searchers._objective import as_finite
from searchers._pareto import MetricNotReportedError
from searchers._ranking import Ranking


@dataclass(frozen=True)
class Outcome:
    """One trial as a searcher ranks it.

    Attributes:
        losses: The objective values, lower is better (a 'max' metric negated), all finite.
        violation: The total constraint violation, >= 0 (inf for a NaN constraint metric).
        feasible: Whether every constraint holds (not the same as `violation == 0` on the
            bound of a strict constraint, see `searchers._constraints`).
    """

    losses: tuple[float, ...]
    violation: float = 0.0
    feasible: bool = True

    @property
    def simple(self) -> bool:
        """One objective and feasible: all a single-objective searcher needs is `losses[0]`."""
        return len(self.losses) == 1 and self.feasible and self.violation == 0

    def to_json(self) -> list[Any]:
        """`[losses, violation, feasible]` (an infinite violation as None: JSON has no inf)."""
        violation = None if math.isinf(self.violation) else self.violation
        return [list(self.losses), violation, self.feasible]

    @classmethod
    def from_json(cls, data: Any) -> Outcome:
        """The outcome `to_json` wrote."""
        losses, violation, feasible = data
        return cls(tuple(float(v) for v in losses),
                   math.inf if violation is None else float(violation), bool(feasible))


def outcome_of(result: Mapping[str, Any], ranking: Ranking) -> Outcome | str:
    """The outcome of `result`, or why it has none (a sentence for the searcher's log)."""
    losses = []
    for metric, mode in zip(ranking.objectives.metrics, ranking.objectives.modes, strict=True):
        value = _lookup(result, metric)
        number = as_finite(value)
        if number is None:
            return f"has no finite metric {metric!r} (got {value!r})"
        losses.append(number if mode == "min" else -number)
    if not ranking.constraints:
        return Outcome(tuple(losses))
    try:
        feasibility = check_constraints(ranking.constraints, result)
    except (MetricNotReportedError, TypeError) as error:
        return f"cannot be checked against the constraints: {error}"
    return Outcome(tuple(losses), feasibility.violation, feasibility.feasible)


def _lookup(result: Mapping[str, Any], key: str) -> Any:
    """`result[key]`, else the nested value `a/b` names (as `read_metric` finds it); None if
    neither is there."""
    if key in result:
        return result[key]
    node: Any = result
    for part in key.split("/"):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node
