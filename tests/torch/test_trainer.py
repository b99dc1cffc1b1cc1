"""TorchTrainer end to end: two CPU ranks (gloo) train a real linear model in worker processes.

Every test here starts real processes (a coordinator and its ranks, each importing torch), so
they carry the `slow` marker; together they take well under a minute on two cores.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from tuner import (
    Checkpoint,
    FailureConfig,
    LocalExecutor,
    RunConfig,
    TuneConfig,
    Tuner,
    get_checkpoint,
    get_context,
    grid_search,
    report,
)
from tuner.exceptions import TrialError
from tuner.storage._filesystem import COMPLETE_MARKER
from tuner.torch import TorchConfig, TorchTrainer, prepare_data_loader, prepare_model
from tuner.torch._scaling import ScalingConfig

pytestmark = pytest.mark.slow

TWO = ScalingConfig(num_workers=2)


def linear_loop(config: dict[str, Any]) -> None:
    """Linear regression; every rank writes what it saw and its parameters into the checkpoint."""
    ctx = get_context()
    torch.manual_seed(ctx.world_rank)  # different initial weights: DDP must broadcast rank 0's
    model = prepare_model(torch.nn.Linear(4, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=config["lr"])
    start = 0
    checkpoint = get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as d:
            model.module.load_state_dict(torch.load(f"{d}/model.pt"))
            optimizer.load_state_dict(torch.load(f"{d}/optimizer.pt"))
            start = json.loads(Path(d, "state.json").read_text())["epoch"] + 1
    generator = torch.Generator().manual_seed(7)
    x = torch.randn(128, 4, generator=generator)
    y = x @ torch.tensor([[1.0], [-2.0], [3.0], [0.5]]) + 0.1
    data = TensorDataset(x, y, torch.arange(128))
    loader = prepare_data_loader(DataLoader(data, batch_size=16, shuffle=True))
    for epoch in range(start, config["epochs"]):
        seen: list[int] = []
        for xb, yb, index in loader:
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(model(xb), yb)
            loss.backward()
            optimizer.step()
            seen.extend(index.tolist())
        marker = config.get("kill_marker")
        if epoch == config.get("kill_at") and ctx.world_rank == 1 and not os.path.exists(marker):
            Path(marker).touch()
            os.kill(os.getpid(), signal.SIGKILL)
        with tempfile.TemporaryDirectory() as d:
            params = torch.cat([p.detach().flatten() for p in model.parameters()])
            Path(d, f"rank_{ctx.world_rank}.json").write_text(json.dumps({
                "params": params.tolist(), "seen": seen, "pid": os.getpid(),
                "world_size": ctx.world_size, "local_rank": ctx.local_rank,
            }))
            if ctx.world_rank == 0:
                torch.save(model.module.state_dict(), f"{d}/model.pt")
                torch.save(optimizer.state_dict(), f"{d}/optimizer.pt")
                Path(d, "state.json").write_text(json.dumps({"epoch": epoch}))
            report({"loss": loss.item(), "epoch": epoch, "start": start,
                    "rank": ctx.world_rank}, checkpoint=Checkpoint.from_directory(d))


def rank_files(checkpoint: Checkpoint) -> dict[int, dict[str, Any]]:
    with checkpoint.as_directory() as d:
        return {r: json.loads(Path(d, f"rank_{r}.json").read_text()) for r in range(2)}


def assert_gone(pids: list[int]) -> None:
    deadline = time.monotonic() + 5.0
    alive = pids
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in pids if _alive(pid)]
        time.sleep(0.05)
    assert not alive, f"rank processes {alive} outlived their trial"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def run_config(tmp_path: Path, name: str, **kwargs: Any) -> RunConfig:
    return RunConfig(storage_path=str(tmp_path), name=name, verbose=0, **kwargs)


def test_two_ranks_train_in_step_on_disjoint_shards(tmp_path: Path) -> None:
    trainer = TorchTrainer(
        linear_loop,
        train_loop_config={"epochs": 3, "lr": 0.05},
        scaling_config=TWO,
        run_config=run_config(tmp_path, "dp"),
    )
    result = trainer.fit()
    assert result.error is None and result.status == "TERMINATED"
    assert result.metrics["epoch"] == 2 and result.metrics["training_iteration"] == 3
    assert result.metrics["rank"] == 0  # rank 0's metrics are the trial's
    assert result.config == {"train_loop_config": {"epochs": 3, "lr": 0.05}}
    assert len(result.best_checkpoints) == 3
    assert result.checkpoint is not None
    files = rank_files(result.checkpoint)  # one checkpoint holds the files of both ranks
    # DDP kept the ranks' parameters identical although they were initialised differently.
    assert files[0]["params"] == files[1]["params"]
    assert files[0]["world_size"] == files[1]["world_size"] == 2
    assert [files[r]["local_rank"] for r in range(2)] == [0, 1]
    # Each rank trained on its own half of the data.
    assert set(files[0]["seen"]).isdisjoint(files[1]["seen"])
    assert sorted(files[0]["seen"] + files[1]["seen"]) == list(range(128))
    with result.checkpoint.as_directory() as d:
        assert {"model.pt", "optimizer.pt", "state.json"} <= set(os.listdir(d))
    losses = result.metrics_dataframe["loss"].tolist()
    assert losses[-1] < losses[0]
    assert_gone([files[r]["pid"] for r in range(2)])


def test_a_killed_rank_restarts_the_group_from_the_latest_checkpoint(tmp_path: Path) -> None:
    trainer = TorchTrainer(
        linear_loop,
        train_loop_config={"epochs": 4, "lr": 0.05, "kill_at": 2,
                           "kill_marker": str(tmp_path / "killed")},
        scaling_config=TWO,
        run_config=run_config(tmp_path, "kill", failure_config=FailureConfig(max_failures=1)),
    )
    result = trainer.fit()
    assert (tmp_path / "killed").exists()
    assert result.status == "TERMINATED"
    history = result.metrics_dataframe
    # Epochs 0 and 1 were reported before rank 1 died at epoch 2; the new group resumed from
    # the checkpoint of epoch 1 instead of starting over.
    assert history["epoch"].tolist() == [0, 1, 2, 3]
    assert history["start"].tolist() == [0, 0, 2, 2]
    assert result.metrics["training_iteration"] == 4
    assert result.checkpoint is not None
    files = rank_files(result.checkpoint)
    assert files[0]["params"] == files[1]["params"]
    assert_gone([files[r]["pid"] for r in range(2)])


def test_tuner_runs_trainer_trials_and_stops_their_groups(tmp_path: Path) -> None:
    trainer = TorchTrainer(linear_loop, train_loop_config={"epochs": 50, "lr": 0.01},
                           scaling_config=TWO)
    grid = Tuner(
        trainer.as_trainable(),
        param_space={"train_loop_config": {"lr": grid_search([0.01, 0.1])}},
        tune_config=TuneConfig(metric="loss", mode="min"),
        run_config=run_config(tmp_path, "tune", stop={"training_iteration": 2}),
        executor=LocalExecutor(num_cpus=2),  # one group of two ranks at a time
    ).fit()
    assert len(grid) == 2 and not grid.errors
    assert sorted(r.config["train_loop_config"]["lr"] for r in grid) == [0.01, 0.1]
    pids = []
    for result in grid:
        assert result.metrics["training_iteration"] == 2  # stopped by the stopper, not done
        assert result.checkpoint is not None
        pids += [f["pid"] for f in rank_files(result.checkpoint).values()]
    assert_gone(pids)
    assert grid.get_best_result().config["train_loop_config"]["lr"] == 0.1


def uneven_loop(config: dict[str, Any]) -> None:
    rank = get_context().world_rank
    if config["mode"] == "uneven":
        for step in range(3 if rank == 0 else 2):
            report({"step": step})
    else:  # rank 1 never reports
        if rank == 1:
            time.sleep(60)
        report({"step": 0})


def test_reporting_from_some_ranks_only_fails_with_a_clear_error(tmp_path: Path) -> None:
    trainer = TorchTrainer(uneven_loop, scaling_config=TWO,
                           torch_config=TorchConfig(report_timeout_s=1.0))
    started = time.monotonic()
    grid = Tuner(
        trainer.as_trainable(),
        param_space={"train_loop_config": {"mode": grid_search(["uneven", "silent"])}},
        run_config=run_config(tmp_path, "partial"),
        executor=LocalExecutor(num_cpus=2),
    ).fit()
    assert time.monotonic() - started < 40  # no deadlock, and the sleeping rank was killed
    errors = {r.config["train_loop_config"]["mode"]: r.error for r in grid}
    assert errors["uneven"] is not None and errors["silent"] is not None
    assert "rank 1 returned from the train loop after 2 report(s), while rank 0 wait(s) for " \
           "it in the 3rd report(): every rank must call report() the same number of times" \
           in str(errors["uneven"])
    assert "rank 1 did not call report() a 1st time within 1 s of rank 0" in str(
        errors["silent"]
    )


def raising_loop(config: dict[str, Any]) -> None:
    Path(config["pids"], str(os.getpid())).touch()
    prepare_model(torch.nn.Linear(1, 1))
    if get_context().world_rank == 1:
        raise ValueError(f"bad batch {config['batch']}")
    report({"ok": 1})


def test_a_rank_that_raises_fails_fit_with_its_traceback(tmp_path: Path) -> None:
    (tmp_path / "pids").mkdir()
    trainer = TorchTrainer(raising_loop, scaling_config=TWO,
                           train_loop_config={"batch": 17, "pids": str(tmp_path / "pids")},
                           run_config=run_config(tmp_path, "raise"))
    with pytest.raises(TrialError, match="rank 1 of 2 failed: ValueError: bad batch 17") as info:
        trainer.fit()
    assert "in raising_loop" in info.value.traceback
    assert 'raise ValueError(f"bad batch' in info.value.traceback
    pids = [int(p.name) for p in (tmp_path / "pids").iterdir()]
    assert len(pids) == 2
    assert_gone(pids)  # rank 0, busy in its train loop, was killed with the group


DRIVER = str(Path(__file__).with_name("trainer_driver.py"))


def driver(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, DRIVER, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TUNE_GLOBAL_CHECKPOINT_S": "0.05"},
        start_new_session=True,
    )


def test_restore_after_the_driver_is_killed_resumes_from_the_checkpoint(tmp_path: Path) -> None:
    storage, pids = str(tmp_path / "storage"), tmp_path / "pids"
    pids.mkdir()
    run = driver("run", storage, "exp", str(pids))
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not list(
            (tmp_path / "storage" / "exp").glob(f"*/checkpoint_000001/{COMPLETE_MARKER}")
        ):
            time.sleep(0.05)
        time.sleep(0.2)  # an experiment state save that records the checkpoint
        os.kill(run.pid, signal.SIGKILL)  # the driver only: its workers and ranks must follow
        _, err = run.communicate(timeout=30)
        first = [int(p.name) for p in pids.iterdir()]
        assert len(first) == 2, err
        assert_gone(first)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(run.pid, signal.SIGKILL)
    restore = driver("restore", storage, "exp", str(pids))
    out, err = restore.communicate(timeout=120)
    assert restore.returncode == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["restorable"] and summary["status"] == "TERMINATED"
    assert summary["epochs"][-1] == 5 and summary["iteration"] == len(summary["epochs"])
    resumed_at = summary["starts"][-1]
    assert resumed_at >= 2  # resumed from a checkpoint (epoch 1 or later), not from zero
    assert summary["epochs"][-(6 - resumed_at):] == list(range(resumed_at, 6))
    assert set(summary["epochs"]) == set(range(6))


def lambda_loop(config: dict[str, Any]) -> None:
    report({"value": config["scale"](get_context().world_rank + 1)})


def test_a_lambda_in_the_train_loop_config_reaches_every_rank(tmp_path: Path) -> None:
    """Setups travel cloudpickled: plain pickle cannot send a lambda."""
    trainer = TorchTrainer(lambda_loop, scaling_config=TWO,
                           train_loop_config={"scale": lambda rank: rank * 10.0},
                           run_config=run_config(tmp_path, "lambda"))
    assert trainer.fit().metrics["value"] == 10.0  # rank 0's report


def test_an_unpicklable_train_loop_config_is_a_config_error(tmp_path: Path) -> None:
    from tuner import ConfigError

    with open(tmp_path / "log.txt", "w") as log:
        trainer = TorchTrainer(lambda_loop, scaling_config=TWO,
                               train_loop_config={"log": log},
                               run_config=run_config(tmp_path, "file"))
        with pytest.raises((ConfigError, TrialError), match="cannot be sent"):
            trainer.fit()
