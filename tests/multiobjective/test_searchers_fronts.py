"""Every multi-objective searcher, end to end: its Pareto front beats random search's.

The problem is ZDT1 (Zitzler, Deb and Thiele 2000) on 4 variables in [0, 1], both objectives
minimised, with a constraint that cuts off part of the true front and two thirds of the space:

    f1 = x0,   g = 1 + 3 (x1 + x2 + x3),   f2 = g (1 - sqrt(f1 / g)),   cost = x0 + x1 <= 0.8

Each searcher runs 80 trials on 2 simulated workers through the real `Tuner`, with
`TuneConfig(metric=["f1", "f2"], mode=["min", "min"], constraints=["cost <= 0.8"])`, and so does
random search with the same seeds. The hypervolume of each run's front
(`ResultGrid.hypervolume`, against the reference point (1.1, 4)) is compared by its median over
three seeds. The medians when this was written (the true constrained front's is about 4.05):

    random search (BasicVariantGenerator)                 1.96
    TPESearch (MOTPE split, c-TPE ordering)               3.49   x1.78
    NSGA2Search(population_size=20)                       3.10   x1.58
    OptunaSearch, TPESampler (Optuna's MOTPE)             3.35   x1.71
    OptunaSearch, NSGAIISampler(population_size=20)       2.75   x1.40

The test asks for 1.3 times random search's median, which every searcher clears and a searcher
that ignored the objectives or the constraint would not (random search is the one that ignores
both).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from searchers import BasicVariantGenerator, NSGA2Search, OptunaSearch, Searcher, TPESearch
from tuner import RunConfig, SimulatedExecutor, TuneConfig, Tuner, report, uniform

SEEDS = (0, 1, 2)
TRIALS = 80
REFERENCE = (1.1, 4.0)
MARGIN = 1.3


def zdt1(config: dict[str, Any]) -> None:
    x = [config[f"x{i}"] for i in range(4)]
    g = 1 + 3 * sum(x[1:])
    f1 = x[0]
    report({"f1": f1, "f2": g * (1 - math.sqrt(f1 / g)), "cost": x[0] + x[1],
            "time_this_iter_s": 1.0})


def front_hypervolume(searcher: Searcher, path: Path) -> float:
    grid = Tuner(
        zdt1,
        param_space={f"x{i}": uniform(0, 1) for i in range(4)},
        tune_config=TuneConfig(metric=["f1", "f2"], mode=["min", "min"],
                               constraints=["cost <= 0.8"], num_samples=TRIALS,
                               search_alg=searcher),
        run_config=RunConfig(storage_path=str(path), name="zdt1", verbose=0),
        executor=SimulatedExecutor(n_workers=2, start_time=0.0),
    ).fit()
    assert len(grid) == TRIALS and not grid.errors
    return grid.hypervolume(REFERENCE)


@cache
def random_median(tmp_root: Path) -> float:
    return statistics.median(
        front_hypervolume(BasicVariantGenerator(seed=seed), tmp_root / f"random{seed}")
        for seed in SEEDS
    )


def optuna_sampler(kind: str) -> Callable[[int], Any]:
    optuna = pytest.importorskip("optuna")
    if kind == "tpe":
        return lambda seed: optuna.samplers.TPESampler(seed=seed)
    return lambda seed: optuna.samplers.NSGAIISampler(population_size=20, seed=seed)


SEARCHERS: dict[str, Callable[[int], Searcher]] = {
    "tpe": lambda seed: TPESearch(seed=seed),
    "nsga2": lambda seed: NSGA2Search(population_size=20, seed=seed),
    "optuna-tpe": lambda seed: OptunaSearch(sampler=optuna_sampler("tpe")(seed)),
    "optuna-nsga2": lambda seed: OptunaSearch(sampler=optuna_sampler("nsga2")(seed)),
}


@pytest.fixture(scope="module")
def random_search(tmp_path_factory: pytest.TempPathFactory) -> float:
    return random_median(tmp_path_factory.mktemp("random"))


@pytest.mark.parametrize("name", list(SEARCHERS))
def test_the_front_beats_random_search(name: str, random_search: float, tmp_path: Path) -> None:
    volumes = [front_hypervolume(SEARCHERS[name](seed), tmp_path / f"{name}{seed}")
               for seed in SEEDS]
    ours = statistics.median(volumes)
    print(f"{name}: median {ours:.3f} {[round(v, 3) for v in volumes]}, random {random_search:.3f}")
    assert ours > MARGIN * random_search, (volumes, random_search)
