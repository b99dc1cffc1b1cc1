"""The methods the benchmark command compares, by name: our searchers, Optuna's samplers, and
the schedulers.

A `Method` runs one seed of one benchmark and returns its rows (`tuner.benchmarks.run`'s
form). Ours go through a real `Tuner.fit()` on a `SimulatedExecutor`; Optuna's through its own
ask-and-tell loop (`run_optuna`). `available` says whether a method can run here, and why not.

Example:
    >>> sorted(SEARCHERS)[:3]
    ['bayesopt', 'nsga2', 'optuna-gp']
    >>> PEERS["tpe"]
    ('optuna-tpe',)
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from tuner.benchmarks._benchmark import Benchmark


@dataclass(frozen=True)
class Method:
    """One way of tuning a benchmark.

    Attributes:
        name: Its key on the command line, e.g. 'tpe'.
        label: Its name in tables and plots, e.g. 'TPESearch'.
        build: The searcher (ours) or the sampler (Optuna's) for a seed.
        optuna: Whether `build` makes an Optuna sampler.
        continuous_only: Whether it searches only spaces of numbers in ranges (GP models).
        needs: Other modules it imports (Optuna's GPSampler needs scipy and torch).
    """

    name: str
    label: str
    build: Callable[[int], Any]
    optuna: bool = False
    continuous_only: bool = False
    needs: tuple[str, ...] = ()

    def available(self, benchmark: Benchmark, *, multi_objective: bool = False) -> str | None:
        """Why this method cannot run `benchmark` here (on every objective with
        `multi_objective`), or None if it can."""
        if multi_objective and self.continuous_only:
            return f"{self.label} is compared on one objective only"
        for module in ("optuna",) * self.optuna + self.needs:
            if importlib.util.find_spec(module) is None:
                return f"{self.label} needs {module}, which is not installed (pip install {module})"
        if self.continuous_only and not benchmark.continuous:
            return f"{self.label} searches continuous spaces; {benchmark.name} is a table"
        return None

    def run(self, benchmark: Benchmark, *, evaluations: int, seed: int,
            multi_objective: bool = False) -> pd.DataFrame:
        """One run of `evaluations` trials, one at a time, on the first objective (every
        objective with `multi_objective`)."""
        from tuner.benchmarks._optuna import run_optuna
        from tuner.benchmarks._runner import run

        if self.optuna:
            return run_optuna(benchmark, self.build, evaluations=evaluations, seed=seed,
                              method=self.label, multi_objective=multi_objective)
        # One objective by name, not as a list of one: a list asks for multi-objective search.
        metric: str | list[str] = benchmark.metric if multi_objective else benchmark.metric[0]
        mode: str | list[str] = list(benchmark.mode) if multi_objective else benchmark.mode[0]
        return run(benchmark, self.build, evaluations=evaluations, seed=seed, method=self.label,
                   metric=metric, mode=mode)


def _ours(name: str) -> Callable[[int], Any]:
    def build(seed: int) -> Any:
        import searchers

        return getattr(searchers, name)(seed=seed)

    return build


def _sampler(name: str) -> Callable[[int], Any]:
    def build(seed: int) -> Any:
        import optuna

        return getattr(optuna.samplers, name)(seed=seed)

    return build


SEARCHERS: dict[str, Method] = {
    method.name: method for method in (
        Method("random", "random search", _ours("BasicVariantGenerator")),
        Method("tpe", "TPESearch", _ours("TPESearch")),
        Method("bayesopt", "BayesOptSearch", _ours("BayesOptSearch"), continuous_only=True),
        Method("optuna-tpe", "Optuna TPESampler", _sampler("TPESampler"), optuna=True),
        Method("optuna-gp", "Optuna GPSampler", _sampler("GPSampler"), optuna=True,
               continuous_only=True, needs=("scipy", "torch")),
        Method("optuna-random", "Optuna RandomSampler", _sampler("RandomSampler"), optuna=True),
        Method("nsga2", "NSGA2Search", _ours("NSGA2Search")),
        Method("optuna-nsga2", "Optuna NSGAIISampler", _sampler("NSGAIISampler"), optuna=True),
    )
}
"""Every searcher the command knows, by name."""

PEERS: dict[str, tuple[str, ...]] = {
    "tpe": ("optuna-tpe",),
    "bayesopt": ("optuna-gp",),
    "random": ("optuna-random",),
    "nsga2": ("optuna-nsga2",),
}
"""Ours -> the Optuna samplers it is measured against."""
