"""A class trainable: state lives on the object, one `step()` is one iteration, checkpoints are
written by `save_checkpoint` when the engine asks for them.

A tiny logistic regression is trained by gradient descent in numpy. `CheckpointConfig` asks for
a checkpoint every 5 iterations and at the end, keeping the 2 best by accuracy; the best trial's
best checkpoint is then loaded back into a fresh instance, as one would before serving it.

Run: python examples/class_trainable.py
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

import numpy as np

from tuner import (
    CheckpointConfig,
    RunConfig,
    Trainable,
    TuneConfig,
    Tuner,
    choice,
    loguniform,
)


def make_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(400, 5))
    y = (x @ np.array([1.5, -2.0, 0.5, 0.0, 1.0]) + 0.3 * rng.normal(size=400) > 0).astype(float)
    return x, y


class LogisticRegression(Trainable):
    def setup(self, config: dict[str, Any]) -> None:
        self.x, self.y = make_data()
        self.lr = config["lr"]
        self.l2 = config["l2"]
        self.w = np.zeros(self.x.shape[1])

    def step(self) -> dict[str, Any]:
        p = 1 / (1 + np.exp(-self.x @ self.w))
        grad = self.x.T @ (p - self.y) / len(self.y) + self.l2 * self.w
        self.w -= self.lr * grad
        eps = 1e-9
        loss = -np.mean(self.y * np.log(p + eps) + (1 - self.y) * np.log(1 - p + eps))
        return {"loss": float(loss), "accuracy": float(np.mean((p > 0.5) == self.y)),
                "done": self.iteration + 1 >= 20}

    def save_checkpoint(self, checkpoint_dir: str) -> None:
        with open(os.path.join(checkpoint_dir, "weights.json"), "w") as f:
            json.dump(self.w.tolist(), f)

    def load_checkpoint(self, checkpoint: str | dict[str, Any]) -> None:
        assert isinstance(checkpoint, str)
        with open(os.path.join(checkpoint, "weights.json")) as f:
            self.w = np.array(json.load(f))


def main(storage_path: str | None = None) -> None:
    grid = Tuner(
        LogisticRegression,
        param_space={"lr": loguniform(1e-3, 1.0), "l2": choice([0.0, 1e-3, 1e-1])},
        tune_config=TuneConfig(metric="accuracy", mode="max", num_samples=6, seed=1,
                               max_concurrent_trials=2),
        run_config=RunConfig(
            name="class_trainable",
            storage_path=storage_path or tempfile.mkdtemp(prefix="tuner-class-"),
            checkpoint_config=CheckpointConfig(
                checkpoint_frequency=5, checkpoint_at_end=True, num_to_keep=2,
                checkpoint_score_attribute="accuracy", checkpoint_score_order="max",
            ),
        ),
    ).fit()
    best = grid.get_best_result()
    print(f"best config: lr={best.config['lr']:.4g} l2={best.config['l2']}")
    print(f"best accuracy: {best.metrics['accuracy']:.3f} after {best.metrics['training_iteration']} steps")
    checkpoint = best.get_best_checkpoint("accuracy", "max")
    assert checkpoint is not None
    print(f"kept checkpoints: {len(best.best_checkpoints)}")
    model = LogisticRegression(best.config)
    with checkpoint.as_directory() as d:
        model.load_checkpoint(d)
    print(f"restored weights: {np.round(model.w, 2).tolist()}")


if __name__ == "__main__":
    main()
