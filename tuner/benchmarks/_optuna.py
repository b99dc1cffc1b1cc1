"""Optuna's samplers on a benchmark, in Optuna's own loop: the peer the searchers are measured
against.

`run_optuna` runs ``optuna.create_study(sampler=...)`` with ask and tell, one trial at a time,
on the benchmark's space translated to Optuna's distributions (a `choice` becomes a
`CategoricalDistribution` of the same values, a `uniform` a `FloatDistribution`, a `randint`
an `IntDistribution`): nothing of this engine sits between the sampler and the benchmark. It
returns rows in the form of `tuner.benchmarks.run`'s, with the same observation noise for the
same seed (`evaluation_seeds`), so the two compare run by run.

Example:
    >>> import optuna  # doctest: +SKIP
    >>> from tuner.benchmarks import load, run_optuna
    >>> rows = run_optuna(load("naval_propulsion"), lambda seed: optuna.samplers.TPESampler(
    ...     seed=seed), evaluations=20, seed=0)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pandas as pd

from searchers import Categorical, Float, Integer
from tuner.benchmarks._benchmark import COST, Benchmark
from tuner.benchmarks._runner import ROW_FIELDS, evaluation_seeds


def _optuna() -> Any:
    try:
        import optuna
    except ImportError as error:
        raise ImportError("comparing with Optuna needs it installed: pip install optuna") from error
    return optuna


def distributions(benchmark: Benchmark) -> dict[str, Any]:
    """The benchmark's space as Optuna distributions.

    Raises:
        TypeError: a parameter of another kind than choice, uniform/loguniform or randint.
    """
    optuna = _optuna()
    dist = optuna.distributions
    out: dict[str, Any] = {}
    for name, domain in benchmark.space.items():
        if isinstance(domain, Categorical):
            out[name] = dist.CategoricalDistribution(list(domain.categories))
        elif isinstance(domain, Float) and domain.q is None:
            out[name] = dist.FloatDistribution(domain.low, domain.high, log=domain.log)
        elif isinstance(domain, Integer) and domain.q is None:
            out[name] = dist.IntDistribution(domain.low, domain.high - 1, log=domain.log)
        else:
            raise TypeError(f"{name}={domain!r}: run_optuna maps choice, uniform, loguniform "
                            "and randint only")
    return out


def run_optuna(
    benchmark: Benchmark,
    sampler_factory: Callable[[int], Any],
    *,
    evaluations: int,
    seed: int,
    method: str | None = None,
    multi_objective: bool = False,
) -> pd.DataFrame:
    """Tune `benchmark`'s first objective (every objective with `multi_objective`) with the
    Optuna sampler `sampler_factory(seed)`, one trial at a time; rows as `tuner.benchmarks.run`
    returns them (`time` is the sum of the evaluations' costs so far: one worker)."""
    optuna = _optuna()
    logging.getLogger("optuna").setLevel(logging.WARNING)
    space = distributions(benchmark)
    sampler = sampler_factory(seed)
    objectives = benchmark.objectives if multi_objective else benchmark.objectives[:1]
    study = optuna.create_study(
        directions=["minimize" if o.mode == "min" else "maximize" for o in objectives],
        sampler=sampler)
    name = method or f"optuna.{type(sampler).__name__}"
    seeds, clock, rows = evaluation_seeds(seed), 0.0, []
    for i in range(evaluations):
        trial = study.ask(space)
        result = benchmark.evaluate(trial.params, next(seeds))
        values = [result[o.metric] for o in objectives]
        study.tell(trial, values if multi_objective else values[0])
        clock += result[COST]
        rows.append({"method": name, "seed": seed, "evaluation": i, "trial": i, "epoch": 1,
                     "time": clock, **result,
                     **{f"config/{k}": trial.params[k] for k in benchmark.space}})
    columns = [*ROW_FIELDS, *benchmark.columns, *(f"config/{n}" for n in benchmark.space)]
    return pd.DataFrame(rows, columns=columns)
