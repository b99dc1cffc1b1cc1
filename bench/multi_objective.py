"""Multi-objective search on tabular benchmarks (issue 15): normalised hypervolume, ours vs
Optuna's, and MO-ASHA vs ASHA per unit of training budget.

Part 1, searchers. On HPOLib naval_propulsion and parkinsons_telemonitoring (val_loss vs
model_size) and NAS-Bench-201 cifar10 (val_acc vs latency), each method runs --seeds seeds of
max(--evaluations) evaluations, one at a time, and the table shows the median [25%, 75%] over
seeds of the normalised hypervolume of the first 100 and 200 evaluations (higher is better):

- ours: random search (`BasicVariantGenerator`), MOTPE (`TPESearch` given the metric lists) and
  NSGA-II (`NSGA2Search`), each through `tuner.benchmarks.run`, a real `Tuner.fit()` on a
  `SimulatedExecutor(n_workers=1)` with `TuneConfig(metric=[...], mode=[...])`;
- Optuna's `TPESampler` and `NSGAIISampler` with their defaults, run directly with
  `optuna.create_study(directions=...)` and ask/tell on the same space (each parameter a
  categorical of the table's values), not through our `OptunaSearch`, so that they are Optuna's
  own loop with nothing of ours in between.

Every method evaluates the same benchmark function with the same noise: the i-th evaluation of
seed s reads repeat `evaluation_seeds(s)[i] % n_repeats` of its config's row. The hypervolume is
exact (`searchers._hypervolume`), in the box whose ideal and reference points are the best and
worst value of each objective over the whole table (log10 axes on HPOLib), the same for every
method and seed: see `tuner.benchmarks._hypervolume`. After the table, each of ours is compared
with Optuna's of the same family, seed by seed (same noise, so the pairs are matched).

Part 2, MO-ASHA vs ASHA on the HPOLib benchmarks, with random search on --workers simulated
workers and the same training budget each (--asha-budget times the table's mean training time,
in worker-seconds): FIFO (every trial trains all 100 epochs), ASHA on val_loss alone, and
MO-ASHA on both objectives (`ASHAScheduler(max_t=100, grace_period=1, reduction_factor=3)`
under a list of metrics). Every epoch's result counts, and the table shows the normalised
hypervolume reached after a quarter, half and all of the budget. The tables keep no per-epoch
values, so the learning curves are made up; this part passes `PowerLawCurves()` (a power law
onto the final value, curves that never cross; `tuner.benchmarks._curves`) instead of the
benchmarks' default `CrossingCurves`, so that its figures stay those the README reports. The
comparison measures which trials each scheduler spends its budget on, not how it copes with
curves that cross.

A method whose searcher is not importable is skipped with a note.

Usage:
    python bench/multi_objective.py                  # 10 seeds, 100 and 200 evaluations
    python bench/multi_objective.py --seeds 2 --evaluations 50,100 --methods random,optuna-tpe
    python bench/multi_objective.py --benchmarks naval_propulsion --no-asha
"""

from __future__ import annotations

import os
import sys

# Run as a script, this file's folder comes first on sys.path and bench/searchers.py would
# shadow the `searchers` package: drop the folder.
# One BLAS thread: the matrices are small, and threads spinning on a busy machine distort timings.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import logging  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import searchers  # noqa: E402
from schedulers import ASHAScheduler  # noqa: E402
from searchers import Categorical  # noqa: E402
from tuner.benchmarks import (  # noqa: E402
    BENCHMARKS,
    COST,
    Benchmark,
    PowerLawCurves,
    evaluation_seeds,
    first,
    load,
    normalized_hypervolume,
    run,
    within,
)

MO_BENCHMARKS = ("naval_propulsion", "parkinsons_telemonitoring", "nasbench201_cifar10")
"""The benchmarks the README's table shows (any other with two objectives may be named)."""

Runner = Callable[[Benchmark, int, int], pd.DataFrame]
"""(benchmark, evaluations, seed) -> the rows of one run."""


@dataclass(frozen=True)
class Method:
    name: str
    runner: Runner | None  # None: not importable here
    note: str = ""


def _ours(name: str, searcher: str, *, multi_objective: bool = True) -> Method:
    try:
        cls = getattr(searchers, searcher)
    except (ImportError, AttributeError) as error:
        return Method(name, None, f"searchers.{searcher} is not importable ({error})")
    if multi_objective and not getattr(cls, "supports_multi_objective", False):
        return Method(name, None, f"searchers.{searcher} does not take several objectives")

    def runner(benchmark: Benchmark, evaluations: int, seed: int) -> pd.DataFrame:
        return run(benchmark, lambda s: cls(seed=s), evaluations=evaluations, seed=seed,
                   method=name)

    return Method(name, runner)


def _optuna(name: str, sampler: str) -> Method:
    try:
        import optuna
    except ImportError as error:
        return Method(name, None, f"optuna is not importable ({error})")
    optuna.logging.set_verbosity(logging.WARNING)  # an application may; the library does not
    factory = getattr(optuna.samplers, sampler)

    def runner(benchmark: Benchmark, evaluations: int, seed: int) -> pd.DataFrame:
        distributions: dict[str, Any] = {}
        for param, domain in benchmark.space.items():
            if not isinstance(domain, Categorical):
                raise TypeError(f"{param}: only choice() spaces are mapped to Optuna here")
            distributions[param] = optuna.distributions.CategoricalDistribution(
                domain.categories)
        study = optuna.create_study(
            directions=["minimize" if m == "min" else "maximize" for m in benchmark.mode],
            sampler=factory(seed=seed),
        )
        seeds, clock, rows = evaluation_seeds(seed), 0.0, []
        for i in range(evaluations):
            trial = study.ask(distributions)
            result = benchmark.evaluate(trial.params, next(seeds))
            study.tell(trial, [result[m] for m in benchmark.metric])
            clock += result[COST]
            rows.append({"method": name, "seed": seed, "evaluation": i, "trial": i, "epoch": 1,
                         "time": clock, **result,
                         **{f"config/{k}": v for k, v in trial.params.items()}})
        return pd.DataFrame(rows)

    return Method(name, runner)


def methods() -> dict[str, Method]:
    """Every method by its --methods key (the importable ones have a runner)."""
    return {
        "random": _ours("random", "BasicVariantGenerator", multi_objective=False),
        "motpe": _ours("MOTPE", "TPESearch"),
        "nsga2": _ours("NSGA-II", "NSGA2Search"),
        "optuna-tpe": _optuna("Optuna TPE", "TPESampler"),
        "optuna-nsga2": _optuna("Optuna NSGA-II", "NSGAIISampler"),
    }


PAIRS = (("MOTPE", "Optuna TPE"), ("NSGA-II", "Optuna NSGA-II"))
"""Ours and Optuna's of the same family, compared seed by seed."""


def _cell(values: list[float]) -> str:
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    return f"{median:.4f} [{q1:.4f}, {q3:.4f}]"


def searcher_part(benchmarks: list[str], chosen: list[Method], seeds: int,
                  budgets: list[int]) -> None:
    width = 26
    print(f"Normalised hypervolume, median [25%, 75%] over {seeds} seeds (higher is better)\n")
    print("benchmark".ljust(27) + "evals" + "".join(m.name.rjust(width) for m in chosen))
    for name in benchmarks:
        benchmark = load(name)
        scores: dict[tuple[str, int], list[float]] = {}
        seconds: dict[str, float] = {}
        for method in chosen:
            assert method.runner is not None
            began = time.perf_counter()
            for seed in range(seeds):
                rows = method.runner(benchmark, max(budgets), seed)
                for budget in budgets:
                    scores.setdefault((method.name, budget), []).append(
                        normalized_hypervolume(benchmark, first(rows, budget)))
            seconds[method.name] = time.perf_counter() - began
        for budget in budgets:
            print(name.ljust(27) + f"{budget:5d}"
                  + "".join(_cell(scores[m.name, budget]).rjust(width) for m in chosen))
        print(" " * 27 + "  (s)" + "".join(f"{seconds[m.name]:.1f}".rjust(width)
                                            for m in chosen), flush=True)
        for ours, theirs in PAIRS:
            if (ours, budgets[0]) not in scores or (theirs, budgets[0]) not in scores:
                continue
            for budget in budgets:
                delta = np.subtract(scores[ours, budget], scores[theirs, budget])
                print(f"    {ours} - {theirs} at {budget}: median {np.median(delta):+.4f}, "
                      f"ours better in {int((delta > 0).sum())}/{seeds} seeds, "
                      f"tied in {int((delta == 0).sum())}")
        print(flush=True)


def _asha(epochs: int) -> ASHAScheduler:
    return ASHAScheduler(max_t=epochs, grace_period=1, reduction_factor=3)


def asha_part(benchmarks: list[str], seeds: int, workers: int, budget: float) -> None:
    curves = [name for name in benchmarks if load(name).epochs > 1]
    if not curves:
        print("MO-ASHA vs ASHA: skipped, none of the benchmarks has learning curves")
        return
    fractions = (0.25, 0.5, 1.0)
    print(f"MO-ASHA vs ASHA: random search on {workers} workers, the same training budget of "
          f"{budget:g} mean full trainings each; normalised hypervolume of every epoch's result "
          f"after a share of it, median [25%, 75%] over {seeds} seeds (made-up power-law learning "
          "curves that never cross: see the docstring)\n")
    print("benchmark".ljust(27) + "method".ljust(18) + "trials".rjust(7)
          + "".join(f"{f:.0%} of budget".rjust(26) for f in fractions) + "       s")
    for name in curves:
        # The README's figures were measured on power-law curves: keep them reproducible.
        benchmark = dataclasses.replace(load(name), curves=PowerLawCurves())
        epochs = benchmark.epochs
        cost = benchmark.cost_column
        mean_cost = float(np.mean([np.mean(row[cost]) for row in benchmark.table.rows.values()]))
        wall = budget * mean_cost / workers  # virtual seconds: the workers' budget shared out
        # label, whether ASHA stops trials, and what it ranks by (None: every objective)
        setups: list[tuple[str, bool, str | None, str | None]] = [
            ("FIFO", False, None, None),
            (f"ASHA ({benchmark.metric[0]})", True, benchmark.metric[0], benchmark.mode[0]),
            ("MO-ASHA", True, None, None),
        ]
        for label, stops, metric, mode in setups:
            began = time.perf_counter()
            hv: dict[float, list[float]] = {f: [] for f in fractions}
            trials = []
            for seed in range(seeds):
                rows = run(benchmark, lambda s: searchers.BasicVariantGenerator(seed=s),
                           evaluations=1_000_000, seed=seed, n_workers=workers,
                           scheduler=_asha(epochs) if stops else None, per_epoch=True, metric=metric, mode=mode,
                           time_budget_s=wall, method=label)
                trials.append(int(rows["trial"].max()) + 1)
                for f in fractions:
                    hv[f].append(normalized_hypervolume(benchmark, within(rows, f * wall)))
            print(name.ljust(27) + label.ljust(18) + f"{int(np.median(trials)):7d}"
                  + "".join(_cell(hv[f]).rjust(26) for f in fractions)
                  + f"{time.perf_counter() - began:8.1f}", flush=True)
        print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmarks", default=",".join(MO_BENCHMARKS),
                        help="comma-separated, of tuner.benchmarks' with two objectives "
                             f"(default {','.join(MO_BENCHMARKS)})")
    parser.add_argument("--seeds", type=int, default=10, help="runs per method and benchmark")
    parser.add_argument("--evaluations", default="100,200",
                        help="budgets at which the hypervolume is read, comma-separated")
    all_methods = methods()
    parser.add_argument("--methods", default=",".join(all_methods),
                        help=f"comma-separated, from {','.join(all_methods)}")
    parser.add_argument("--workers", type=int, default=4, help="simulated workers for ASHA")
    parser.add_argument("--asha-budget", type=float, default=20,
                        help="ASHA's training budget, in mean full trainings of the table")
    parser.add_argument("--no-asha", action="store_true", help="skip MO-ASHA vs ASHA")
    args = parser.parse_args()
    benchmarks = args.benchmarks.split(",")
    for name in benchmarks:
        if name not in BENCHMARKS:
            parser.error(f"no benchmark {name!r}: pick from {','.join(BENCHMARKS)}")
        if len(load(name).objectives) < 2:
            parser.error(f"{name} has one objective: pick one with two, e.g. "
                         f"{','.join(MO_BENCHMARKS)}")
    keys = args.methods.split(",")
    for key in keys:
        if key not in all_methods:
            parser.error(f"no method {key!r}: pick from {','.join(all_methods)}")
    budgets = sorted(int(b) for b in args.evaluations.split(","))

    began = time.perf_counter()
    chosen = []
    for key in keys:
        method = all_methods[key]
        if method.runner is None:
            print(f"note: skipping {method.name}: {method.note}")
        else:
            chosen.append(method)
    if chosen:
        searcher_part(benchmarks, chosen, args.seeds, budgets)
    if not args.no_asha:
        asha_part(benchmarks, args.seeds, args.workers, args.asha_budget)
    print(f"took {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
