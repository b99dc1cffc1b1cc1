"""The toy trainables Ray's examples import, through the mapped imports (our own versions).

`ray.tune.examples.pbt_function` -> `tuner.examples.pbt_function`;
`ray.tune.utils.mock_trainable` -> `tuner.utils.mock_trainable`.
"""

from __future__ import annotations

from pathlib import Path

import tuner as tune
from schedulers import PB2, HyperBandScheduler
from tuner.examples.pbt_function import best_learning_rate, pbt_function
from tuner.utils.mock_trainable import MyTrainableClass


def test_the_best_learning_rate_is_a_triangle_over_accuracy() -> None:
    assert best_learning_rate(0.0) == 0.001  # floored
    assert best_learning_rate(100.0) == 0.01  # the peak
    assert best_learning_rate(50.0) == best_learning_rate(150.0) == 0.005
    assert best_learning_rate(300.0) == 0.001


def test_pb2_tunes_pbt_function_as_rays_pb2_example(tmp_path: Path) -> None:
    interval = 5
    results = tune.Tuner(
        pbt_function,
        run_config=tune.RunConfig(name="pb2", storage_path=str(tmp_path), verbose=False,
                                  stop={"training_iteration": 20},
                                  failure_config=tune.FailureConfig(fail_fast=True)),
        tune_config=tune.TuneConfig(
            scheduler=PB2(time_attr="training_iteration", perturbation_interval=interval,
                          hyperparam_bounds={"lr": [0.0001, 0.02]}, seed=0),
            metric="mean_accuracy", mode="max", num_samples=4,
        ),
        param_space={"lr": 0.0001, "some_other_factor": 1, "checkpoint_interval": interval},
    ).fit()
    assert [r.status for r in results] == ["TERMINATED"] * 4
    # Each trial stops at its first result at or past 20. One that exploits a donor already at
    # its final checkpoint (iteration 20, when the donor finished first) resumes from there and
    # stops at 21: which happens depends on how the two workers race.
    assert all(r.metrics["training_iteration"] in (20, 21) for r in results), [
        r.metrics["training_iteration"] for r in results
    ]
    assert any(r.metrics["training_iteration"] == 20 for r in results)
    # PB2 moved some trials off the starting learning rate, from their checkpoints.
    assert any(r.config["lr"] != 0.0001 for r in results)
    assert (Path(results.experiment_path) / "pbt_policy.jsonl").read_text().strip()


def test_hyperband_runs_my_trainable_class_as_rays_hyperband_example(tmp_path: Path) -> None:
    results = tune.Tuner(
        MyTrainableClass,
        run_config=tune.RunConfig(name="hb", storage_path=str(tmp_path), verbose=0,
                                  stop={"training_iteration": 9}),
        tune_config=tune.TuneConfig(
            scheduler=HyperBandScheduler(max_t=9, reduction_factor=3),
            metric="episode_reward_mean", mode="max", num_samples=6,
        ),
        param_space={"width": tune.randint(10, 90), "height": tune.randint(0, 100)},
        executor=tune.InProcessExecutor(),
    ).fit()
    assert len(results) == 6
    best = results.get_best_result()
    assert best.metrics["training_iteration"] == 9
    assert best.metrics["episode_reward_mean"] > 0
