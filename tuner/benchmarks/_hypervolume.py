"""Normalised hypervolume: how much of a benchmark's objective box a set of results covers.

Each objective is mapped onto [0, 1] by `Objective.normalize`: 0 at the best value anywhere in
the benchmark, 1 at the worst (in log10 on log axes). The hypervolume is then the exact one of
`searchers._hypervolume` against the reference point (1, ..., 1): 0 for nothing, 1 only for a
single result at the best value of every objective at once. Because the box comes from the
benchmark, not from the results, the number is comparable between methods, seeds and budgets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
import pandas as pd

from searchers._hypervolume import hypervolume
from searchers._ranking import Ranking
from tuner.benchmarks._benchmark import Benchmark


def normalized_points(
    benchmark: Benchmark, results: Sequence[Mapping[str, Any]] | pd.DataFrame
) -> np.ndarray:
    """The results as an (n, n_objectives) matrix on the normalised axes (lower is better).

    A NaN metric (a diverged run) lands beyond the reference point, as the engine ranks it.
    """
    records = (
        cast(list[dict[str, Any]], results.to_dict("records"))
        if isinstance(results, pd.DataFrame) else results
    )
    objectives = Ranking.of(benchmark.metric, benchmark.mode).objectives
    signed = objectives.to_matrix(records)  # 'max' metrics negated, NaN -> +inf
    signs = np.array([1.0 if mode == "min" else -1.0 for mode in objectives.modes])
    raw = signed * signs
    return np.array(
        [[o.normalize(float(v)) for o, v in zip(benchmark.objectives, row, strict=True)]
         for row in raw],
        dtype=float,
    ).reshape(len(raw), len(benchmark.objectives))


def normalized_hypervolume(
    benchmark: Benchmark, results: Sequence[Mapping[str, Any]] | pd.DataFrame
) -> float:
    """The hypervolume of `results` in the benchmark's normalised box (module docstring).

    Example:
        >>> from tuner.benchmarks import load
        >>> bench = load("naval_propulsion")  # doctest: +SKIP
        >>> normalized_hypervolume(bench, [{"val_loss": 1e-3, "model_size": 1e3}])
        ... # doctest: +SKIP
        0.74...
    """
    if len(results) == 0:
        return 0.0
    return hypervolume(normalized_points(benchmark, results), np.ones(len(benchmark.objectives)))
