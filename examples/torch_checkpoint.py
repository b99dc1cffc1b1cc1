"""A real torch model with checkpoints: one trial is killed mid-run and resumes from its epoch.

Each trial trains a small MLP on a synthetic regression task and reports, every epoch, its loss
and a checkpoint holding the model, the optimizer and the epoch in one dict. The first time the
trial with the largest learning rate reaches epoch 3, its worker process is killed (SIGKILL, as
if the machine had run out of memory); FailureConfig retries it, `get_checkpoint()` hands back
its latest checkpoint, and training continues from the epoch after it instead of from zero.

Run: python examples/torch_checkpoint.py   (needs torch: pip install torch==2.13.0)
"""

from __future__ import annotations

import os
import signal
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tuner import (
    Checkpoint,
    CheckpointConfig,
    FailureConfig,
    RunConfig,
    TuneConfig,
    Tuner,
    get_checkpoint,
    get_context,
    grid_search,
    report,
)


def make_data(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(512, 8, generator=generator)
    y = (x[:, :1] * 2.0 - x[:, 1:2] + 0.1 * torch.randn(512, 1, generator=generator)).tanh()
    return x, y


def train_fn(config: dict[str, Any]) -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=config["lr"], momentum=0.9)
    start = 0
    checkpoint = get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as d:
            state = torch.load(os.path.join(d, "state.pt"))
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start = state["epoch"] + 1
    x, y = make_data()
    for epoch in range(start, config["epochs"]):
        marker = Path(config["kill_marker"])
        if config["lr"] == config["kill_lr"] and epoch == 3 and not marker.exists():
            marker.write_text(get_context().trial_id)
            os.kill(os.getpid(), signal.SIGKILL)  # dies mid-run, after checkpoints 0..2
        for i in range(0, len(x), 64):
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(x[i : i + 64]), y[i : i + 64])
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            full_loss = nn.functional.mse_loss(model(x), y).item()
        with tempfile.TemporaryDirectory() as d:
            torch.save(
                {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch},
                os.path.join(d, "state.pt"),
            )
            report({"loss": full_loss, "epoch": epoch, "started_at_epoch": start},
                   checkpoint=Checkpoint.from_directory(d))


def main(storage_path: str | None = None) -> None:
    storage = storage_path or tempfile.mkdtemp(prefix="tuner-torch-")
    lrs = [0.01, 0.05, 0.1]
    grid = Tuner(
        train_fn,
        param_space={
            "lr": grid_search(lrs),
            "epochs": 6,
            "kill_lr": max(lrs),
            "kill_marker": os.path.join(storage, "killed-once"),
        },
        tune_config=TuneConfig(metric="loss", mode="min"),
        run_config=RunConfig(
            name="torch_checkpoint",
            storage_path=storage,
            checkpoint_config=CheckpointConfig(
                num_to_keep=2, checkpoint_score_attribute="loss", checkpoint_score_order="min"
            ),
            failure_config=FailureConfig(max_failures=2),
            verbose=0,
        ),
    ).fit()
    for result in grid:
        print(
            f"lr={result.config['lr']:<5} status={result.status} final epoch="
            f"{result.metrics['epoch']} loss={result.metrics['loss']:.4f} "
            f"(this run started at epoch {result.metrics['started_at_epoch']})"
        )
    killed = next(r for r in grid if r.config["lr"] == max(lrs))
    print(f"the killed trial (lr={killed.config['lr']}) resumed at epoch "
          f"{killed.metrics['started_at_epoch']} instead of starting over")
    best = grid.get_best_result()
    print(f"best: lr={best.config['lr']} loss={best.metrics['loss']:.4f}, "
          f"best checkpoint {best.get_best_checkpoint('loss', 'min')}")


if __name__ == "__main__":
    main()
