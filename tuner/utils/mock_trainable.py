"""`MyTrainableClass`: the toy trainable Ray Tune's examples import from `ray.tune.utils`.

Its learning curve is ``height * tanh(timestep / width)`` for the config's ``width`` and
``height`` (both default to 1), reported as ``episode_reward_mean``; it checkpoints its
timestep as JSON. Config keys ``sleep`` (seconds per step) and ``mock_error`` (fail once after
the first step, or on every restore too with ``persistent_error``) make it slow or flaky, for
trying schedulers and fault tolerance.

Example:
    >>> trainable = MyTrainableClass({"width": 2, "height": 10})
    >>> round(trainable.step()["episode_reward_mean"], 3)
    4.621
"""

from __future__ import annotations

import json
import math
import os
import time
from typing import Any

from tuner._trainable import Trainable

MOCK_ERROR_KEY = "mock_error"


class MyTrainableClass(Trainable):
    """A trainable whose reward rises as ``height * tanh(timestep / width)``."""

    def setup(self, config: dict[str, Any]) -> None:
        self.timestep = 0
        self.restored = False

    def step(self) -> dict[str, Any]:
        config = self.config
        failing = config.get(MOCK_ERROR_KEY, False) and self.timestep > 0
        if failing and (config.get("persistent_error", False) or not self.restored):
            raise RuntimeError(f"failing on purpose at timestep {self.timestep}")
        if config.get("sleep", 0) > 0:
            time.sleep(config["sleep"])
        self.timestep += 1
        reward = config.get("height", 1) * math.tanh(self.timestep / config.get("width", 1))
        return {"episode_reward_mean": reward}

    def save_checkpoint(self, checkpoint_dir: str) -> None:
        with open(os.path.join(checkpoint_dir, "timestep.json"), "w", encoding="utf-8") as f:
            json.dump({"timestep": self.timestep}, f)

    def load_checkpoint(self, checkpoint: str | dict[str, Any]) -> None:
        if not isinstance(checkpoint, str):  # save_checkpoint writes a directory, never a dict
            raise TypeError(f"expected a checkpoint directory, got {type(checkpoint).__name__}")
        with open(os.path.join(checkpoint, "timestep.json"), encoding="utf-8") as f:
            self.timestep = int(json.load(f)["timestep"])
        self.restored = True


__all__ = ["MOCK_ERROR_KEY", "MyTrainableClass"]
