"""ASHA: stop unpromising trials early and spend the iterations on the good ones.

Trains a small logistic-regression model with SGD on synthetic data, one epoch per iteration,
for 27 sampled (lr, l2) configs. ASHA (grace_period=1, reduction_factor=3, max_t=27) stops a
trial at iteration 1, 3 or 9 unless its validation loss is in the top third of those recorded at
that rung, so most configs get a few epochs and only the best get all 27.

Run: python examples/asha.py
"""

from __future__ import annotations

import tempfile
from typing import Any

import numpy as np

from schedulers import ASHAScheduler
from tuner import InProcessExecutor, RunConfig, TuneConfig, Tuner, loguniform, report

MAX_T = 27


def make_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(600, 20))
    w = rng.normal(size=20)
    y = (x @ w + rng.normal(scale=2.0, size=600) > 0).astype(float)
    return x, y


def train_fn(config: dict[str, Any]) -> None:
    x, y = make_data()
    x_train, y_train, x_val, y_val = x[:400], y[:400], x[400:], y[400:]
    w = np.zeros(x.shape[1])
    rng = np.random.default_rng(1)
    for _ in range(MAX_T):
        for batch in np.array_split(rng.permutation(len(x_train)), 20):
            p = 1 / (1 + np.exp(-x_train[batch] @ w))
            grad = x_train[batch].T @ (p - y_train[batch]) / len(batch) + config["l2"] * w
            w -= config["lr"] * grad
        p_val = np.clip(1 / (1 + np.exp(-x_val @ w)), 1e-7, 1 - 1e-7)
        loss = -np.mean(y_val * np.log(p_val) + (1 - y_val) * np.log(1 - p_val))
        report({"val_loss": float(loss), "val_acc": float(np.mean((p_val > 0.5) == y_val))})


def main(storage_path: str | None = None) -> None:
    grid = Tuner(
        train_fn,
        param_space={"lr": loguniform(1e-4, 1.0), "l2": loguniform(1e-5, 1e-1)},
        tune_config=TuneConfig(
            metric="val_loss", mode="min", num_samples=27, seed=3,
            scheduler=ASHAScheduler(max_t=MAX_T, grace_period=1, reduction_factor=3),
        ),
        run_config=RunConfig(
            name="asha", storage_path=storage_path or tempfile.mkdtemp(prefix="tuner-asha-"),
            verbose=0,
        ),
        executor=InProcessExecutor(),  # numpy steps of a few ms: threads beat processes here
    ).fit()
    best = grid.get_best_result()
    used = sum(r.metrics["training_iteration"] for r in grid)
    print(f"best config: lr={best.config['lr']:.4g} l2={best.config['l2']:.3g} "
          f"val_loss={best.metrics['val_loss']:.4f} val_acc={best.metrics['val_acc']:.3f} "
          f"after {best.metrics['training_iteration']} epochs")
    print(f"iterations used: {used} of {len(grid) * MAX_T} ({used / (len(grid) * MAX_T):.0%}) "
          "that training every config to the end would take")
    epochs = sorted(r.metrics["training_iteration"] for r in grid)
    print("epochs per trial:", {e: epochs.count(e) for e in sorted(set(epochs))})


if __name__ == "__main__":
    main()
