"""Ray Tune's searcher scripts through the mapped imports: written in Ray's style, run for real.

`from ray import tune` -> `import tuner as tune`; `ray.tune.search[.optuna|.bayesopt]` ->
`searchers`; `ray.tune.schedulers` -> `schedulers`. The bodies follow Ray 2.x's
`optuna_example.py`, `optuna_define_by_run_example.py`, `optuna_multiobjective_example.py` and
`bayesopt_example.py` (shorter runs, no sleeps).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import tuner as tune
from schedulers import AsyncHyperBandScheduler
from searchers import BayesOptSearch, ConcurrencyLimiter, OptunaSearch


def evaluation_fn(step: int, width: float, height: float, mult: float = 1.0) -> float:
    return (0.1 + width * step / 100) ** (-1) + height * 0.1 * mult


def easy_objective(config: dict[str, Any]) -> None:
    width, height, mult = config["width"], config["height"], config.get("mult", 1)
    for step in range(config["steps"]):
        intermediate_score = evaluation_fn(step, width, height, mult)
        tune.report({"iterations": step, "mean_loss": intermediate_score})


def multi_objective(config: dict[str, Any]) -> None:
    width, height = config["width"], config["height"]
    for step in range(config["steps"]):
        intermediate_score = evaluation_fn(step, width, height)
        tune.report(
            {"iterations": step, "loss": intermediate_score, "gain": intermediate_score * width}
        )


def run_config(tmp_path: Path, name: str) -> tune.RunConfig:
    return tune.RunConfig(name=name, storage_path=str(tmp_path), verbose=0)


def test_optuna_example_with_concurrency_limiter_runs_num_samples_trials(tmp_path: Path) -> None:
    algo = OptunaSearch(seed=0)
    algo = ConcurrencyLimiter(algo, max_concurrent=4)
    scheduler = AsyncHyperBandScheduler()
    tuner = tune.Tuner(
        easy_objective,
        tune_config=tune.TuneConfig(
            metric="mean_loss",
            mode="min",
            search_alg=algo,
            scheduler=scheduler,
            num_samples=10,
        ),
        param_space={
            "steps": 20,
            "width": tune.uniform(0, 20),
            "height": tune.uniform(-100, 100),
            "activation": tune.choice(["relu", "tanh"]),  # an ignored parameter
        },
        run_config=run_config(tmp_path, "optuna"),
        executor=tune.LocalExecutor(num_cpus=2),
    )
    results = tuner.fit()
    assert len(results) == 10 and results.num_errors == 0
    best = results.get_best_result().config
    assert set(best) == {"steps", "width", "height", "activation"}


def define_by_run_func(trial: Any) -> dict[str, Any] | None:
    activation = trial.suggest_categorical("activation", ["relu", "tanh"])
    trial.suggest_float("width", 0, 20)
    trial.suggest_float("height", -100, 100)
    if activation == "relu":  # define-by-run allows conditional search spaces
        trial.suggest_float("mult", 1, 2)
    return {"steps": 10}  # constants join the config


def test_optuna_define_by_run(tmp_path: Path) -> None:
    algo = OptunaSearch(space=define_by_run_func, metric="mean_loss", mode="min", seed=0)
    algo = ConcurrencyLimiter(algo, max_concurrent=4)
    tuner = tune.Tuner(
        easy_objective,
        tune_config=tune.TuneConfig(
            metric="mean_loss",
            mode="min",
            search_alg=algo,
            scheduler=AsyncHyperBandScheduler(),
            num_samples=10,
        ),
        run_config=run_config(tmp_path, "define_by_run"),
        executor=tune.InProcessExecutor(),
    )
    results = tuner.fit()
    assert len(results) == 10 and results.num_errors == 0
    for result in results:
        config = result.config
        assert config["steps"] == 10 and 0 <= config["width"] <= 20
        assert ("mult" in config) == (config["activation"] == "relu")
        assert "mult" not in config or 1 <= config["mult"] <= 2
    assert len(algo.searcher.state_dict()["told"]) == 10  # the study heard of every trial


def test_optuna_multi_objective_then_best_result_per_metric(tmp_path: Path) -> None:
    algo = OptunaSearch(metric=["loss", "gain"], mode=["min", "max"], seed=0)
    algo = ConcurrencyLimiter(algo, max_concurrent=4)
    tuner = tune.Tuner(
        multi_objective,
        tune_config=tune.TuneConfig(search_alg=algo, num_samples=10),  # no metric here
        param_space={
            "steps": 10,
            "width": tune.uniform(0, 20),
            "height": tune.uniform(-100, 100),
            "activation": tune.choice(["relu", "tanh"]),
        },
        run_config=run_config(tmp_path, "multi"),
        executor=tune.InProcessExecutor(),
    )
    results = tuner.fit()
    assert len(results) == 10
    best_loss = results.get_best_result("loss", "min")
    best_gain = results.get_best_result("gain", "max")
    assert best_loss.metrics["loss"] == min(r.metrics["loss"] for r in results)
    assert best_gain.metrics["gain"] == max(r.metrics["gain"] for r in results)
    told = algo.searcher.state_dict()["told"]
    assert len(told) == 10 and all(len(t["values"]) == 2 for t in told)
    by_width = {round(r.config["width"], 9): r.metrics for r in results}
    for t in told:  # each objective as the trial reported it last
        metrics = by_width[round(t["params"]["width"], 9)]
        assert t["values"] == [metrics["loss"], metrics["gain"]]


def test_bayesopt_example_with_utility_kwargs(tmp_path: Path) -> None:
    algo = BayesOptSearch(utility_kwargs={"kind": "ucb", "kappa": 2.5, "xi": 0.0})
    algo = ConcurrencyLimiter(algo, max_concurrent=4)
    scheduler = AsyncHyperBandScheduler()
    tuner = tune.Tuner(
        easy_objective,
        tune_config=tune.TuneConfig(
            metric="mean_loss",
            mode="min",
            search_alg=algo,
            scheduler=scheduler,
            num_samples=10,
        ),
        run_config=run_config(tmp_path, "my_exp"),
        param_space={"steps": 10, "width": tune.uniform(0, 20), "height": tune.uniform(-100, 100)},
        executor=tune.InProcessExecutor(),
    )
    results = tuner.fit()
    assert len(results) == 10 and results.num_errors == 0


@pytest.mark.parametrize(("random_search_steps", "gp_used"), [(20, False), (3, True)])
def test_bayesopt_random_search_steps(
    random_search_steps: int, gp_used: bool, tmp_path: Path
) -> None:
    # The optimum lies in a corner of the space, which the GP proposes again and again once it
    # has found it: let the duplicates run, so that all 8 trials do.
    algo = BayesOptSearch(metric="mean_loss", mode="min", random_state=42,
                          random_search_steps=random_search_steps, skip_duplicate=False)
    tuner = tune.Tuner(
        easy_objective,
        tune_config=tune.TuneConfig(search_alg=algo, num_samples=8),
        param_space={"steps": 3, "width": tune.uniform(0, 20), "height": tune.uniform(-100, 100)},
        run_config=run_config(tmp_path, "steps"),
        executor=tune.InProcessExecutor(),
    )
    assert len(tuner.fit()) == 8
    assert (algo.state_dict()["log_theta"] is not None) is gp_used  # the GP was fitted or not


def test_bayesopt_patience_stops_a_converged_search(tmp_path: Path) -> None:
    algo = BayesOptSearch(metric="mean_loss", mode="min", random_state=42,
                          random_search_steps=2, patience=1, skip_duplicate=True)
    tuner = tune.Tuner(
        easy_objective,
        tune_config=tune.TuneConfig(search_alg=algo, num_samples=100),
        param_space={"steps": 2, "width": tune.randint(0, 3), "height": tune.randint(0, 2)},
        run_config=run_config(tmp_path, "patience"),
        executor=tune.InProcessExecutor(),
    )
    results = tuner.fit()
    configs = [(r.config["width"], r.config["height"]) for r in results]
    assert len(configs) == len(set(configs)) <= 6  # no config ran twice; the search ended
    assert algo.state_dict()["converged"] is True


def test_tune_search_and_tune_schedulers_aliases(tmp_path: Path) -> None:
    from tuner.search import ConcurrencyLimiter as FromTunerSearch

    assert FromTunerSearch is tune.search.ConcurrencyLimiter is ConcurrencyLimiter
    tuner = tune.Tuner(
        easy_objective,
        tune_config=tune.TuneConfig(
            metric="mean_loss",
            mode="min",
            search_alg=tune.search.ConcurrencyLimiter(tune.search.OptunaSearch(seed=1), 2),
            scheduler=tune.schedulers.ASHAScheduler(max_t=5, grace_period=1),
            num_samples=6,
        ),
        param_space={"steps": 5, "width": tune.uniform(0, 20), "height": tune.uniform(-100, 100)},
        run_config=run_config(tmp_path, "aliases"),
        executor=tune.InProcessExecutor(),
    )
    assert len(tuner.fit()) == 6


def test_sample_from_with_a_config_lambda(tmp_path: Path) -> None:
    def train(config: dict[str, Any]) -> None:
        tune.report({"score": config["alpha"] + config["beta"] + config["gamma"]})

    tuner = tune.Tuner(
        train,
        param_space={
            "alpha": tune.uniform(0, 1),
            "beta": tune.sample_from(lambda config: config["alpha"] * 2),  # Ray 2.x's form
            "gamma": tune.sample_from(lambda spec: spec.config.beta + 1),  # the older form
        },
        tune_config=tune.TuneConfig(num_samples=4),
        run_config=run_config(tmp_path, "sample_from"),
        executor=tune.InProcessExecutor(),
    )
    results = tuner.fit()
    assert len(results) == 4
    for result in results:
        config = result.config
        assert config["beta"] == pytest.approx(2 * config["alpha"])
        assert config["gamma"] == pytest.approx(config["beta"] + 1)
