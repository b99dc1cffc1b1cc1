"""``ray.train._checkpoint``, which Ray's docs import `Checkpoint` from: `tuner.Checkpoint`."""

from tuner.storage._checkpoint import Checkpoint

__all__ = ["Checkpoint"]
