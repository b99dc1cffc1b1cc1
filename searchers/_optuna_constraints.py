"""How `OptunaSearch` hands TuneConfig's constraints to Optuna.

Optuna calls a trial feasible when every one of its constraint values is <= 0, and its
constraint-aware samplers (TPESampler, NSGAIISampler, NSGAIIISampler, GPSampler) rank feasible
trials first, then infeasible ones by their total violation. How the values reach a sampler
changed in Optuna 5.0:

- from 5.0, `Trial.set_constraint(key, value)` stores each value on the trial, and every such
  sampler reads them (`FrozenTrial.constraints`), whoever built it;
- before, a sampler sees them only through the `constraints_func` it was built with, which
  returns the values of a finished trial; `constraints_func` reads them back from a user
  attribute that `OptunaSearch` sets before it tells the study.

Trials added whole (points evaluated elsewhere, a restored study) get the values in the system
attributes samplers read, under the storage keys Optuna keeps stable for stored studies.
Optuna is passed in by the caller, never imported here.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from searchers._constraints import Constraint
from searchers._pareto import MetricNotReportedError, read_metric

CONSTRAINTS_ATTR = "tuner:constraints"
"""The user attribute of an Optuna trial that holds its constraint values (Optuna's form)."""


def sets_constraints(optuna: Any) -> bool:
    """Whether this Optuna has `Trial.set_constraint` (5.0 on), which samplers read."""
    return hasattr(optuna.trial.Trial, "set_constraint")


def constraints_func(trial: Any) -> list[float]:
    """An Optuna `constraints_func`: the values stored on `trial` (none if it has none)."""
    return list(trial.user_attrs.get(CONSTRAINTS_ATTR, []))


def constraint_values(
    constraints: Sequence[Constraint], result: Mapping[str, Any]
) -> list[float] | str:
    """The result's constraints in Optuna's form, or why not (a constraint's metric is missing
    or not a number).

    `m <= b` and `m < b` become `m - b`, `m >= b` and `m > b` become `b - m`. A strict
    constraint met with equality is broken, so its 0 becomes the smallest positive float. NaN
    (which Optuna refuses) and infinities become the largest float of their sign, so that the
    values stay JSON data.
    """
    values = []
    for constraint in constraints:
        try:
            value = read_metric(result, constraint.metric,
                                fix="change TuneConfig(constraints=...)",
                                what="constraint metric")
        except (MetricNotReportedError, TypeError) as error:
            return str(error)
        excess = value - constraint.bound if constraint.op in ("<=", "<") else (
            constraint.bound - value
        )
        if math.isnan(excess):
            excess = math.inf
        if excess == 0 and not constraint.satisfied(value):
            excess = math.ulp(0.0)
        values.append(min(max(excess, -sys.float_info.max), sys.float_info.max))
    return values


def constraint_keys(constraints: Sequence[Constraint], n: int) -> list[str]:
    """The names of `n` constraint values in a study: the constraints as written, or their
    positions for values stored under other constraints than these."""
    if len(constraints) == n:
        return [str(c) for c in constraints]
    return [str(i) for i in range(n)]


def set_on_trial(
    optuna: Any, trial: Any, constraints: Sequence[Constraint], values: list[float]
) -> None:
    """Store `values` on a live trial, before the study is told it finished."""
    trial.set_user_attr(CONSTRAINTS_ATTR, values)  # for a constraints_func
    if sets_constraints(optuna):
        for key, value in zip(constraint_keys(constraints, len(values)), values, strict=True):
            trial.set_constraint(key, value)


def trial_attrs(
    optuna: Any, constraints: Sequence[Constraint], values: Sequence[float]
) -> dict[str, Any]:
    """The `user_attrs` and `system_attrs` of `optuna.trial.create_trial` for a trial added
    whole with these constraint values."""
    limits = [float(v) for v in values]
    system: dict[str, Any] = {"constraints": tuple(limits)}  # before 5.0: one tuple
    if sets_constraints(optuna):
        keys = constraint_keys(constraints, len(limits))
        system = {f"constraints:{key}": v for key, v in zip(keys, limits, strict=True)}
    return {"user_attrs": {CONSTRAINTS_ATTR: limits}, "system_attrs": system}
