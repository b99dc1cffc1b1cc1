"""`DataParallelTrainer`: Ray Train's name for a trainer that runs one train loop on N workers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tuner._config import RunConfig
from tuner.exceptions import ConfigError
from tuner.torch._config import TorchConfig
from tuner.torch._scaling import ScalingConfig
from tuner.torch._trainer import TorchTrainer


class DataParallelTrainer(TorchTrainer):
    """Runs `train_loop_per_worker` on `num_workers` ranks (Ray Train's `DataParallelTrainer`).

    Every rank has `get_context()` (world rank and size), `report()` and `get_checkpoint()`,
    exactly as in a `TorchTrainer`; tuner's worker groups always run on `torch.distributed`, so
    this is a `TorchTrainer` whose process group the train loop may ignore, and it needs
    PyTorch installed. `backend_config` is Ray's name for `torch_config`. Ray Data's
    `datasets` are not supported: load data in the train loop.

    Example:
        >>> from tuner import ScalingConfig, report, get_context
        >>> def train_fn(config):
        ...     report({"rank": get_context().get_world_rank()})
        >>> trainer = DataParallelTrainer(train_fn,
        ...                               scaling_config=ScalingConfig(num_workers=2))
        >>> trainer.fit().metrics["rank"]  # doctest: +SKIP
        0
    """

    def __init__(
        self,
        train_loop_per_worker: Callable[..., Any],
        *,
        train_loop_config: Mapping[str, Any] | None = None,
        backend_config: TorchConfig | None = None,
        scaling_config: ScalingConfig | None = None,
        run_config: RunConfig | None = None,
        datasets: Mapping[str, Any] | None = None,
    ) -> None:
        if datasets:
            raise ConfigError(
                f"DataParallelTrainer(datasets=...) takes Ray Data datasets, which tuner does "
                f"not have (got {sorted(datasets)}): load and shard the data inside the train "
                "loop, e.g. with tuner.torch.prepare_data_loader or tuner.torch.shard"
            )
        super().__init__(
            train_loop_per_worker,
            train_loop_config=train_loop_config,
            scaling_config=scaling_config,
            run_config=run_config,
            torch_config=backend_config,
        )
