"""What an experiment optimises, as one value every component ranks results by: its objectives
(one metric or several) and its constraints.

`TuneConfig(metric=..., mode=..., constraints=[...])` becomes a `Ranking`; schedulers cut their
rungs by `Ranking.order`, PBT picks its quantiles by it, `ResultGrid.get_best_result` takes its
head and `get_pareto_front` its front. One objective without constraints orders by the metric
alone, as it always did; everything else follows Deb's constrained domination
(`searchers._pareto.rank_order`): feasible results first, by front and a spreading tie-break,
then infeasible ones by total violation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from searchers._constraints import Constraint, check_constraints, parse_constraints
from searchers._pareto import Objectives, TieBreak, pareto_front_mask, rank_order

MetricSetting = str | Sequence[str] | None
"""`metric` (or `mode`) as `TuneConfig` takes it: one name, a list of names, or None."""


def is_multi_objective(metric: MetricSetting) -> bool:
    """Whether `metric` names several objectives (a list of two or more)."""
    return metric is not None and not isinstance(metric, str) and len(metric) > 1


def single(metric: MetricSetting) -> str | None:
    """One objective as a plain name: a one-element list becomes its element."""
    if metric is None or isinstance(metric, str):
        return metric
    names = list(metric)
    return names[0] if len(names) == 1 else None


def check_objectives(
    metric: Any,
    mode: Any,
    *,
    owner: str,
    multi_ok: bool,
    error: type[Exception] = ValueError,
) -> tuple[str | list[str] | None, str | list[str] | None]:
    """`metric` and `mode` checked and normalised: a name or a list of names, and 'min'/'max'
    or a list of them of the same length; a one-element list becomes its element.

    Args:
        owner: What they were given to (the message starts with it).
        multi_ok: Whether the owner takes several objectives; if not, a list of several is an
            error that says so.
        error: The exception to raise (`tuner` raises its `ConfigError`).
    """
    def names(value: Any, what: str) -> str | list[str] | None:
        if value is None or isinstance(value, str):
            return value
        if not isinstance(value, Sequence) or not value:
            raise error(
                f"{owner}: `{what}` must be a string or a non-empty list of strings, got "
                f"{what}={value!r}"
            )
        items = list(value)
        if not all(isinstance(item, str) for item in items):
            raise error(f"{owner}: `{what}` must list strings, got {what}={value!r}")
        return items[0] if len(items) == 1 else items

    metric, mode = names(metric, "metric"), names(mode, "mode")
    modes = [mode] if isinstance(mode, str) else (mode or [])
    for i, one in enumerate(modes):
        if one not in ("min", "max"):
            at = "mode" if isinstance(mode, str) else f"mode[{i}]"
            raise error(
                f"{owner}: `mode` must be 'min' or 'max' (or a list of them), got {at}={one!r}: "
                "pass 'min' (lower is better) or 'max' (higher is better)"
            )
    if isinstance(metric, list):
        if len(set(metric)) != len(metric):
            raise error(f"{owner}: each metric may be listed once, got metric={metric!r}")
        if mode is not None and (isinstance(mode, str) or len(mode) != len(metric)):
            raise error(
                f"{owner}: give one mode per metric, got metric={metric!r} and mode={mode!r}: "
                f"e.g. mode={['min'] * len(metric)!r}"
            )
        if not multi_ok:
            raise error(
                f"{owner} optimises one metric, got metric={metric!r}: pass one metric, or use "
                "a component that takes several (random or grid search, TPESearch, "
                "NSGA2Search, OptunaSearch; FIFO, ASHA, HyperBand, median stopping, PBT)"
            )
    elif isinstance(mode, list):
        raise error(
            f"{owner}: a list of modes needs a list of metrics of the same length, got "
            f"metric={metric!r} and mode={mode!r}"
        )
    return metric, mode


@dataclass(frozen=True)
class Ranking:
    """The objectives and constraints results are ranked by.

    Attributes:
        objectives: The metrics and their modes.
        constraints: Bounds on reported metrics (`searchers._constraints`); may be empty.

    Example:
        >>> ranking = Ranking.of(["loss", "latency"], ["min", "min"], ["memory <= 512"])
        >>> ranking.order([{"loss": 1, "latency": 1, "memory": 900},
        ...                {"loss": 2, "latency": 2, "memory": 100}])
        [1, 0]
    """

    objectives: Objectives
    constraints: tuple[Constraint, ...] = ()

    @classmethod
    def of(
        cls,
        metric: str | Sequence[str],
        mode: str | Sequence[str],
        constraints: Sequence[str | Constraint] = (),
    ) -> Ranking:
        """From `TuneConfig`'s `metric`, `mode` and `constraints` (strings or parsed)."""
        texts = [c for c in constraints if not isinstance(c, Constraint)]
        parsed = iter(parse_constraints(texts))
        return cls(
            Objectives.of(metric, mode),
            tuple(c if isinstance(c, Constraint) else next(parsed) for c in constraints),
        )

    @classmethod
    def needed(
        cls,
        owner: str,
        metric: str | Sequence[str] | None,
        mode: str | Sequence[str] | None,
        constraints: Sequence[Constraint] = (),
    ) -> Ranking:
        """The ranking a component (`owner`) needs, or a ValueError saying which of metric and
        mode it still lacks and where to set it."""
        if metric is None:
            raise ValueError(f"{owner} needs a metric: pass metric=... to it or to TuneConfig")
        if mode is None:
            raise ValueError(
                f"{owner} needs a mode: pass mode='min' or mode='max' to it or to TuneConfig"
            )
        return cls.of(metric, mode, constraints)

    @property
    def multi_objective(self) -> bool:
        return len(self.objectives.metrics) > 1

    @property
    def simple(self) -> bool:
        """One objective and no constraints: ranking by the one metric alone."""
        return not self.multi_objective and not self.constraints

    @property
    def metrics(self) -> tuple[str, ...]:
        """Every key a result must report: the objectives', then the constraints'."""
        extra = tuple(c.metric for c in self.constraints if c.metric not in self.objectives.metrics)
        return self.objectives.metrics + tuple(dict.fromkeys(extra))

    def order(
        self, results: Sequence[Mapping[str, Any]], *, tie_break: TieBreak = "epsilon_net"
    ) -> list[int]:
        """Indices of `results`, best first.

        Raises:
            MetricNotReportedError: a result lacks an objective or a constraint's metric.
            TypeError: one of them is not a number.
        """
        if not results:
            return []
        points = self.objectives.to_matrix(results)
        violations, feasible = self._feasibility(results)
        return [int(i) for i in rank_order(points, violations, feasible=feasible,
                                           tie_break=tie_break)]

    def front(self, results: Sequence[Mapping[str, Any]]) -> list[int]:
        """Indices of the results on the Pareto front (feasible, dominated by no feasible
        result), in the order given."""
        if not results:
            return []
        points = self.objectives.to_matrix(results)
        violations, feasible = self._feasibility(results)
        mask = pareto_front_mask(points, violations, feasible=feasible)
        return [i for i, on in enumerate(mask.tolist()) if on]

    def feasible(self, result: Mapping[str, Any]) -> bool:
        """Whether `result` meets every constraint."""
        return check_constraints(self.constraints, result).feasible

    def _feasibility(
        self, results: Sequence[Mapping[str, Any]]
    ) -> tuple[list[float] | None, list[bool] | None]:
        if not self.constraints:
            return None, None
        checks = [check_constraints(self.constraints, result) for result in results]
        return [c.violation for c in checks], [c.feasible for c in checks]

    def to_json(self) -> dict[str, Any]:
        """As the experiment state stores it."""
        return {
            "metric": list(self.objectives.metrics),
            "mode": list(self.objectives.modes),
            "constraints": [str(c) for c in self.constraints],
        }
