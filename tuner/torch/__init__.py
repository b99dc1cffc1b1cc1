"""Data-parallel PyTorch training on a group of processes, as a trial of the engine.

Example:
    >>> import torch
    >>> from tuner import ScalingConfig, report, get_context
    >>> from tuner.torch import TorchTrainer, prepare_model, shard
    >>> def train_loop(config):
    ...     model = prepare_model(torch.nn.Linear(1, 1))  # DistributedDataParallel
    ...     data = shard(torch.arange(64.0))  # this rank's share
    ...     for epoch in range(config["epochs"]):
    ...         report({"epoch": epoch, "rank": get_context().world_rank})
    >>> result = TorchTrainer(train_loop, train_loop_config={"epochs": 2},
    ...                       scaling_config=ScalingConfig(num_workers=2)).fit()  # doctest: +SKIP
"""

from tuner.torch._config import TorchConfig
from tuner.torch._prepare import get_device, prepare_data_loader, prepare_model, shard
from tuner.torch._scaling import ScalingConfig
from tuner.torch._trainer import TorchTrainer

__all__ = [
    "ScalingConfig",
    "TorchConfig",
    "TorchTrainer",
    "get_device",
    "prepare_data_loader",
    "prepare_model",
    "shard",
]
