"""Ray Tune scripts' trial API through the mapped imports: written in Ray's style, run for real.

`from ray import tune` -> `import tuner as tune`; `from ray.air import session` ->
`from tuner import session`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tuner as tune
from tuner import LocalExecutor, session


class CountedUnpickles:
    """A large object that notes, in a folder, every process that unpickles it."""

    def __init__(self, folder: str, size: int) -> None:
        self.folder, self.data = folder, np.arange(size, dtype=np.float64)

    def __reduce__(self) -> Any:
        return (_rebuild, (self.folder, self.data))


def _rebuild(folder: str, data: Any) -> CountedUnpickles:
    Path(folder, f"{os.getpid()}-{os.urandom(4).hex()}").touch()
    obj = CountedUnpickles.__new__(CountedUnpickles)
    obj.folder, obj.data = folder, data
    return obj


def train_with_data(config: dict[str, Any], data: CountedUnpickles | None = None) -> None:
    assert data is not None
    tune.report({"total": float(data.data.sum()) * config["scale"], "pid": os.getpid()})


def test_with_parameters_sends_objects_once_per_worker_not_per_trial(tmp_path: Path) -> None:
    seen = tmp_path / "unpickled"
    seen.mkdir()
    data = CountedUnpickles(str(seen), 100_000)
    tuner = tune.Tuner(
        tune.with_parameters(train_with_data, data=data),
        param_space={"scale": tune.grid_search([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])},
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="wp", verbose=0),
        executor=LocalExecutor(num_cpus=2),
    )
    grid = tuner.fit()
    total = float(np.arange(100_000).sum())
    assert sorted(r.metrics["total"] for r in grid) == [total * k for k in range(1, 7)]
    workers = {r.metrics["pid"] for r in grid}
    unpickled_in = sorted(p.name.split("-")[0] for p in seen.iterdir())
    assert len(unpickled_in) == len(workers) <= 2  # once per worker process, not per trial
    state = "".join(p.read_text() for p in (tmp_path / "wp").glob("experiment_state-*.json"))
    assert "CountedUnpickles" not in state and "data" not in grid[0].config
    assert grid.experiment_path.endswith("wp")
    assert all(r.path.rsplit("/", 1)[-1].startswith("train_with_data_") for r in grid)


class WithData(tune.Trainable):
    def setup(self, config: dict[str, Any], data: Any = None, offset: float = 0.0) -> None:
        self.value = float(np.sum(data)) + offset + config["x"]

    def step(self) -> dict[str, Any]:
        return {"value": self.value, "done": True}


def test_with_parameters_passes_objects_to_a_class_setup(tmp_path: Path) -> None:
    grid = tune.Tuner(
        tune.with_parameters(WithData, data=np.ones(10), offset=0.5),
        param_space={"x": tune.grid_search([1.0, 2.0])},
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="cls", verbose=0),
    ).fit()
    assert sorted(r.metrics["value"] for r in grid) == [11.5, 12.5]
    restored = tune.Tuner.restore(
        str(tmp_path / "cls"), trainable=tune.with_parameters(WithData, data=np.ones(10))
    )
    assert len(restored.get_results()) == 2  # the saved trainable name is the class's


def test_get_results_after_fit_and_after_restore(tmp_path: Path) -> None:
    def objective(config: dict[str, Any]) -> None:
        tune.report({"score": config["x"] * 2})

    tuner = tune.Tuner(objective, param_space={"x": tune.grid_search([1, 2, 3])},
                       tune_config=tune.TuneConfig(metric="score", mode="max"),
                       run_config=tune.RunConfig(storage_path=str(tmp_path), name="res",
                                                 verbose=0),
                       executor=tune.InProcessExecutor())
    with pytest.raises(tune.TuneError, match="no results yet: call fit"):
        tuner.get_results()
    grid = tuner.fit()
    assert tuner.get_results() is grid
    restored = tune.Tuner.restore(str(tmp_path / "res"), trainable=objective)
    again = restored.get_results()  # read, not run again
    assert [r.metrics["score"] for r in again] == [2, 4, 6]
    assert again.get_best_result().config == {"x": 3}


def test_get_context_in_the_driver_gives_none_and_in_a_trial_the_trial(tmp_path: Path) -> None:
    context = tune.get_context()  # scripts call it once in the driver
    assert context.get_trial_id() is None and context.get_trial_name() is None
    assert context.get_trial_dir() is None and context.get_experiment_name() is None
    assert context.get_world_rank() is None and context.get_trial_resources() is None
    assert session.get_trial_id() is None

    def objective(config: dict[str, Any]) -> None:
        ctx = tune.get_context()
        session.report({
            "id": ctx.get_trial_id(), "name": ctx.get_trial_name(),
            "dir": ctx.get_trial_dir(), "experiment": ctx.get_experiment_name(),
            "cpus": ctx.get_trial_resources()["cpu"], "rank": ctx.get_world_rank(),
            "size": ctx.get_world_size(), "local": ctx.get_local_rank(),
            "same": session.get_trial_name() == ctx.get_trial_name(),
        })

    (result,) = tune.Tuner(objective, run_config=tune.RunConfig(name="ctx", verbose=0,
                                                               storage_path=str(tmp_path)),
                           executor=tune.InProcessExecutor()).fit()
    m = result.metrics
    assert m["id"] == result.trial_id and m["dir"] == result.path
    assert m["experiment"] == "ctx" and m["cpus"] == 1.0 and m["same"]
    assert (m["rank"], m["size"], m["local"]) == (0, 1, 0)


def test_bool_stop_criteria_as_in_rays_pbt_example(tmp_path: Path) -> None:
    def objective(config: dict[str, Any]) -> None:
        accuracy = 0.0
        for step in range(1, 1000):
            accuracy = min(1.0, accuracy + config["rate"])
            # Reports done=True and trains on, as Ray's pbt_function.py does.
            tune.report({"mean_accuracy": accuracy, "done": accuracy >= 0.5, "solved": step >= 3})

    grid = tune.Tuner(
        objective,
        param_space={"rate": tune.grid_search([0.1, 0.25])},
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="stop", verbose=0,
                                  stop={"done": True, "training_iteration": 50}),
    ).fit()
    assert sorted(r.metrics["training_iteration"] for r in grid) == [2, 5]
    assert [r.status for r in grid] == ["TERMINATED", "TERMINATED"]
    solved = tune.Tuner(
        objective,
        param_space={"rate": 0.01},
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="solved", verbose=0,
                                  stop={"solved": 0.5}),
    ).fit()
    assert solved[0].metrics["training_iteration"] == 3


def test_resources_from_a_function_of_the_config(tmp_path: Path) -> None:
    """Ray's `with_resources(trainable, lambda config: {...})`: each trial holds its own."""

    def trainable(config: dict[str, Any]) -> None:
        tune.report({"cpus": tune.get_context().get_trial_resources()["cpu"]})

    grid = tune.Tuner(
        tune.with_resources(trainable, lambda config: {"cpu": config["cpus"]}),
        param_space={"cpus": tune.grid_search([1, 2, 1])},
        tune_config=tune.TuneConfig(max_concurrent_trials=3),
        run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0),
        executor=tune.LocalExecutor(num_cpus=2),
    ).fit()
    assert [r.metrics["cpus"] for r in grid] == [1.0, 2.0, 1.0]


def test_a_resources_function_that_returns_nonsense_is_named(tmp_path: Path) -> None:
    for bad, match in ((lambda config: 3, "must return a dict"),
                       (lambda config: {"cpu": -1}, "resource 'cpu' must be a number >= 0"),
                       (lambda config: config["missing"], "raised for the config")):
        with pytest.raises(tune.ConfigError, match=match):
            tune.Tuner(
                tune.with_resources(lambda config: None, bad),
                run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0),
            ).fit()


def test_fail_fast_raise_raises_the_trials_error(tmp_path: Path) -> None:
    def trainable(config: dict[str, Any]) -> None:
        raise ValueError("bad trial")

    with pytest.raises(tune.TrialError, match="bad trial"):
        tune.Tuner(
            trainable,
            run_config=tune.RunConfig(
                storage_path=str(tmp_path), verbose=0,
                failure_config=tune.FailureConfig(fail_fast="raise"),
            ),
        ).fit()
