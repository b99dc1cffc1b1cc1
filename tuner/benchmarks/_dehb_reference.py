"""The reference DEHB (the `dehb` package of Awad et al.) on a benchmark, in the same virtual time
as `run`: its ask/tell interface driven by a simulated cluster of `n_workers`.

Each job DEHB asks for trains a config from scratch to the first whole epoch at or past its
fidelity (as a trial under a scheduler of ours stops at the first result that reaches its
budget, so that both pay the same for the same budget): the job costs the benchmark's seconds
for those epochs and reports the learning curve's value at the last of them. Workers take the next job as soon as they are free, DEHB's asynchronous way, so jobs
overlap as they would on a cluster, and results are told in the order they finish. The i-th
job to start evaluates with the i-th noise seed of `evaluation_seeds(seed)`, as `run`'s trials
do, so the two see the same noise.

`dehb` pins numpy below 2 but runs with numpy 2: install it with
``pip install --no-deps dehb ConfigSpace loguru``.
"""

from __future__ import annotations

import heapq
import logging
import math
import tempfile
import warnings
from typing import Any

import pandas as pd

from searchers import Categorical, Float, Integer
from tuner.benchmarks._benchmark import COST, Benchmark
from tuner.benchmarks._runner import ROW_FIELDS, evaluation_seeds

METHOD = "dehb-ref"

INSTALL = "pip install --no-deps dehb ConfigSpace loguru"
"""How to install the reference (its numpy<2 pin would otherwise downgrade numpy)."""


def run_reference_dehb(
    benchmark: Benchmark,
    *,
    seed: int,
    n_workers: int,
    time_budget_s: float,
    min_t: float = 1,
    reduction_factor: float = 3,
) -> pd.DataFrame:
    """The reference DEHB on `benchmark` for `time_budget_s` virtual seconds; one row per epoch
    of each job (`run`'s columns), in the order they arrived.

    Raises:
        SystemExit: `dehb` (or ConfigSpace) is not installed; the message says how.
    """
    try:
        from dehb import DEHB
        from loguru import logger as loguru_logger
    except ImportError as error:
        raise SystemExit(f"the reference DEHB needs the dehb package ({error}): {INSTALL}") \
            from None
    loguru_logger.disable("dehb")
    logging.getLogger("distributed").setLevel(logging.ERROR)
    objective = benchmark.objectives[0]
    sign = 1.0 if objective.mode == "min" else -1.0
    seeds = evaluation_seeds(seed)
    rows: list[dict[str, Any]] = []
    # dehb calls ConfigSpace functions that ConfigSpace 1.x deprecates: its warnings, not ours.
    with tempfile.TemporaryDirectory(prefix="dehb-ref-") as output, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        optimizer = DEHB(cs=configspace_of(benchmark), f=None, min_fidelity=min_t,
                         max_fidelity=benchmark.epochs, eta=reduction_factor, n_workers=1,
                         output_path=output, seed=seed, save_freq=None)
        running: list[tuple[float, int, dict[str, Any], float, dict[str, Any]]] = []
        now, started = 0.0, 0
        while True:
            while len(running) < n_workers and now < time_budget_s:
                job = optimizer.ask()
                config = dict(job["config"])
                epochs = epochs_for(float(job["fidelity"]), benchmark.epochs)
                curve = benchmark.learning_curve(config, next(seeds))[:epochs]
                # Every epoch's result is observed when it is done, as a trial's are (the
                # incumbent is the best result of any epoch): rows for them all.
                at = now
                for epoch, step in enumerate(curve, start=1):
                    at += float(step[COST])
                    rows.append({
                        "method": METHOD, "seed": seed, "trial": started, "epoch": epoch,
                        "time": at, COST: float(step[COST]),
                        **{column: step[column] for column in benchmark.columns},
                        **{f"config/{name}": config[name] for name in benchmark.space},
                    })
                heapq.heappush(running, (at, started, job, at - now, dict(curve[-1])))
                started += 1
            if not running:
                break
            now, _, job, cost, result = heapq.heappop(running)
            if now > time_budget_s:
                break
            optimizer.tell(job, {"fitness": sign * float(result[objective.metric]),
                                 "cost": cost})
    columns = [*ROW_FIELDS, *benchmark.columns, *(f"config/{n}" for n in benchmark.space)]
    arrived = sorted((row for row in rows if row["time"] <= time_budget_s),
                     key=lambda row: (row["time"], row["trial"]))
    for position, row in enumerate(arrived):
        row["evaluation"] = position
    return pd.DataFrame(arrived, columns=columns)


def epochs_for(fidelity: float, most: int) -> int:
    """The epochs a job of `fidelity` trains: the first whole one at or past it (a hair of
    float error below a whole number counts as that number), at most `most`."""
    return max(1, min(most, math.ceil(fidelity - 1e-9)))


def configspace_of(benchmark: Benchmark) -> Any:
    """The benchmark's space as a ConfigSpace: floats and integers with their log scales, a
    choice of numbers as an ordinal (in ascending order), other choices as categories."""
    import ConfigSpace as CS

    space = CS.ConfigurationSpace(seed=0)
    for name, domain in benchmark.space.items():
        if isinstance(domain, Float):
            space.add(CS.UniformFloatHyperparameter(name, domain.low, domain.high,
                                                    log=domain.log))
        elif isinstance(domain, Integer):
            space.add(CS.UniformIntegerHyperparameter(name, domain.low, domain.high - 1,
                                                      log=domain.log))
        elif isinstance(domain, Categorical) and all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            for v in domain.categories
        ):
            space.add(CS.OrdinalHyperparameter(name, sorted(domain.categories)))
        elif isinstance(domain, Categorical):
            space.add(CS.CategoricalHyperparameter(name, list(domain.categories)))
        else:
            raise ValueError(f"{benchmark.name}: no ConfigSpace equivalent for {name!r} "
                             f"({type(domain).__name__})")
    return space
