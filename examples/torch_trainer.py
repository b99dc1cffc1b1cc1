"""Data-parallel training with TorchTrainer: two CPU workers fit a small MLP on two spirals.

Each worker is its own process in a gloo process group; the model is wrapped in
DistributedDataParallel and each worker trains on its half of every epoch. Rank 0 saves a
checkpoint every epoch; every rank reports, and `report` returns once the checkpoint is stored.
The run is then "restored" (a finished run resumes nothing: restore is for a crashed driver)
and tuned: each trial of the Tuner is a whole worker group.

Run: python examples/torch_trainer.py   (about half a minute on two cores)
"""

from __future__ import annotations

import math
import os
import tempfile

import torch
from torch.utils.data import DataLoader, TensorDataset

from tuner import (
    Checkpoint,
    CheckpointConfig,
    RunConfig,
    TuneConfig,
    Tuner,
    get_checkpoint,
    get_context,
    loguniform,
    report,
)
from tuner.torch import ScalingConfig, TorchTrainer, prepare_data_loader, prepare_model


def two_spirals(n: int, seed: int) -> TensorDataset:
    """`n` points on two interleaved spirals, labelled by spiral: a small non-linear dataset."""
    generator = torch.Generator().manual_seed(seed)
    t = torch.rand(n, generator=generator) * 3 * math.pi
    label = torch.randint(0, 2, (n,), generator=generator)
    sign = 1 - 2 * label.float()
    x = torch.stack([sign * t * torch.cos(t), sign * t * torch.sin(t)], dim=1) / (3 * math.pi)
    x += 0.02 * torch.randn(n, 2, generator=generator)
    return TensorDataset(x, label)


def make_model(hidden: int) -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Linear(2, hidden), torch.nn.Tanh(),
        torch.nn.Linear(hidden, hidden), torch.nn.Tanh(),
        torch.nn.Linear(hidden, 2),
    )


def train_loop_per_worker(config: dict) -> None:
    torch.manual_seed(0)
    model = prepare_model(make_model(config["hidden"]))  # wrapped in DistributedDataParallel
    optimizer = torch.optim.Adam(model.parameters(), lr=config["lr"])
    start = 0
    checkpoint = get_checkpoint()
    if checkpoint:
        with checkpoint.as_directory() as d:
            state = torch.load(os.path.join(d, "state.pt"))
        model.module.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start = state["epoch"] + 1
    train = prepare_data_loader(DataLoader(two_spirals(2048, seed=1), batch_size=64, shuffle=True))
    x_val, y_val = two_spirals(512, seed=2).tensors
    rank = get_context().world_rank
    for epoch in range(start, config["epochs"]):
        model.train()
        for x, y in train:  # this worker's half of the data
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()  # DDP averages the gradients of all workers here
            optimizer.step()
        with torch.no_grad():
            accuracy = (model(x_val).argmax(dim=1) == y_val).float().mean().item()
        with tempfile.TemporaryDirectory() as d:
            if rank == 0:
                torch.save({"model": model.module.state_dict(),
                            "optimizer": optimizer.state_dict(), "epoch": epoch},
                           os.path.join(d, "state.pt"))
            report({"loss": loss.item(), "accuracy": accuracy, "epoch": epoch},
                   checkpoint=Checkpoint.from_directory(d))


def main(storage_path: str | None = None) -> None:
    storage = storage_path or tempfile.mkdtemp(prefix="tuner-torch-trainer-")
    trainer = TorchTrainer(
        train_loop_per_worker,
        train_loop_config={"epochs": 12, "lr": 0.03, "hidden": 64},
        scaling_config=ScalingConfig(num_workers=2, use_gpu=False),
        run_config=RunConfig(
            storage_path=storage,
            name="spirals",
            checkpoint_config=CheckpointConfig(num_to_keep=2,
                                               checkpoint_score_attribute="accuracy"),
            verbose=0,
        ),
    )
    result = trainer.fit()
    print(f"trained: epoch={result.metrics['epoch']} accuracy={result.metrics['accuracy']:.3f}")
    print("latest checkpoint:", result.checkpoint)
    print("kept checkpoints, best first:",
          [round(metrics["accuracy"], 3) for _, metrics in result.best_checkpoints])

    # After a crash of this script, the same call resumes from the latest checkpoint.
    path = os.path.join(storage, "spirals")
    if TorchTrainer.can_restore(path):
        restored = TorchTrainer.restore(path, train_loop_per_worker=train_loop_per_worker,
                                        scaling_config=ScalingConfig(num_workers=2)).fit()
        print(f"restored: status={restored.status} epoch={restored.metrics['epoch']}")

    # Tuning: every trial is a group of two workers (the trial holds 2 CPUs).
    grid = Tuner(
        trainer,
        param_space={"train_loop_config": {"lr": loguniform(1e-2, 6e-2), "epochs": 6}},
        tune_config=TuneConfig(metric="accuracy", mode="max", num_samples=2, seed=3),
        run_config=RunConfig(storage_path=storage, name="spirals-tuned", verbose=0),
    ).fit()
    best = grid.get_best_result()
    print(f"tuned: {len(grid)} trials, best lr={best.config['train_loop_config']['lr']:.4f} "
          f"accuracy={best.metrics['accuracy']:.3f}")


if __name__ == "__main__":
    main()
