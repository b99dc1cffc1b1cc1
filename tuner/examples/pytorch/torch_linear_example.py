"""`torch_linear_example`: fit a line with a small network on every rank of a `TorchTrainer`.

The data are points of ``y = 2x + 5`` for x in [0, 1); the model is
``Linear(1, hidden_size) -> Linear(hidden_size, 1)``, trained with SGD on mean squared error.
Each rank trains on its shard (`prepare_data_loader`); after each epoch every rank reports the
validation loss, and rank 0's checkpoint (``model.pt``: the model's state and the epoch) is the
trial's. A run resumed from a checkpoint continues at the next epoch.

Config keys (all optional): ``lr`` (1e-2), ``batch_size`` (32), ``hidden_size`` (1),
``epochs`` (3), ``data_size`` (1000), ``val_size`` (400).

Example:
    >>> from tuner.examples.pytorch.torch_linear_example import train_linear
    >>> result = train_linear(num_workers=2, epochs=2)  # doctest: +SKIP
    >>> result.metrics["loss"] < 100  # doctest: +SKIP
    True
"""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING, Any

import torch

from tuner._config import RunConfig
from tuner._session import get_checkpoint, get_context, report
from tuner.storage._checkpoint import Checkpoint
from tuner.torch import TorchTrainer, prepare_data_loader, prepare_model
from tuner.torch._scaling import ScalingConfig

if TYPE_CHECKING:
    from tuner.analysis._result import Result

SLOPE, INTERCEPT = 2.0, 5.0


def line_data(size: int) -> torch.utils.data.TensorDataset:
    """`size` evenly spaced points of the line on [0, 1), as (x, y) column tensors."""
    x = torch.linspace(0.0, 1.0, size + 1)[:-1].unsqueeze(1)
    return torch.utils.data.TensorDataset(x, SLOPE * x + INTERCEPT)


def _bare(model: torch.nn.Module) -> torch.nn.Module:
    """The model inside a `DistributedDataParallel` wrapper (outside a trainer it is bare)."""
    inner = getattr(model, "module", model)
    return inner if isinstance(inner, torch.nn.Module) else model


def _validation_loss(model: torch.nn.Module, loader: Any, loss_fn: torch.nn.Module) -> float:
    model.eval()
    total, batches = 0.0, 0
    with torch.no_grad():
        for x, y in loader:
            total += float(loss_fn(model(x), y))
            batches += 1
    model.train()
    return total / max(batches, 1)


def train_func(config: dict[str, Any]) -> None:
    """The train loop of one rank (see the module's docstring for the config keys)."""
    batch_size = int(config.get("batch_size", 32))
    train_loader = prepare_data_loader(
        torch.utils.data.DataLoader(
            line_data(int(config.get("data_size", 1000))), batch_size=batch_size, shuffle=True
        )
    )
    val_loader = prepare_data_loader(
        torch.utils.data.DataLoader(line_data(int(config.get("val_size", 400))), batch_size=batch_size)
    )
    hidden = int(config.get("hidden_size", 1))
    model = prepare_model(torch.nn.Sequential(torch.nn.Linear(1, hidden), torch.nn.Linear(hidden, 1)))
    optimizer = torch.optim.SGD(model.parameters(), lr=float(config.get("lr", 1e-2)))
    loss_fn = torch.nn.MSELoss()

    first_epoch = 0
    checkpoint = get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as directory:
            saved = torch.load(os.path.join(directory, "model.pt"), weights_only=True)
        _bare(model).load_state_dict(saved["model"])
        first_epoch = int(saved["epoch"]) + 1

    for epoch in range(first_epoch, int(config.get("epochs", 3))):
        set_epoch = getattr(getattr(train_loader, "sampler", None), "set_epoch", None)
        if set_epoch is not None:
            set_epoch(epoch)  # a different shuffle per epoch on every rank
        for x, y in train_loader:
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
        loss = _validation_loss(model, val_loader, loss_fn)
        with tempfile.TemporaryDirectory() as directory:
            saved_here = None
            if get_context().get_world_rank() == 0:
                state = {"model": _bare(model).state_dict(), "epoch": epoch}
                torch.save(state, os.path.join(directory, "model.pt"))
                saved_here = Checkpoint.from_directory(directory)
            report({"loss": loss, "epoch": epoch}, checkpoint=saved_here)


def train_linear(
    num_workers: int = 2,
    use_gpu: bool = False,
    epochs: int = 3,
    storage_path: str | None = None,
) -> Result:
    """Train the line on `num_workers` ranks for `epochs` epochs and return the `Result`."""
    trainer = TorchTrainer(
        train_func,
        train_loop_config={"lr": 1e-2, "hidden_size": 1, "batch_size": 4, "epochs": epochs},
        scaling_config=ScalingConfig(num_workers=num_workers, use_gpu=use_gpu),
        run_config=RunConfig(storage_path=storage_path),
    )
    return trainer.fit()
