"""Synthetic test functions as benchmarks: Branin, Hartmann-6 and Rosenbrock-4.

These are the usual continuous test functions of Bayesian optimisation (formulas and optima as
in Surjanovic and Bingham's Virtual Library of Simulation Experiments). They have no noise and
no training time: every evaluation costs `cost` seconds (1 by default, so that virtual time
counts evaluations), and `expected` is the function itself.

Example:
    >>> bench = branin()
    >>> round(bench.evaluate({"x0": -math.pi, "x1": 12.275}, seed=0)["value"], 6)
    0.397887
    >>> bench.optimum
    0.397887357729738
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from searchers import uniform
from tuner.benchmarks._benchmark import COST, Benchmark, Objective

METRIC = "value"
"""The one column a synthetic benchmark reports (besides its cost)."""


@dataclass(frozen=True, eq=False, kw_only=True)
class SyntheticBenchmark(Benchmark):
    """A test function over the float parameters ``x0``, ``x1``, ... (minimised).

    Attributes:
        function: The function of the parameters' values, in order.
        bounds: Each parameter's (low, high).
        minimum: The function's known global minimum (the regret's zero).
        cost: The seconds one evaluation takes in virtual time.
    """

    function: Callable[[np.ndarray], float] = field(repr=False)
    bounds: tuple[tuple[float, float], ...]
    minimum: float
    cost: float = 1.0

    @property
    def continuous(self) -> bool:
        return True

    @property
    def optimum(self) -> float:
        return self.minimum

    def expected(self, config: Mapping[str, Any]) -> float:
        return self.function(np.array([float(config[f"x{i}"]) for i in range(len(self.bounds))]))

    def evaluate(self, config: Mapping[str, Any], seed: int) -> dict[str, float]:
        return {METRIC: self.expected(config), COST: self.cost}


def _branin(x: np.ndarray) -> float:
    b, c = 5.1 / (4 * math.pi**2), 5 / math.pi
    r, s, t = 6.0, 10.0, 1 / (8 * math.pi)
    return float((x[1] - b * x[0] ** 2 + c * x[0] - r) ** 2 + s * (1 - t) * math.cos(x[0]) + s)


_HARTMANN_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_HARTMANN_A = np.array([
    [10, 3, 17, 3.5, 1.7, 8],
    [0.05, 10, 17, 0.1, 8, 14],
    [3, 3.5, 1.7, 10, 17, 8],
    [17, 8, 0.05, 10, 0.1, 14],
])
_HARTMANN_P = 1e-4 * np.array([
    [1312, 1696, 5569, 124, 8283, 5886],
    [2329, 4135, 8307, 3736, 1004, 9991],
    [2348, 1451, 3522, 2883, 3047, 6650],
    [4047, 8828, 8732, 5743, 1091, 381],
])


def _hartmann6(x: np.ndarray) -> float:
    inner = (_HARTMANN_A * (x[None, :] - _HARTMANN_P) ** 2).sum(axis=1)
    return float(-(_HARTMANN_ALPHA * np.exp(-inner)).sum())


def _rosenbrock(x: np.ndarray) -> float:
    return float((100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum())


def _synthetic(name: str, function: Callable[[np.ndarray], float],
               bounds: list[tuple[float, float]], minimum: float) -> SyntheticBenchmark:
    # The objective's worst value (the hypervolume's reference point): the largest of 20,000
    # uniform draws over the box, the same every time.
    low, high = np.array(bounds).T
    draws = np.random.default_rng(0).uniform(low, high, size=(20_000, len(bounds)))
    worst = max(function(x) for x in draws)
    return SyntheticBenchmark(
        name=name,
        space={f"x{i}": uniform(low, high) for i, (low, high) in enumerate(bounds)},
        objectives=(Objective(METRIC, "min", best=minimum, worst=worst),),
        columns=(METRIC,),
        function=function,
        bounds=tuple(bounds),
        minimum=minimum,
    )


@functools.cache
def branin() -> SyntheticBenchmark:
    """Branin over [-5, 10] x [0, 15]: three global minima of 0.397887."""
    return _synthetic("branin", _branin, [(-5.0, 10.0), (0.0, 15.0)], 0.397887357729738)


@functools.cache
def hartmann6() -> SyntheticBenchmark:
    """Hartmann-6 over [0, 1]^6: one global minimum of -3.32237."""
    return _synthetic("hartmann6", _hartmann6, [(0.0, 1.0)] * 6, -3.32236801141551)


@functools.cache
def rosenbrock4() -> SyntheticBenchmark:
    """Rosenbrock in 4 dimensions over [-5, 10]^4: its minimum 0 at (1, 1, 1, 1)."""
    return _synthetic("rosenbrock4", _rosenbrock, [(-5.0, 10.0)] * 4, 0.0)
