"""`TuneConfig(num_samples)` caps the trials of every searcher and wrapper, in real fits.

As in Ray Tune: `num_samples` is the number of trials (repeats of a `Repeater` included), except
for grid search, whose grid is walked `num_samples` times.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from searchers import (
    BasicVariantGenerator,
    BayesOptSearch,
    ConcurrencyLimiter,
    OptunaSearch,
    Repeater,
    Searcher,
    SearchSignal,
    TPESearch,
    grid_search,
    randint,
    uniform,
)
from tuner import InProcessExecutor, ResultGrid, RunConfig, TuneConfig, Tuner, report

SPACE: dict[str, Any] = {"x": uniform(-2.0, 2.0), "y": uniform(-1.0, 1.0), "epochs": 2}


def objective(config: dict[str, Any]) -> None:
    for step in range(config["epochs"]):
        report({"loss": (config["x"] - 0.5) ** 2 + config["y"] ** 2 + 1.0 / (step + 1)})


class Endless(Searcher):
    """A searcher of one's own that never finishes and knows nothing of num_samples."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def suggest(self, trial_id: str) -> dict[str, Any] | SearchSignal | None:
        self.count += 1
        return {"x": self.count / 100, "y": 0.0, "epochs": 1}

    def on_trial_complete(
        self, trial_id: str, result: Mapping[str, Any] | None = None, error: bool = False
    ) -> None:
        pass


def fit(searcher: Searcher | None, num_samples: int, tmp_path: Path,
        space: dict[str, Any] | None = None) -> ResultGrid:
    return Tuner(
        objective,
        param_space=SPACE if space is None else space,
        tune_config=TuneConfig(metric="loss", mode="min", num_samples=num_samples,
                               search_alg=searcher, max_concurrent_trials=4),
        run_config=RunConfig(storage_path=str(tmp_path), name="n", verbose=0),
        executor=InProcessExecutor(),
    ).fit()


def _bvg() -> Searcher:
    return BasicVariantGenerator(seed=0)


def _tpe() -> Searcher:
    return TPESearch(n_startup_trials=3, seed=0)


def _bayesopt() -> Searcher:
    return BayesOptSearch(random_search_steps=3, seed=0)


def _optuna() -> Searcher:
    return OptunaSearch(seed=0)


SEARCHERS: dict[str, Callable[[], Searcher]] = {
    "basic": _bvg,
    "tpe": _tpe,
    "bayesopt": _bayesopt,
    "optuna": _optuna,
    "endless": Endless,
}
WRAPPED: dict[str, Callable[[], Searcher]] = {
    **SEARCHERS,
    **{f"limiter({k})": (lambda f=f: ConcurrencyLimiter(f(), max_concurrent=2))
       for k, f in SEARCHERS.items()},
    **{f"repeater({k})": (lambda f=f: Repeater(f(), repeat=3)) for k, f in SEARCHERS.items()},
    "limiter(repeater(tpe))": lambda: ConcurrencyLimiter(Repeater(_tpe(), 2), max_concurrent=3),
    "repeater(limiter(optuna))": lambda: Repeater(ConcurrencyLimiter(_optuna(), 2), repeat=2),
    "limiter(limiter(bayesopt))": lambda: ConcurrencyLimiter(
        ConcurrencyLimiter(_bayesopt(), max_concurrent=3), max_concurrent=2),
    "repeater(repeater(basic))": lambda: Repeater(Repeater(_bvg(), 2), repeat=2),
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", sorted(WRAPPED))
def test_exactly_num_samples_trials(name: str, tmp_path: Path) -> None:
    grid = fit(WRAPPED[name](), 7, tmp_path)
    assert len(grid) == 7
    assert grid.num_errors == 0
    assert all("loss" in r.metrics for r in grid)


def test_default_searcher_caps_too(tmp_path: Path) -> None:
    assert len(fit(None, 5, tmp_path)) == 5


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (_bvg, 3 * 2),  # the grid of 3, walked num_samples=2 times
        (lambda: ConcurrencyLimiter(_bvg(), max_concurrent=2), 3 * 2),
        (lambda: Repeater(_bvg(), repeat=2), 2),  # num_samples counts trials, repeats included
    ],
    ids=["basic", "limiter(basic)", "repeater(basic)"],
)
def test_grid_search_walks_the_grid_num_samples_times(
    make: Callable[[], Searcher], expected: int, tmp_path: Path
) -> None:
    space = {**SPACE, "x": grid_search([-1.0, 0.0, 1.0])}
    grid = fit(make(), 2, tmp_path, space)
    assert len(grid) == expected
    if expected == 6:
        assert sorted(r.config["x"] for r in grid) == [-1.0, -1.0, 0.0, 0.0, 1.0, 1.0]


def test_repeater_runs_each_config_repeat_times(tmp_path: Path) -> None:
    grid = fit(Repeater(_tpe(), repeat=3), 9, tmp_path)
    xs = sorted(r.config["x"] for r in grid)
    assert len(xs) == 9 and len(set(xs)) == 3
    assert sorted(r.config["__trial_index__"] for r in grid) == [0, 0, 0, 1, 1, 1, 2, 2, 2]


def test_points_beyond_num_samples_of_a_model_searcher_are_cut(tmp_path: Path) -> None:
    points = [{"x": v / 10} for v in range(5)]
    grid = fit(TPESearch(points_to_evaluate=points, seed=0), 3, tmp_path)
    assert sorted(r.config["x"] for r in grid) == [0.0, 0.1, 0.2]


@pytest.mark.timeout(120)
def test_bayesopt_patience_ends_the_fit_before_num_samples(tmp_path: Path) -> None:
    space = {"x": randint(0, 3), "y": 0.0, "epochs": 1}
    searcher = ConcurrencyLimiter(BayesOptSearch(random_search_steps=2, patience=2, seed=0), 2)
    grid = fit(searcher, 50, tmp_path, space)
    xs = [r.config["x"] for r in grid]
    assert len(xs) == len(set(xs)) <= 3  # duplicates were skipped, then the search converged
