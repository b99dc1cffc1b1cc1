"""Constraints on reported metrics, such as `"memory_mb <= 512"`: parsing, violation, feasibility.

The grammar is one comparison per string::

    constraint := name op number
    name       := one or more of A-Z a-z 0-9 _ / . -     (metric keys such as val/acc)
    op         := "<=" | ">=" | "<" | ">"
    number     := [+-] (digits [. [digits]] | . digits) [(e|E) [+-] digits]    (finite)

with any whitespace around the parts. A trial is feasible when every constraint holds; its
total violation is the sum, over constraints, of how far the value is on the wrong side of the
bound: `max(0, value - bound)` for `<=` and `<`, `max(0, bound - value)` for `>=` and `>`.
As in Deb et al. 2002 and Optuna's `constraints_func`, the sum is not normalised: the
constraints' units weigh it, which matters only among infeasible trials.

Strict operators: `x < b` holds iff x < b, so x == b breaks it, yet is on the wrong side by
nothing. Its violation is therefore 0 while the trial is infeasible: feasibility is not
`violation == 0` but its own flag (`Feasibility.feasible`), and the ranking functions of
`searchers._pareto` take it as `feasible=`. Such a trial ranks after every feasible one and
before every trial with a positive violation. (Adding a tiny epsilon instead would make the
violation depend on the bound's scale and could be absorbed in rounding.)

NaN never satisfies a constraint and violates it infinitely: a diverged metric ranks last.

numpy is not imported: `TuneConfig` can parse constraints on the `import tuner` path.

Example:
    >>> limits = parse_constraints(["memory_mb <= 512", "val/acc >= 0.9"])
    >>> check_constraints(limits, {"memory_mb": 600, "val": {"acc": 0.95}})
    Feasibility(feasible=False, violation=88.0)
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from searchers._pareto import read_metric

_OPS = ("<=", ">=", "<", ">")
_NAME = r"[A-Za-z0-9_/.\-]+"
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_OP = r"<=|>=|<|>"
_CONSTRAINT = re.compile(rf"\s*(?P<metric>{_NAME})\s*(?P<op>{_OP})\s*(?P<bound>{_NUMBER})\s*")
_REVERSED = re.compile(rf"\s*(?P<bound>{_NUMBER})\s*(?P<op>{_OP})\s*(?P<metric>{_NAME})\s*")
_FLIPPED = {"<=": ">=", ">=": "<=", "<": ">", ">": "<"}
_GRAMMAR = (
    "'<metric> <op> <number>' with <op> one of <=, >=, <, > and the metric first, "
    "e.g. 'memory_mb <= 512' or 'val/acc >= 9e-1'"
)


@dataclass(frozen=True)
class Constraint:
    """`metric op bound`: one limit on a reported metric.

    Attributes:
        metric: The result key (`a/b` also reads `result["a"]["b"]`).
        op: "<=", ">=", "<" or ">".
        bound: A finite number.

    Example:
        >>> Constraint("latency_ms", "<", 20.0).violation(25.0)
        5.0
    """

    metric: str
    op: str
    bound: float

    def __post_init__(self) -> None:
        if not isinstance(self.metric, str) or not self.metric:
            raise ValueError(
                f"a constraint's metric must be a non-empty string, got {self.metric!r}: "
                "name a reported key, e.g. Constraint('memory_mb', '<=', 512)"
            )
        if self.op not in _OPS:
            raise ValueError(
                f"a constraint's op must be one of {', '.join(_OPS)}, got op={self.op!r}: "
                "write 'memory_mb <= 512' (no == or !=)"
            )
        bound = self.bound
        if isinstance(bound, bool) or not isinstance(bound, numbers.Real) or not math.isfinite(
            bound
        ):
            raise ValueError(
                f"a constraint's bound must be a finite number, got bound={bound!r} for "
                f"'{self.metric} {self.op} ...': give a number such as 512 or 1e-3"
            )
        object.__setattr__(self, "bound", float(bound))

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.bound!r}"

    def satisfied(self, value: float) -> bool:
        """Whether `value` meets the constraint; NaN never does, and strict ops exclude the
        bound itself."""
        if self.op == "<=":
            return value <= self.bound
        if self.op == "<":
            return value < self.bound
        if self.op == ">=":
            return value >= self.bound
        return value > self.bound

    def violation(self, value: float) -> float:
        """How far `value` lies on the wrong side of the bound: 0 if none (even at the bound of
        a strict op, which `satisfied` rejects), inf for NaN."""
        if math.isnan(value):
            return math.inf
        excess = value - self.bound if self.op in ("<=", "<") else self.bound - value
        return max(0.0, excess)


@dataclass(frozen=True)
class Feasibility:
    """How a result stands against the constraints.

    Attributes:
        feasible: Every constraint holds.
        violation: The total violation, >= 0 (0 when feasible; also 0 when the only broken
            constraints are strict ones met with equality).
    """

    feasible: bool
    violation: float


def parse_constraint(text: str) -> Constraint:
    """One constraint from its string, such as `"memory_mb <= 512"` (grammar: module docstring).

    Raises:
        TypeError: `text` is not a string.
        ValueError: `text` does not follow the grammar; the message shows it and an example.
    """
    if not isinstance(text, str):
        raise TypeError(
            f"a constraint must be a string such as 'memory_mb <= 512', got {text!r} "
            f"({type(text).__name__})"
        )
    match = _CONSTRAINT.fullmatch(text)
    if match is None:
        reversed_ = _REVERSED.fullmatch(text)
        hint = ""
        if reversed_ is not None:
            flipped = _FLIPPED[reversed_["op"]]
            hint = f" (did you mean '{reversed_['metric']} {flipped} {reversed_['bound']}'?)"
        raise ValueError(f"cannot parse constraint {text!r}{hint}: the grammar is {_GRAMMAR}")
    return Constraint(match["metric"], match["op"], float(match["bound"]))


def parse_constraints(texts: Sequence[str]) -> tuple[Constraint, ...]:
    """The constraints of `TuneConfig(constraints=[...])`, in order.

    Example:
        >>> [str(c) for c in parse_constraints(["memory_mb<=512", "accuracy >= .9"])]
        ['memory_mb <= 512.0', 'accuracy >= 0.9']
    """
    if isinstance(texts, str):
        raise TypeError(
            f"constraints must be a list of strings, got the string {texts!r}: wrap it in a "
            f"list, constraints=[{texts!r}]"
        )
    return tuple(parse_constraint(text) for text in texts)


def check_constraints(constraints: Sequence[Constraint], result: Mapping[str, Any]) -> Feasibility:
    """Whether `result` meets every constraint, and its total violation.

    Raises:
        MetricNotReportedError: a constraint's metric is not in the result (a `KeyError`).
        TypeError: a constraint's metric holds something other than a number.
    """
    fix = "change TuneConfig(constraints=...)"
    feasible, total = True, 0.0
    for constraint in constraints:
        value = read_metric(result, constraint.metric, fix=fix, what="constraint metric")
        feasible = feasible and constraint.satisfied(value)
        total += constraint.violation(value)
    return Feasibility(feasible, total)


def total_violation(constraints: Sequence[Constraint], result: Mapping[str, Any]) -> float:
    """The summed violation of `result` (`check_constraints(...).violation`); 0 does not by
    itself mean feasible where a strict constraint sits on its bound."""
    return check_constraints(constraints, result).violation
