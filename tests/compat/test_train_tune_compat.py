"""Ray's train/tune interop pattern through the mapped imports: a TorchTrainer inside each trial.

Written in Ray's style (our own code): `from ray import tune, train` -> `import tuner as tune`,
`import tuner as train`; `ray.train.torch` -> `tuner.torch`; `ray.tune.integration.ray_train` ->
`tuner.integration.ray_train`. Every trial runs a real two-rank gloo group.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

import tuner as train  # noqa: E402
import tuner as tune  # noqa: E402
from tuner.integration.ray_train import TuneReportCallback  # noqa: E402
from tuner.torch import TorchTrainer, prepare_model  # noqa: E402

pytestmark = pytest.mark.slow


def train_fn_per_worker(config: dict[str, Any]) -> None:
    torch.manual_seed(0)
    model = prepare_model(torch.nn.Linear(2, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=config["lr"])
    x = torch.randn(64, 2, generator=torch.Generator().manual_seed(1))
    y = x @ torch.tensor([[2.0], [-1.0]])
    for epoch in range(3):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        with tempfile.TemporaryDirectory() as d:
            if train.get_context().get_world_rank() == 0:
                Path(d, "epoch").write_text(str(epoch))
            train.report({"loss": loss.item(), "epoch": epoch},
                         checkpoint=train.Checkpoint.from_directory(d))


def driver_fn(config: dict[str, Any], *, callbacks: list[Any], storage: str) -> None:
    trainer = TorchTrainer(
        train_fn_per_worker,
        train_loop_config=config["train_loop_config"],
        scaling_config=train.ScalingConfig(num_workers=2),
        run_config=train.RunConfig(
            name=f"train-trial_id={tune.get_context().get_trial_id()}",
            storage_path=storage, callbacks=callbacks, verbose=0,
        ),
    )
    trainer.fit()


@pytest.mark.parametrize("explicit", [True, False], ids=["TuneReportCallback", "automatic"])
def test_a_trainer_inside_each_trial_reports_to_it(tmp_path: Path, explicit: bool) -> None:
    storage = str(tmp_path / "train_runs")
    callbacks = [TuneReportCallback()] if explicit else []
    tuner = tune.Tuner(
        tune.with_parameters(driver_fn, callbacks=callbacks, storage=storage),
        param_space={"train_loop_config": {"lr": tune.grid_search([0.001, 0.1])}},
        tune_config=tune.TuneConfig(max_concurrent_trials=1),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="tune", verbose=0),
    )
    results = tuner.fit()
    assert [r.status for r in results] == ["TERMINATED", "TERMINATED"]
    for result in results:
        assert list(result.metrics_dataframe["epoch"]) == [0, 1, 2]  # each report once
        assert result.checkpoint is not None
        with result.checkpoint.as_directory() as d:
            assert Path(d, "epoch").read_text() == "2"  # rank 0's files, passed on
    best = results.get_best_result(metric="loss", mode="min")
    assert best.config["train_loop_config"]["lr"] == 0.1
    assert len(list(Path(storage).iterdir())) == 2  # the trainers' own experiments
