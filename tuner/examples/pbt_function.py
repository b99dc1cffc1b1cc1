"""`pbt_function`: a toy problem for schedules of the learning rate (PBT, PB2), as Ray's examples use.

The trainable's "accuracy" grows fastest when `config["lr"]` is near the best learning rate of
the moment, and the best learning rate depends on the accuracy reached: it rises linearly from
0.001 to 0.01 while the accuracy climbs to 100, then falls back to 0.001 at 200 (a triangle wave
over accuracy). A fixed learning rate cannot follow it; a population that copies and perturbs
good trials can. Accuracy above 200 reports ``done=True``.

Each step, with ``ratio = max(lr, best) / min(lr, best)``: within a factor 3 of the best, the
accuracy gains up to ``1 / ratio``; a learning rate more than 3 times too high loses up to
``ratio - 3``; Gaussian noise (sd 2) is added, and the accuracy never goes below 0. It
checkpoints ``{"acc", "step"}`` every ``config["checkpoint_interval"]`` steps (default 1) and
resumes from there. Randomness comes from a generator seeded by ``config.get("seed")``.

Example:
    >>> best_learning_rate(50.0), best_learning_rate(150.0), best_learning_rate(250.0)
    (0.005, 0.005, 0.001)
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

import numpy as np

from tuner._session import get_checkpoint, report
from tuner.storage._checkpoint import Checkpoint

PEAK_ACCURACY = 100.0
"""Where the best learning rate peaks (at 0.01); it is back at 0.001 at twice this."""


def best_learning_rate(accuracy: float) -> float:
    """The learning rate that makes the accuracy grow fastest, at this accuracy."""
    if accuracy < PEAK_ACCURACY:
        rate = 0.01 * accuracy / PEAK_ACCURACY
    else:
        rate = 0.01 * (2.0 - accuracy / PEAK_ACCURACY)
    return float(min(0.01, max(0.001, rate)))


def pbt_function(config: dict[str, Any]) -> None:
    """Train the toy model forever (a stop criterion or `done` ends it); see the module doc."""
    lr = float(config["lr"])
    every = int(config.get("checkpoint_interval", 1))
    rng = np.random.default_rng(config.get("seed"))
    accuracy, step = 0.0, 1
    checkpoint = get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as d, open(os.path.join(d, "checkpoint.json")) as f:
            saved = json.load(f)
        accuracy, step = float(saved["acc"]), int(saved["step"]) + 1
    while True:
        best = best_learning_rate(accuracy)
        ratio = max(lr, best) / min(lr, best)
        if ratio < 3.0:
            accuracy += rng.random() / ratio
        elif lr > best:
            accuracy -= (ratio - 3.0) * rng.random()
        accuracy = max(0.0, accuracy + 2.0 * rng.normal())
        metrics = {"mean_accuracy": accuracy, "cur_lr": lr, "optimal_lr": best, "q_err": ratio,
                   "done": accuracy > 2 * PEAK_ACCURACY}
        if step % every == 0:
            with tempfile.TemporaryDirectory() as d:
                with open(os.path.join(d, "checkpoint.json"), "w") as f:
                    json.dump({"acc": accuracy, "step": step}, f)
                report(metrics, checkpoint=Checkpoint.from_directory(d))
        else:
            report(metrics)
        step += 1


__all__ = ["PEAK_ACCURACY", "best_learning_rate", "pbt_function"]
