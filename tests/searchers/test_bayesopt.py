"""BayesOptSearch with Ray Tune's arguments: acquisitions, duplicates and patience, analysis."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from searchers import FINISHED, BayesOptSearch, loguniform, randint, uniform
from searchers._acquisition import Acquisition, Utility
from tuner import InProcessExecutor, RunConfig, TuneConfig, Tuner, report


def quadratic(config: dict[str, Any]) -> float:
    return (config["x"] - 0.3) ** 2 + (config["y"] + 0.5) ** 2


def run(searcher: BayesOptSearch, n: int) -> list[float]:
    losses = []
    for i in range(n):
        config = searcher.suggest(str(i))
        assert isinstance(config, dict)
        losses.append(quadratic(config))
        searcher.on_trial_complete(str(i), {"l": losses[-1]})
    return losses


@pytest.mark.parametrize("kind", ["ucb", "ei", "poi"])
def test_every_acquisition_finds_the_minimum(kind: str) -> None:
    searcher = BayesOptSearch({"x": uniform(-2, 2), "y": uniform(-2, 2)}, metric="l", mode="min",
                              utility_kwargs={"kind": kind}, random_search_steps=5, seed=0)
    assert searcher.utility.kind is Acquisition(kind)
    assert min(run(searcher, 25)) < 0.05


def test_utility_defaults_follow_ray_but_nothing_given_explores_less() -> None:
    assert BayesOptSearch().utility == Utility(Acquisition.UCB, 1.0, 0.0)
    assert BayesOptSearch(utility_kwargs={"kind": "ucb"}).utility == Utility(
        Acquisition.UCB, 2.576, 0.0)
    assert BayesOptSearch(utility_kwargs={"kind": "ucb", "kappa": 2.576, "xi": 0.0}).utility == (
        Utility(Acquisition.UCB, 2.576, 0.0))  # Ray's default dict, passed as Ray passes it
    assert BayesOptSearch(utility_kwargs={"kind": "ei"}).utility == Utility(
        Acquisition.EI, 2.576, 0.0)
    assert BayesOptSearch(xi=0.05).utility == Utility(Acquisition.EI, 2.576, 0.05)  # ours, kept
    assert BayesOptSearch(utility_kwargs={"kappa": 1.0}).utility.to_dict() == {
        "kind": "ucb", "kappa": 1.0, "xi": 0.0}


def test_acquisition_scores() -> None:
    mean, sd = np.array([0.0, 1.0]), np.array([1.0, 1.0])
    ucb = Utility(Acquisition.UCB, 2.0, 0.0).score(mean, sd, best=0.0)
    assert ucb.tolist() == [2.0, 1.0]  # lower mean, same sd: better
    poi = Utility(Acquisition.POI, 2.0, 0.0).score(mean, sd, best=0.0)
    assert poi[0] == pytest.approx(0.5) and poi[1] < poi[0]


def test_random_state_seeds_like_seed() -> None:
    space = {"x": uniform(0, 1)}
    a = BayesOptSearch(space, metric="l", mode="min", random_state=42)
    b = BayesOptSearch(space, metric="l", mode="min", seed=42)
    assert a.suggest("0") == b.suggest("0")


def test_duplicates_are_skipped_until_patience_runs_out() -> None:
    searcher = BayesOptSearch({"x": randint(0, 2)}, metric="l", mode="min", patience=2, seed=0)
    answers = []
    for i in range(20):
        config = searcher.suggest(str(i))
        answers.append(config)
        if isinstance(config, dict):
            searcher.on_trial_complete(str(i), {"l": float(config["x"])})
        if config is FINISHED:
            break
    configs = [a for a in answers if isinstance(a, dict)]
    xs = [c["x"] for c in configs]
    assert len(xs) == len(set(xs)) <= 2  # each at most once
    assert None in answers and answers[-1] is FINISHED
    assert searcher.suggest("again") is FINISHED
    restored = BayesOptSearch({"x": randint(0, 2)}, metric="l", mode="min", patience=2)
    restored.load_state_dict(json.loads(json.dumps(searcher.state_dict())))
    assert restored.suggest("after-restore") is FINISHED


def test_skip_duplicate_false_runs_duplicates_and_never_finishes() -> None:
    searcher = BayesOptSearch({"x": randint(0, 2)}, metric="l", mode="min", patience=1,
                              skip_duplicate=False, seed=0)
    configs = []
    for i in range(8):
        config = searcher.suggest(str(i))
        assert isinstance(config, dict)
        configs.append(config["x"])
        searcher.on_trial_complete(str(i), {"l": float(config["x"])})
    assert len(configs) == 8 and len(set(configs)) <= 2


def test_repeat_float_precision_and_log_scales() -> None:
    searcher = BayesOptSearch({"x": uniform(0, 1), "lr": loguniform(1e-6, 1e-2)},
                              repeat_float_precision=2)
    assert searcher._duplicate_key([0.123, 3.2e-5]) == searcher._duplicate_key([0.124, 3.2e-5])
    # Decimals would take these for one value; on a log scale significant digits count.
    assert searcher._duplicate_key([0.5, 3.2e-5]) != searcher._duplicate_key([0.5, 3.4e-5])


def objective(config: dict[str, Any]) -> None:
    report({"loss": (config["x"] - 0.3) ** 2 + (config["y"] + 0.5) ** 2})


def test_analysis_of_an_earlier_fit_warm_starts_the_gp(tmp_path: Path) -> None:
    space = {"x": uniform(-2, 2), "y": uniform(-2, 2)}
    first = Tuner(
        objective,
        param_space=space,
        tune_config=TuneConfig(metric="loss", mode="min", num_samples=8),
        run_config=RunConfig(storage_path=str(tmp_path), name="first", verbose=0),
        executor=InProcessExecutor(),
    ).fit()
    searcher = BayesOptSearch(space, metric="loss", mode="min", analysis=first,
                              random_search_steps=0, seed=0)
    config = searcher.suggest("a")
    assert len(searcher.observations) == 8
    assert searcher.state_dict()["log_theta"] is not None  # the first suggestion used the GP
    assert isinstance(config, dict)


def test_analysis_skips_results_it_cannot_use() -> None:
    class Result:
        def __init__(self, config: dict[str, Any], metrics: dict[str, Any]) -> None:
            self.config, self.metrics = config, metrics

    analysis = [Result({"x": 0.1, "y": 0.2}, {"loss": 1.0}),
                Result({"x": 0.1}, {"loss": 1.0}),  # lacks a parameter
                Result({"x": 0.1, "y": 0.2}, {"other": 1.0})]  # lacks the metric
    searcher = BayesOptSearch({"x": uniform(-2, 2), "y": uniform(-2, 2)}, metric="loss",
                              mode="min", analysis=analysis, seed=0)
    searcher.suggest("a")
    assert len(searcher.observations) == 1
    with pytest.raises(ValueError, match=r"results with \.config and \.metrics"):
        BayesOptSearch({"x": uniform(0, 1)}, metric="loss", mode="min",
                       analysis=[{"x": 1}]).suggest("a")


def test_verbose_is_accepted() -> None:
    assert isinstance(BayesOptSearch({"x": uniform(0, 1)}, metric="l", mode="min",
                                     verbose=2).suggest("a"), dict)
