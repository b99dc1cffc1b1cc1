"""Tune a Lightning model's learning rate with Population Based Training.

Each trial fits a small `lightning.LightningModule` on random tensors with a `Trainer` whose
`TuneReportCheckpointCallback` reports the validation loss after every epoch, with a checkpoint
the Trainer writes. Every 2 epochs PBT pauses the trials; the worse one is resumed from the
better one's checkpoint with a perturbed learning rate, and `trainer.fit(ckpt_path=
checkpoint_path())` puts its Trainer back at the epoch and global step of that checkpoint.
Runs in seconds (most of them importing Lightning), on the CPU:

    python examples/integrations/lightning_example.py
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset

from schedulers import PopulationBasedTraining
from tuner import LocalExecutor, RunConfig, TuneConfig, Tuner, grid_search
from tuner.integrations.lightning import TuneReportCheckpointCallback, checkpoint_path

EPOCHS = 6


class Regressor(L.LightningModule):
    def __init__(self, lr: float) -> None:
        super().__init__()
        self.lr = lr
        self.net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(),
                                       torch.nn.Linear(16, 1))
        self.resumed_at = 0

    def on_train_start(self) -> None:
        self.resumed_at = self.global_step  # 0, or the step of the checkpoint resumed from
        for group in self.trainer.optimizers[0].param_groups:
            group["lr"] = self.lr  # after a PBT exploit: this trial's new lr, not the donor's

    def training_step(self, batch: Any, index: int) -> torch.Tensor:
        x, y = batch
        return torch.nn.functional.mse_loss(self.net(x), y)

    def validation_step(self, batch: Any, index: int) -> None:
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y))
        self.log("resumed_at", float(self.resumed_at))
        self.log("global_step", float(self.global_step))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr)


def data(seed: int) -> DataLoader[Any]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(64, 8, generator=generator)
    y = torch.sin(x[:, :1]) + 0.5 * x[:, 1:2]
    return DataLoader(TensorDataset(x, y), batch_size=16)


def train_fn(config: dict[str, Any]) -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    trainer = L.Trainer(
        max_epochs=EPOCHS, accelerator="cpu", devices=1, logger=False,
        enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
        callbacks=[TuneReportCheckpointCallback(["val_loss", "resumed_at", "global_step"])],
    )
    trainer.fit(Regressor(config["lr"]), data(0), data(1), ckpt_path=checkpoint_path())


def main() -> None:
    pbt = PopulationBasedTraining(
        "training_iteration", perturbation_interval=2, quantile_fraction=0.5, synch=True,
        hyperparam_mutations={"lr": [0.003, 0.01, 0.03, 0.1, 0.3]}, seed=0,
    )
    with tempfile.TemporaryDirectory() as storage:
        grid = Tuner(
            train_fn,
            param_space={"lr": grid_search([0.003, 0.1])},
            tune_config=TuneConfig(metric="val_loss", mode="min", scheduler=pbt),
            run_config=RunConfig(storage_path=storage, name="lightning", verbose=0),
            executor=LocalExecutor(num_cpus=1),  # one worker: Lightning is imported once
        ).fit()
        assert not grid.errors, grid.errors
        for result in sorted(grid, key=lambda r: r.path):
            rows = [json.loads(line) for line in
                    Path(result.path, "result.json").read_text().splitlines()]
            resumes = sorted({int(r["resumed_at"]) for r in rows} - {0})
            print(f"{Path(result.path).name}: {len(rows)} epochs, val_loss "
                  f"{rows[0]['val_loss']:.4f} -> {rows[-1]['val_loss']:.4f}, "
                  f"resumed at global steps {resumes}, final lr {result.config['lr']}")
        best = grid.get_best_result()
        print(f"best val_loss: {best.metrics['val_loss']:.4f}")


if __name__ == "__main__":
    main()
