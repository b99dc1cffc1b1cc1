"""OptunaSearch with several objectives and constraints: Ray Tune's multi-objective Optuna
example with only its imports changed, Optuna's `directions`, and the constraints as Optuna's
samplers read them (from 5.0 `Trial.set_constraint`, before it `constraints_func`)."""

from __future__ import annotations

import json
import logging
import math
import sys
from pathlib import Path
from typing import Any

import pytest

import searchers._optuna as optuna_search
import searchers._optuna_constraints as optuna_constraints
import tuner as tune
from searchers import uniform
from searchers._constraints import parse_constraints
from searchers._optuna_constraints import constraint_values
from tuner.search import ConcurrencyLimiter, OptunaSearch  # Ray: ray.tune.search(.optuna)

optuna = pytest.importorskip("optuna")


# ------------------------------------------------ Ray's optuna_example.ipynb, multi-objective
def evaluate(step: int, width: float, height: float, activation: str) -> float:
    # time.sleep(0.1) in the notebook: left out, the trials run in this process
    activation_boost = 10 if activation == "relu" else 0
    return (0.1 + width * step / 100) ** (-1) + height * 0.1 + activation_boost


def multi_objective(config: dict[str, Any]) -> None:
    # Hyperparameters
    width, height = config["width"], config["height"]  # noqa: F841 - as the notebook has it

    for step in range(config["steps"]):
        # Iterative training function - can be any arbitrary training procedure
        intermediate_score = evaluate(step, config["width"], config["height"], config["activation"])
        # Feed the score back back to Tune.
        tune.report({
           "iterations": step, "loss": intermediate_score, "gain": intermediate_score * width
        })


search_space = {
    "steps": 10,  # 100 in the notebook
    "width": tune.uniform(0, 20),
    "height": tune.uniform(-100, 100),
    "activation": tune.choice(["relu", "tanh"]),
}


def test_rays_multi_objective_example_runs_with_its_imports_changed(tmp_path: Path) -> None:
    num_samples = 12  # 1000 in the notebook
    searcher = OptunaSearch(metric=["loss", "gain"], mode=["min", "max"])
    algo = ConcurrencyLimiter(searcher, max_concurrent=4)

    tuner = tune.Tuner(
        multi_objective,
        tune_config=tune.TuneConfig(
            search_alg=algo,
            num_samples=num_samples,
        ),
        param_space=search_space,
        # Not in the notebook: where the experiment goes, and trials in this process.
        run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0),
        executor=tune.InProcessExecutor(),
    )
    results = tuner.fit()

    best_loss = results.get_best_result("loss", "min").config
    best_gain = results.get_best_result("gain", "max").config
    print("Best hyperparameters for loss found were: ", best_loss)
    print("Best hyperparameters for gain found were: ", best_gain)

    assert len(results) == num_samples and not results.errors
    losses = {r.metrics["loss"]: r.config for r in results}
    gains = {r.metrics["gain"]: r.config for r in results}
    assert best_loss == losses[min(losses)] and best_gain == gains[max(gains)]
    study = searcher._get_study()
    assert [d.name for d in study.directions] == ["MINIMIZE", "MAXIMIZE"]
    assert sorted(t.values for t in study.trials) == sorted(
        [r.metrics["loss"], r.metrics["gain"]] for r in results
    )


def test_the_example_with_tuneconfigs_objectives_and_a_constraint(tmp_path: Path) -> None:
    searcher = OptunaSearch(seed=0)
    results = tune.Tuner(
        multi_objective,
        tune_config=tune.TuneConfig(metric=["loss", "gain"], mode=["min", "max"],
                                    constraints=["loss <= 5"], search_alg=searcher,
                                    num_samples=16),
        param_space=search_space,
        run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0),
        executor=tune.SimulatedExecutor(n_workers=2, time_attr="iterations", start_time=0.0),
    ).fit()
    assert len(results) == 16
    front = results.get_pareto_front()
    assert front and all(r.metrics["loss"] <= 5 for r in front)
    study = searcher._get_study()
    by_loss = {round(r.metrics["loss"], 9): r.metrics["loss"] for r in results}
    for trial in study.trials:  # the study saw each constraint as Optuna reads it: loss - 5
        loss = by_loss[round(trial.values[0], 9)]
        assert trial.constraints == {"loss <= 5.0": pytest.approx(loss - 5)}


# ------------------------------------------------ constraints as Optuna reads them
def test_constraint_values_are_optunas_form() -> None:
    limits = parse_constraints(["a <= 1", "b >= 2", "c < 3", "d > 4"])
    assert constraint_values(limits, {"a": 1.5, "b": 1.0, "c": 2.0, "d": 5.0}) == [
        0.5, 1.0, -1.0, -1.0]
    on_bounds = constraint_values(limits, {"a": 1, "b": 2, "c": 3, "d": 4})
    assert on_bounds[:2] == [0.0, 0.0] and on_bounds[2] > 0 and on_bounds[3] > 0  # strict
    assert constraint_values(limits[:2], {"a": math.nan, "b": -math.inf}) == [
        sys.float_info.max, sys.float_info.max]
    assert "'b' was not in the reported result" in str(constraint_values(limits, {"a": 1}))


def constrained(**kwargs: Any) -> OptunaSearch:
    searcher = OptunaSearch({"x": uniform(0, 1)}, metric=["f1", "f2"], mode=["min", "min"],
                            seed=0, **kwargs)
    searcher.set_constraints(parse_constraints(["mem <= 0.5"]))
    return searcher


def run(searcher: OptunaSearch, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        x = searcher.suggest(str(i))["x"]
        searcher.on_trial_complete(str(i), {"f1": x, "f2": 1 - x, "mem": x})


def test_each_trial_carries_its_constraints_and_a_restore_replays_them() -> None:
    searcher = constrained()
    run(searcher, 6)
    searcher.add_evaluated_points([{"x": 0.9}], [{"f1": 0.9, "f2": 0.1, "mem": 0.9}])
    trials = searcher._get_study().trials
    assert [t.constraints for t in trials] == [
        {"mem <= 0.5": pytest.approx(t.params["x"] - 0.5)} for t in trials]
    assert [o.feasible for _, o in searcher.outcomes] == [t.params["x"] <= 0.5 for t in trials]
    restored = constrained()
    restored.load_state_dict(json.loads(json.dumps(searcher.state_dict(), allow_nan=False)))
    again = restored._get_study().trials
    assert [t.constraints for t in again] == [t.constraints for t in trials]
    run(restored, 2, start=6)
    assert len(restored._get_study().trials) == 9


def test_nsga2_sampler_of_your_own_sees_the_constraints() -> None:
    from optuna.samplers.nsgaii._constraints_evaluation import _constrained_dominates

    searcher = constrained(sampler=optuna.samplers.NSGAIISampler(population_size=4, seed=0))
    run(searcher, 8)
    study = searcher._get_study()
    trials = study.trials
    assert all(len(t.constraints) == 1 for t in trials)
    feasible = [t for t in trials if t.params["x"] <= 0.5]
    infeasible = [t for t in trials if t.params["x"] > 0.5]
    assert feasible and infeasible
    # On f1 = x, f2 = 1 - x no trial dominates another; NSGA-II's constrained domination puts
    # every feasible one first, as NSGA2Search and the rest of the engine do.
    for good in feasible:
        for bad in infeasible:
            assert _constrained_dominates(good, bad, study.directions)
            assert not _constrained_dominates(bad, good, study.directions)


def test_a_result_without_a_constraint_metric_fails_the_trial(
    caplog: pytest.LogCaptureFixture,
) -> None:
    searcher = constrained()
    searcher.suggest("a")
    with caplog.at_level(logging.WARNING, logger="searchers"):
        searcher.on_trial_complete("a", {"f1": 1.0, "f2": 0.0})
    assert "constraint metric 'mem' was not in the reported result" in caplog.text
    assert searcher._get_study().trials[0].state.name == "FAIL"


def test_evaluated_rewards_without_constraint_metrics_are_not_told(
    caplog: pytest.LogCaptureFixture,
) -> None:
    searcher = constrained(points_to_evaluate=[{"x": 0.2}], evaluated_rewards=[[0.2, 0.8]])
    with caplog.at_level(logging.WARNING, logger="searchers"):
        searcher.suggest("a")
    assert "evaluated_rewards give the objectives only" in caplog.text
    assert searcher.outcomes == []


def before_optuna_5(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (optuna_search, optuna_constraints):
        monkeypatch.setattr(module, "sets_constraints", lambda optuna: False)


def test_before_optuna_5_a_sampler_of_your_own_needs_constraints_func(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before_optuna_5(monkeypatch)
    searcher = OptunaSearch(sampler=optuna.samplers.RandomSampler(seed=0))
    with pytest.raises(ValueError, match=r"constraints_func=OptunaSearch.constraints_func"):
        searcher.set_constraints(parse_constraints(["mem <= 0.5"]))


def test_before_optuna_5_the_default_sampler_reads_them_through_constraints_func(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before_optuna_5(monkeypatch)
    searcher = constrained()
    with pytest.warns(FutureWarning, match="constraints_func"):  # Optuna 5 deprecates it
        run(searcher, 3)
    searcher.add_evaluated_points([{"x": 0.9}], [{"f1": 0.9, "f2": 0.1, "mem": 0.9}])
    trials = searcher._get_study().trials
    assert [t.constraints for t in trials] == [  # Optuna's list form: keyed by position
        {"0": pytest.approx(t.params["x"] - 0.5)} for t in trials]
    assert [OptunaSearch.constraints_func(t) for t in trials] == [
        [pytest.approx(t.params["x"] - 0.5)] for t in trials]
