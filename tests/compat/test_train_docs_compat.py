"""Ray Train's doc patterns through the mapped imports (our own code, in Ray's style).

Covers what Ray's Train guides use beyond a plain `TorchTrainer.fit()`: a trainer tuned with
``"scaling_config"`` in its param_space, Ray's linear example module, `DataParallelTrainer`
under Ray Train V2's import path, `WorkerGroupError.worker_failures`, and V2's preemption
settings. Trainers run real gloo groups.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

import tuner as train  # noqa: E402
import tuner as tune  # noqa: E402
from tuner.examples.pytorch.torch_linear_example import (  # noqa: E402
    train_func as linear_train_func,
)
from tuner.torch import TorchTrainer  # noqa: E402
from tuner.v2.api.data_parallel_trainer import DataParallelTrainer  # noqa: E402

pytestmark = pytest.mark.slow


def report_world(config: dict[str, Any]) -> None:
    context = train.get_context()
    train.report({"world_size": context.get_world_size(), "lr": config.get("lr", 0.0)})


def test_scaling_config_in_param_space_tunes_the_group_size(tmp_path: Path) -> None:
    trainer = TorchTrainer(
        report_world,
        train_loop_config={"lr": 0.1},
        scaling_config=train.ScalingConfig(num_workers=1),
    )
    grid = tune.Tuner(
        trainer,
        param_space={
            "train_loop_config": {"lr": tune.grid_search([0.5])},
            "scaling_config": train.ScalingConfig(num_workers=tune.grid_search([1, 2])),
        },
        tune_config=tune.TuneConfig(metric="world_size", mode="max", max_concurrent_trials=2),
        run_config=train.RunConfig(storage_path=str(tmp_path), name="sized", verbose=0),
    ).fit()
    assert grid.num_errors == 0
    sizes = sorted(r.metrics["world_size"] for r in grid)
    assert sizes == [1, 2]
    # Each trial held its own group's resources, as recorded in the saved state.
    import json

    state = json.loads(next((tmp_path / "sized").glob("experiment_state*.json")).read_text())
    held = sorted(
        (t["config"]["scaling_config"]["num_workers"], t["resources"]["cpu"])
        for t in state["trials"]
    )
    assert held == [(1, 1.0), (2, 2.0)]
    assert grid.get_best_result().config["train_loop_config"] == {"lr": 0.5}


def test_a_scaling_config_the_machine_cannot_hold_is_refused(tmp_path: Path) -> None:
    trainer = TorchTrainer(report_world)
    with pytest.raises(tune.ConfigError, match="cpu=64"):
        tune.Tuner(
            trainer,
            param_space={"scaling_config": train.ScalingConfig(num_workers=tune.choice([64]))},
            run_config=train.RunConfig(storage_path=str(tmp_path), verbose=0),
        ).fit()


def test_an_unknown_trainer_key_is_refused_before_any_trial() -> None:
    with pytest.raises(tune.ConfigError, match="train_loop_config"):
        tune.Tuner(TorchTrainer(report_world), param_space={"lr": 0.1})


def test_ray_linear_example_tunes_and_learns(tmp_path: Path) -> None:
    trainer = TorchTrainer(
        linear_train_func,
        train_loop_config={"lr": 1e-2, "batch_size": 4, "epochs": 4},
        scaling_config=train.ScalingConfig(num_workers=2, use_gpu=False),
    )
    grid = tune.Tuner(
        trainer,
        param_space={"train_loop_config": {"hidden_size": tune.grid_search([1, 3])}},
        tune_config=tune.TuneConfig(metric="loss", mode="min"),
        run_config=train.RunConfig(storage_path=str(tmp_path), verbose=0),
    ).fit()
    assert grid.num_errors == 0
    for result in grid:
        losses = list(result.metrics_dataframe["loss"])
        assert len(losses) == 4
        assert losses[-1] < losses[0]
        assert losses[-1] < 0.5  # y = 2x + 5 on [0, 1): the line is learnt
        with result.checkpoint.as_directory() as directory:
            saved = torch.load(Path(directory) / "model.pt", weights_only=True)
        assert saved["epoch"] == 3


def test_data_parallel_trainer_under_ray_train_v2_path(tmp_path: Path) -> None:
    def train_fn(config: dict[str, Any]) -> None:
        for i in range(3):
            with tempfile.TemporaryDirectory() as d:
                Path(d, "model.pt").touch()
                train.report({"loss": i}, checkpoint=train.Checkpoint.from_directory(d))

    trainer = DataParallelTrainer(
        train_fn,
        scaling_config=train.ScalingConfig(num_workers=2),
        run_config=train.RunConfig(storage_path=str(tmp_path), name="dp", verbose=0),
    )
    result = trainer.fit()
    assert list(result.metrics_dataframe["loss"]) == [0, 1, 2]
    assert sorted(m["loss"] for _, m in result.best_checkpoints) == [0, 1, 2]
    assert Path(result.path).parent.name == "dp"
    assert Path(result.path).name.startswith("DataParallelTrainer_")
    assert train.DataParallelTrainer is DataParallelTrainer


def test_data_parallel_trainer_refuses_ray_datasets() -> None:
    with pytest.raises(tune.ConfigError, match="Ray Data"):
        DataParallelTrainer(lambda config: None, datasets={"train": object()})


def test_worker_group_error_names_the_failed_rank(tmp_path: Path) -> None:
    def train_fn(config: dict[str, Any]) -> None:
        if train.get_context().get_world_rank() == 1:
            raise RuntimeError("Simulated training error")
        train.report({"loss": 0.0})

    trainer = DataParallelTrainer(
        train_fn,
        scaling_config=train.ScalingConfig(num_workers=2),
        run_config=train.RunConfig(storage_path=str(tmp_path), verbose=0),
    )
    with pytest.raises(train.TrainingFailedError) as caught:
        trainer.fit()
    assert isinstance(caught.value, train.WorkerGroupError)
    assert list(caught.value.worker_failures) == [1]
    assert "Simulated training error" in str(caught.value.worker_failures[1])


def test_preemption_settings_are_accepted_and_checked(tmp_path: Path) -> None:
    config = train.FailureConfig(
        max_preemption_failures=-1, relax_collectives_on_preemption=True,
        preemption_grace_s=120.0, max_failures=3,
    )
    assert config.max_failures == 3
    for bad in ({"max_preemption_failures": -2}, {"preemption_grace_s": -1.0},
                {"relax_collectives_on_preemption": "yes"}, {"fail_fast": "loudly"}):
        with pytest.raises(tune.ConfigError, match="FailureConfig"):
            train.FailureConfig(**bad)

    def train_fn(config: dict[str, Any]) -> None:
        # No preemption notices here: always None, on every rank, without blocking.
        train.report({"info": repr(train.get_preemption_info())})

    result = TorchTrainer(
        train_fn, scaling_config=train.ScalingConfig(num_workers=2),
        run_config=train.RunConfig(storage_path=str(tmp_path), failure_config=config, verbose=0),
    ).fit()
    assert result.metrics["info"] == "None"
