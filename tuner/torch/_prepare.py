"""Helpers for a train loop on many ranks: the rank's device, a DDP model, sharded data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import torch
    from torch.utils.data import DataLoader, Dataset

T = TypeVar("T")


def _rank_session() -> Any:
    from tuner._session import _local, _process_session
    from tuner.torch._rank import RankSession

    session = getattr(_local, "session", None) or _process_session
    return session if isinstance(session, RankSession) else None


def _world() -> tuple[int, int]:
    """(rank, world size) of the running process group, or (0, 1) outside one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def get_device() -> torch.device:
    """The device this rank trains on: ``cuda:<local_rank>`` with `use_gpu`, else the CPU.

    Outside a `TorchTrainer` it is the CPU.

    Example:
        >>> get_device()
        device(type='cpu')
    """
    import torch

    session = _rank_session()
    return session.device if session is not None else torch.device("cpu")


def prepare_model(
    model: torch.nn.Module,
    *,
    move_to_device: bool = True,
    parallel_strategy: str | None = "ddp",
    parallel_strategy_kwargs: Mapping[str, Any] | None = None,
) -> torch.nn.Module:
    """Move `model` to this rank's device and wrap it in `DistributedDataParallel`.

    Inside a `TorchTrainer` the model is always wrapped (even with one worker), so that
    ``model.module`` is the bare model on every group size; outside one it is only moved.

    Args:
        model: The model, built the same way on every rank.
        move_to_device: Move it to `get_device()` first.
        parallel_strategy: "ddp", or None to leave it unwrapped.
        parallel_strategy_kwargs: Keyword arguments for `DistributedDataParallel`.

    Example:
        >>> import torch
        >>> prepare_model(torch.nn.Linear(3, 1)).weight.shape  # outside a trainer: only moved
        torch.Size([1, 3])
    """
    from tuner.exceptions import ConfigError

    if parallel_strategy not in ("ddp", None):
        raise ConfigError(
            f"prepare_model(parallel_strategy) must be 'ddp' or None, got {parallel_strategy!r}"
        )
    device = get_device()
    if move_to_device:
        model = model.to(device)
    import torch.distributed as dist

    if parallel_strategy is None or not (dist.is_available() and dist.is_initialized()):
        return model
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids, **dict(parallel_strategy_kwargs or {}))


def prepare_data_loader(loader: DataLoader[Any], *, add_dist_sampler: bool = True) -> DataLoader[Any]:
    """A copy of `loader` that gives this rank its own shard of the dataset.

    The copy samples with a `DistributedSampler` (shuffling if `loader` shuffled) whose epoch
    moves on each time the loader is iterated, so every epoch shuffles differently yet the same
    on all ranks. Every rank gets the same number of batches (the sampler pads the last shard),
    which DDP needs. Batches stay on the CPU: move them with ``.to(get_device())``.
    Outside a group, or with one rank, `loader` is returned as it is.

    Example:
        >>> import torch
        >>> from torch.utils.data import DataLoader, TensorDataset
        >>> loader = DataLoader(TensorDataset(torch.arange(8.0)), batch_size=4)
        >>> prepare_data_loader(loader) is loader  # outside a trainer
        True
    """
    from torch.utils.data import DataLoader, DistributedSampler, RandomSampler

    rank, world_size = _world()
    if not add_dist_sampler or world_size == 1 or isinstance(loader.sampler, DistributedSampler):
        return loader
    if loader.batch_sampler is not None and loader.batch_size is None:
        from tuner.exceptions import ConfigError

        raise ConfigError(
            "prepare_data_loader() shards loaders that batch with batch_size, got a loader with "
            "a custom batch_sampler: shard its dataset yourself, e.g. with shard(dataset)"
        )

    class _EpochSampler(DistributedSampler):
        def __iter__(self) -> Any:
            indices = super().__iter__()
            self.epoch += 1
            return indices

    sampler = _EpochSampler(
        loader.dataset,
        num_replicas=world_size,
        rank=rank,
        shuffle=isinstance(loader.sampler, RandomSampler),
    )
    return DataLoader(
        loader.dataset,
        batch_size=loader.batch_size,
        sampler=sampler,
        num_workers=loader.num_workers,
        collate_fn=loader.collate_fn,
        pin_memory=loader.pin_memory,
        drop_last=loader.drop_last,
        timeout=loader.timeout,
        worker_init_fn=loader.worker_init_fn,
        multiprocessing_context=loader.multiprocessing_context,
        generator=loader.generator,
        persistent_workers=loader.persistent_workers,
    )


def shard(data: Sequence[T] | Dataset[T]) -> Any:
    """This rank's share of `data`: items ``rank, rank + world_size, ...``, equal on all ranks.

    Every rank gets ``len(data) // world_size`` items (the remainder is dropped), so that all
    ranks run the same number of steps, as DDP needs. A torch `Dataset` gives a `Subset`;
    anything else that slices (lists, tuples, tensors, arrays) gives a slice of its own type.
    Outside a group it is `data` itself.

    Example:
        >>> shard(list(range(10)))  # outside a trainer: everything
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    """
    rank, world_size = _world()
    if world_size == 1:
        return data
    size = len(data) // world_size  # type: ignore[arg-type]
    from torch.utils.data import Dataset, Subset

    if isinstance(data, Dataset):
        indices = range(rank, size * world_size, world_size)
        return Subset(data, list(indices))
    return data[rank : size * world_size : world_size]
