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
)
from tuner.benchmarks import SyntheticBenchmark  # noqa: E402
from tuner.benchmarks._synthetic import branin, hartmann6, rosenbrock4  # noqa: E402

# The test functions of the benchmark suite (tuner.benchmarks._synthetic: formulas, bounds and
# known minima), evaluated directly here, without a Tuner in between.
PROBLEMS: list[SyntheticBenchmark] = [branin(), hartmann6(), rosenbrock4()]

METHODS: dict[str, Callable[[int], Searcher]] = {
    "random": lambda seed: BasicVariantGenerator(seed=seed),
    "TPESearch": lambda seed: TPESearch(seed=seed),
    "BayesOptSearch": lambda seed: BayesOptSearch(seed=seed),
    "Optuna TPE": lambda seed: OptunaSearch(seed=seed),
}


def run(method: str, problem: SyntheticBenchmark, seed: int, evals: int) -> float:
    """The simple regret of one run."""
    searcher = METHODS[method](seed)
    searcher.set_search_properties("loss", "min", dict(problem.space))
    if isinstance(searcher, BasicVariantGenerator):
        searcher.set_num_samples(evals)
    best = math.inf
    for i in range(evals):
        config = searcher.suggest(str(i))
        if config is None or config is FINISHED:
            raise RuntimeError(f"{method} gave {config!r} at evaluation {i}")
        assert isinstance(config, dict)
        loss = problem.expected(config)
        best = min(best, loss)
        searcher.on_trial_complete(str(i), {"loss": loss})
    return best - problem.optimum


def latency_ms(method: str, observed: int, calls: int) -> float:
    """Median suggest() time with `observed` trials already observed (Hartmann-6)."""
    problem = PROBLEMS[1]
    rng = np.random.default_rng(0)
    searcher = METHODS[method](0)
    searcher.set_search_properties("loss", "min", dict(problem.space))
    points = [{f"x{j}": float(v) for j, v in enumerate(rng.random(6))} for _ in range(observed)]
    searcher.add_evaluated_points(points, [{"loss": problem.expected(p)} for p in points])
    times = []
    for i in range(calls + 1):
        start = time.perf_counter()
        config = searcher.suggest(f"t{i}")
        elapsed = time.perf_counter() - start
        if i:  # the first call includes one-off work (BayesOpt's cold hyperparameter fit)
            times.append(elapsed)
        assert isinstance(config, dict)
        searcher.on_trial_complete(f"t{i}", {"loss": problem.expected(config)})
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
