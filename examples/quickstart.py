"""Quick start: tune a learning rate and a layer count with random search.

Run: python examples/quickstart.py
"""

from __future__ import annotations

import tempfile

from tuner import RunConfig, TuneConfig, Tuner, choice, loguniform, report


def train_fn(config: dict) -> None:
    for step in range(10):
        report({"loss": (config["lr"] - 0.01) ** 2 / (step + 1) + 0.001 * config["layers"]})


def main(storage_path: str | None = None) -> None:
    grid = Tuner(
        train_fn,
        param_space={"lr": loguniform(1e-4, 1e-1), "layers": choice([1, 2, 3])},
        tune_config=TuneConfig(metric="loss", mode="min", num_samples=50, seed=7),
        run_config=RunConfig(
            name="quickstart",
            storage_path=storage_path or tempfile.mkdtemp(prefix="tuner-quickstart-"),
            stop={"training_iteration": 10},
        ),
    ).fit()
    best = grid.get_best_result()
    print("best config:", best.config, "loss:", best.metrics["loss"])
    print(grid.get_dataframe()[["trial_id", "loss", "config/lr", "config/layers"]].head())


if __name__ == "__main__":
    main()
