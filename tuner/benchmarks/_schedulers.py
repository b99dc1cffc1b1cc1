"""The scheduler comparison of ``python -m tuner.benchmarks run --scheduler ...``: each method
(a searcher with a scheduler) on `workers` simulated workers, every trial reporting its learning
curve epoch by epoch, for a budget of virtual time, against random search under FIFO."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tuner.benchmarks._benchmark import COST, Benchmark
from tuner.benchmarks._regret import regret, summary

SCHEDULERS = ("fifo", "asha", "hyperband", "median", "pbt", "bohb", "bohb-asha", "dehb",
              "dehb-ref")
"""The methods --scheduler takes (FIFO is always run as the baseline): random search under each
scheduler; BOHB (`TuneBOHB` under `HyperBandForBOHB`, and under ASHA); `DEHB`; and the reference
`dehb` package in the same virtual time (`_dehb_reference`)."""

REDUCTION_FACTOR = 3
"""Of every successive-halving method (ASHA, HyperBand, BOHB, DEHB): the papers' eta."""


@dataclass(frozen=True)
class SchedulerMethod:
    """A searcher and a scheduler (None: FIFO), each built from the run's seed."""

    searcher: Callable[[int], Any]
    scheduler: Callable[[int], Any]
    checkpoint_frequency: int = 0
    population: bool = False
    """Trains one population to the end (PBT) instead of starting trials until the time is
    up."""


def method(name: str, benchmark: Benchmark) -> SchedulerMethod:
    """The searcher and scheduler `name` stands for on `benchmark`."""
    import schedulers
    import searchers

    metric, mode, epochs = benchmark.metric[0], benchmark.mode[0], benchmark.epochs
    rf = REDUCTION_FACTOR

    def random(seed: int) -> Any:
        return searchers.BasicVariantGenerator(seed=seed)

    def bohb(seed: int) -> Any:
        return searchers.TuneBOHB(seed=seed)

    def asha(seed: int) -> Any:
        return schedulers.ASHAScheduler(metric=metric, mode=mode, max_t=epochs, grace_period=1,
                                        reduction_factor=rf)

    if name == "fifo":
        return SchedulerMethod(random, lambda seed: None)
    if name == "asha":
        return SchedulerMethod(random, asha)
    if name == "hyperband":
        return SchedulerMethod(random, lambda seed: schedulers.HyperBandScheduler(
            metric=metric, mode=mode, max_t=epochs, reduction_factor=rf))
    if name == "median":
        return SchedulerMethod(random, lambda seed: schedulers.MedianStoppingRule(
            "training_iteration", metric=metric, mode=mode, grace_period=max(1, epochs // 10)))
    if name == "bohb":
        return SchedulerMethod(bohb, lambda seed: schedulers.HyperBandForBOHB(
            metric=metric, mode=mode, max_t=epochs, reduction_factor=rf))
    if name == "bohb-asha":
        return SchedulerMethod(bohb, asha)
    if name == "dehb":
        return SchedulerMethod(random, lambda seed: schedulers.DEHB(
            metric=metric, mode=mode, max_t=epochs, min_t=1, reduction_factor=rf, seed=seed))
    if name == "pbt":
        # Explore a neighbouring value of a choice (or resample it), every tenth of the run.
        return SchedulerMethod(random, lambda seed: schedulers.PopulationBasedTraining(
            "training_iteration", metric=metric, mode=mode,
            perturbation_interval=pbt_interval(benchmark),
            hyperparam_mutations={key: list(domain.categories)
                                  for key, domain in benchmark.space.items()
                                  if isinstance(domain, searchers.Categorical)}, seed=seed),
            checkpoint_frequency=pbt_interval(benchmark), population=True)
    raise ValueError(f"unknown scheduler {name!r}: use one of {', '.join(SCHEDULERS)}")


def pbt_interval(benchmark: Benchmark) -> int:
    """PBT perturbs (and its trials checkpoint) every tenth of a run."""
    return max(1, benchmark.epochs // 10)


def full_training_cost(benchmark: Benchmark, draws: int = 200) -> float:
    """The median cost in seconds of training a random config to the end."""
    rng = np.random.default_rng(0)
    costs = []
    for _ in range(draws):
        config = {name: domain.sample(rng) for name, domain in benchmark.space.items()}
        costs.append(benchmark.evaluate(config, 0)[COST])
    return float(np.median(costs))


def compare_schedulers(benchmark: Benchmark, names: list[str], *, seeds: int, workers: int,
                       budget: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """FIFO and each method of `names` for `budget` full trainings of virtual time on `workers`
    workers: the regret curves, and their summary at a quarter, half and all of the time."""
    from tuner.benchmarks._dehb_reference import METHOD, run_reference_dehb
    from tuner.benchmarks._runner import run

    if benchmark.epochs == 1:
        raise SystemExit(f"{benchmark.name} has no learning curves: schedulers need a "
                         "benchmark with epochs (a table's)")
    seconds = budget * full_training_cost(benchmark) / workers
    curves = []
    for name in ["fifo", *(n for n in names if n != "fifo")]:
        start = time.perf_counter()
        for seed in range(seeds):
            if name == METHOD:
                rows = run_reference_dehb(benchmark, seed=seed, n_workers=workers,
                                          time_budget_s=seconds,
                                          reduction_factor=REDUCTION_FACTOR)
            else:
                how = method(name, benchmark)
                rows = run(benchmark, how.searcher, seed=seed,
                           evaluations=4 * workers if how.population else 100_000,
                           n_workers=workers, per_epoch=True, scheduler=how.scheduler(seed),
                           metric=benchmark.metric[0], mode=benchmark.mode[0],
                           time_budget_s=seconds, method=name,
                           checkpoint_frequency=how.checkpoint_frequency)
            curves.append(regret(benchmark, rows))
        print(f"  {name}: {seeds} seeds in {time.perf_counter() - start:.1f} s", flush=True)
    curve = pd.concat(curves, ignore_index=True)
    return curve, summary(curve, seconds=[seconds / 4, seconds / 2, seconds])
