"""`run`: one tuning run on a benchmark, in virtual time, as a table of its results.

The run is a real `Tuner.fit()`: the searcher and scheduler under test, the engine's event loop,
and a `SimulatedExecutor(n_workers=...)` that advances each trial's clock by the cost of its
evaluations (`time_this_iter_s`), so hours of training replay in seconds and the times in the
table are those a cluster of `n_workers` would have taken.

Observation noise: the i-th trial to start evaluates with the i-th value of
`evaluation_seeds(seed)` (`Benchmark.evaluate` turns it into a repeat of the table); another
method run with the same seed, e.g. an Optuna study evaluating the same benchmark, sees the
same noise by drawing its seeds the same way.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from schedulers import TrialScheduler
from searchers import Searcher
from tuner import (
    Callback,
    CheckpointConfig,
    RunConfig,
    SimulatedExecutor,
    Trainable,
    TuneConfig,
    Tuner,
)
from tuner.benchmarks._benchmark import COST, Benchmark
from tuner.output._loggers import DISABLE_ENV

SearcherFactory = Callable[[int], Searcher]
"""Builds a fresh searcher for one run from the run's seed."""

ROW_FIELDS = ("method", "seed", "evaluation", "trial", "epoch", "time", COST)
"""The columns every row starts with; the benchmark's columns and `config/<name>` follow."""


def evaluation_seeds(seed: int) -> Iterator[int]:
    """The noise seed of each evaluation of a run seeded `seed`, in the order they start."""
    rng = np.random.default_rng(seed)
    while True:
        yield int(rng.integers(2**31))


def _trainable(benchmark: Benchmark, seeds: Iterator[int], per_epoch: bool) -> type[Trainable]:
    class BenchmarkTrial(Trainable):
        """Walks the benchmark's learning curve (or its one final result), one step a result."""

        def setup(self, config: dict[str, Any]) -> None:
            # Trials of a SimulatedExecutor start one at a time in a fixed order: the draws
            # are the same every time the run is repeated.
            seed = next(seeds)
            self.curve = (benchmark.learning_curve(config, seed) if per_epoch
                          else [benchmark.evaluate(config, seed)])

        def step(self) -> dict[str, Any]:
            result: dict[str, Any] = dict(self.curve[self.iteration])
            result["done"] = self.iteration + 1 == len(self.curve)
            return result

        def save_checkpoint(self, checkpoint_dir: str) -> dict[str, Any]:
            # The engine restores the iteration; a trial that resumes with another config (a
            # PBT exploit) goes on along that config's curve from the epoch it reached.
            return {"epoch": self.iteration}

        def load_checkpoint(self, checkpoint: str | dict[str, Any]) -> None:
            pass

    return BenchmarkTrial


class _Recorder(Callback):
    """Keeps every result as a row, with the virtual time it arrived at."""

    def __init__(self, benchmark: Benchmark, executor: SimulatedExecutor, method: str,
                 seed: int) -> None:
        self.benchmark, self.executor = benchmark, executor
        self.method, self.seed = method, seed
        self.start = executor.clock.monotonic()
        self.trials: dict[str, int] = {}
        self.rows: list[dict[str, Any]] = []

    def on_trial_result(self, iteration: int, trials: Any, trial: Any, result: dict[str, Any],
                        **info: Any) -> None:
        index = self.trials.setdefault(trial.trial_id, len(self.trials))
        row: dict[str, Any] = {
            "method": self.method, "seed": self.seed, "evaluation": len(self.rows),
            "trial": index, "epoch": result["training_iteration"],
            "time": self.executor.clock.monotonic() - self.start, COST: result[COST],
        }
        row.update({column: result[column] for column in self.benchmark.columns})
        row.update({f"config/{name}": trial.config[name] for name in self.benchmark.space})
        self.rows.append(row)


def run(
    benchmark: Benchmark,
    searcher_factory: SearcherFactory,
    *,
    evaluations: int,
    seed: int,
    n_workers: int = 1,
    scheduler: TrialScheduler | None = None,
    per_epoch: bool = False,
    metric: str | list[str] | None = None,
    mode: str | list[str] | None = None,
    time_budget_s: float | None = None,
    checkpoint_frequency: int = 0,
    method: str | None = None,
) -> pd.DataFrame:
    """Tune `benchmark` with `searcher_factory(seed)`; one row per result, in arrival order.

    Args:
        benchmark: What to tune.
        searcher_factory: Builds the searcher from `seed` (e.g. ``lambda s: TPESearch(seed=s)``;
            `BasicVariantGenerator` is random search).
        evaluations: Trials to run (`TuneConfig(num_samples)`).
        seed: Seeds the searcher (through the factory), the Tuner and the observation noise.
        n_workers: Trials running at once on the simulated cluster.
        scheduler: A trial scheduler, e.g. ASHA; None for FIFO.
        per_epoch: Trials report the benchmark's learning curve, one result per epoch (for a
            multi-fidelity scheduler); by default each reports its final result once, at the
            cost of the whole training.
        metric: What the Tuner optimises; the benchmark's objectives by default. One metric
            for a single-objective scheduler, e.g. ``benchmark.metric[0]``.
        mode: The modes of `metric`; the benchmark's by default.
        time_budget_s: Virtual seconds after which the run ends (`TuneConfig(time_budget_s)`).
        checkpoint_frequency: Checkpoint every this many epochs (0: never), for a scheduler
            that copies checkpoints between trials (PBT).
        method: The `method` column; the searcher's class name by default.

    Returns:
        Columns `method`, `seed`, `evaluation` (the result's position in arrival order),
        `trial` (the trial's, in the order trials first reported), `epoch`, `time` (virtual
        seconds since the run began), `time_this_iter_s` (the result's cost), the benchmark's
        columns, and `config/<name>` for each parameter.

    Example:
        >>> from searchers import BasicVariantGenerator
        >>> from tuner.benchmarks import load, run
        >>> rows = run(load("naval_propulsion"), lambda s: BasicVariantGenerator(seed=s),
        ...            evaluations=5, seed=0)  # doctest: +SKIP
        >>> len(rows), rows["time"].is_monotonic_increasing  # doctest: +SKIP
        (5, True)
    """
    if isinstance(evaluations, bool) or not isinstance(evaluations, int) or evaluations < 1:
        raise ValueError(f"`evaluations` must be an int >= 1, got evaluations={evaluations!r}")
    searcher = searcher_factory(seed)
    executor = SimulatedExecutor(n_workers=n_workers, start_time=0.0)
    recorder = _Recorder(benchmark, executor, method or type(searcher).__name__, seed)
    if metric is None:
        metric, mode = benchmark.metric, mode or list(benchmark.mode)
    with (tempfile.TemporaryDirectory(prefix=f"bench-{benchmark.name}-") as storage,
          _without_output_files()):
        Tuner(
            _trainable(benchmark, evaluation_seeds(seed), per_epoch),
            param_space=dict(benchmark.space),
            tune_config=TuneConfig(
                metric=metric, mode=mode,  # type: ignore[arg-type]  # checked by TuneConfig
                search_alg=searcher, scheduler=scheduler, num_samples=evaluations,
                time_budget_s=time_budget_s, seed=seed,
            ),
            run_config=RunConfig(
                name=benchmark.name, storage_path=storage, verbose=0, callbacks=[recorder],
                checkpoint_config=CheckpointConfig(checkpoint_frequency=checkpoint_frequency)),
            executor=executor,
        ).fit()
    columns = [*ROW_FIELDS, *benchmark.columns, *(f"config/{n}" for n in benchmark.space)]
    return pd.DataFrame(recorder.rows, columns=columns)


@contextlib.contextmanager
def _without_output_files() -> Iterator[None]:
    """No result.json, progress.csv or TensorBoard files for the trials of a benchmark run
    (thousands of them, read by no one: the recorder keeps what is measured)."""
    earlier = os.environ.get(DISABLE_ENV)
    os.environ[DISABLE_ENV] = "1"
    try:
        yield
    finally:
        if earlier is None:
            os.environ.pop(DISABLE_ENV, None)
        else:
            os.environ[DISABLE_ENV] = earlier


def first(rows: pd.DataFrame, evaluations: int) -> pd.DataFrame:
    """The results of the first `evaluations` trials (in the order they first reported)."""
    return rows[rows["trial"] < evaluations]


def within(rows: pd.DataFrame, seconds: float) -> pd.DataFrame:
    """The results that arrived within `seconds` of virtual time."""
    return rows[rows["time"] <= seconds]
