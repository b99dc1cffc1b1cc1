"""``ray.train.v2.api.data_parallel_trainer``: where Ray's docs import `DataParallelTrainer` from."""

from tuner.torch._data_parallel import DataParallelTrainer

__all__ = ["DataParallelTrainer"]
