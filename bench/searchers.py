"""Searchers on standard test functions: median simple regret and suggest() latency.

Random search (BasicVariantGenerator), TPESearch, BayesOptSearch and OptunaSearch (Optuna's
TPESampler) each minimise Branin, Hartmann-6 and Rosenbrock-4, whose optima are known, for
`--evals` evaluations and `--seeds` seeds. The table shows the median over seeds of the simple
regret (best value found minus the optimum). Then the median latency of `suggest()` with 1,000
observed trials, for TPESearch and BayesOptSearch.

Usage:
    python bench/searchers.py                    # 100 evaluations x 10 seeds (a few minutes)
    python bench/searchers.py --evals 30 --seeds 2
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Run as a script, this file's folder comes first on sys.path and its name would shadow the
# `searchers` package: drop the folder.
# One BLAS thread: the matrices are small, and threads spinning on a busy machine distort timings.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import numpy as np  # noqa: E402

from searchers import (  # noqa: E402
    FINISHED,
    BasicVariantGenerator,
    BayesOptSearch,
    OptunaSearch,
    Searcher,
    TPESearch,
    uniform,
)

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
_HARTMANN_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


@dataclass(frozen=True)
class Problem:
    """A test function over named float parameters, with its known minimum."""

    name: str
    bounds: list[tuple[float, float]]
    minimum: float
    function: Callable[[np.ndarray], float]

    def space(self) -> dict[str, Any]:
        return {f"x{i}": uniform(low, high) for i, (low, high) in enumerate(self.bounds)}

    def __call__(self, config: dict[str, Any]) -> float:
        return self.function(np.array([config[f"x{i}"] for i in range(len(self.bounds))]))


def branin(x: np.ndarray) -> float:
    b, c = 5.1 / (4 * math.pi**2), 5 / math.pi
    r, s, t = 6.0, 10.0, 1 / (8 * math.pi)
    return float((x[1] - b * x[0] ** 2 + c * x[0] - r) ** 2 + s * (1 - t) * math.cos(x[0]) + s)


def hartmann6(x: np.ndarray) -> float:
    inner = (_HARTMANN_A * (x[None, :] - _HARTMANN_P) ** 2).sum(axis=1)
    return float(-(_HARTMANN_ALPHA * np.exp(-inner)).sum())


def rosenbrock(x: np.ndarray) -> float:
    return float((100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum())


PROBLEMS = [
    Problem("Branin", [(-5.0, 10.0), (0.0, 15.0)], 0.397887357729738, branin),
    Problem("Hartmann-6", [(0.0, 1.0)] * 6, -3.32236801141551, hartmann6),
    Problem("Rosenbrock-4", [(-5.0, 10.0)] * 4, 0.0, rosenbrock),
]

METHODS: dict[str, Callable[[int], Searcher]] = {
    "random": lambda seed: BasicVariantGenerator(seed=seed),
    "TPESearch": lambda seed: TPESearch(seed=seed),
    "BayesOptSearch": lambda seed: BayesOptSearch(seed=seed),
    "Optuna TPE": lambda seed: OptunaSearch(seed=seed),
}


def run(method: str, problem: Problem, seed: int, evals: int) -> float:
    """The simple regret of one run."""
    searcher = METHODS[method](seed)
    searcher.set_search_properties("loss", "min", problem.space())
    if isinstance(searcher, BasicVariantGenerator):
        searcher.set_num_samples(evals)
    best = math.inf
    for i in range(evals):
        config = searcher.suggest(str(i))
        if config is None or config is FINISHED:
            raise RuntimeError(f"{method} gave {config!r} at evaluation {i}")
        assert isinstance(config, dict)
        loss = problem(config)
        best = min(best, loss)
        searcher.on_trial_complete(str(i), {"loss": loss})
    return best - problem.minimum


def latency_ms(method: str, observed: int, calls: int) -> float:
    """Median suggest() time with `observed` trials already observed (Hartmann-6)."""
    problem = PROBLEMS[1]
    rng = np.random.default_rng(0)
    searcher = METHODS[method](0)
    searcher.set_search_properties("loss", "min", problem.space())
    points = [{f"x{j}": float(v) for j, v in enumerate(rng.random(6))} for _ in range(observed)]
    searcher.add_evaluated_points(points, [{"loss": problem(p)} for p in points])
    times = []
    for i in range(calls + 1):
        start = time.perf_counter()
        config = searcher.suggest(f"t{i}")
        elapsed = time.perf_counter() - start
        if i:  # the first call includes one-off work (BayesOpt's cold hyperparameter fit)
            times.append(elapsed)
        assert isinstance(config, dict)
        searcher.on_trial_complete(f"t{i}", {"loss": problem(config)})
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evals", type=int, default=100, help="evaluations per run")
    parser.add_argument("--seeds", type=int, default=10, help="runs per method and function")
    parser.add_argument("--observed", type=int, default=1000, help="observations for latency")
    parser.add_argument("--calls", type=int, default=20, help="suggest() calls timed")
    args = parser.parse_args()
    import optuna

    optuna.logging.set_verbosity(logging.WARNING)  # an application may; the library does not

    width = max(len(m) for m in METHODS) + 2
    print(f"Median simple regret over {args.seeds} seeds, {args.evals} evaluations each "
          "(lower is better)\n")
    print("function".ljust(14) + "".join(m.rjust(width) for m in METHODS) + "   seconds")
    for problem in PROBLEMS:
        row = problem.name.ljust(14)
        start = time.perf_counter()
        for method in METHODS:
            regrets = [run(method, problem, seed, args.evals) for seed in range(args.seeds)]
            row += f"{statistics.median(regrets):.4g}".rjust(width)
        print(row + f"{time.perf_counter() - start:10.1f}", flush=True)
    print(f"\nMedian suggest() latency with {args.observed} observed trials (Hartmann-6):")
    for method in ("TPESearch", "BayesOptSearch"):
        print(f"  {method:<16}{latency_ms(method, args.observed, args.calls):8.1f} ms", flush=True)


if __name__ == "__main__":
    main()
