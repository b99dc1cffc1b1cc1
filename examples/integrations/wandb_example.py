"""Log a search to Weights & Biases offline: one W&B run per trial, no account, no network.

`WandbLoggerCallback` gives each trial a run (id = trial id, group = experiment name) with its
config, one history row per result and a summary; with PBT and `log_config=True` the rows show
when a trial's config changed. `WANDB_MODE=offline` writes the runs to disk only; `wandb sync
<dir>` would upload them. A second search logs from inside the trainable with `setup_wandb`.
Runs in seconds:

    python examples/integrations/wandb_example.py
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from tuner import RunConfig, TuneConfig, Tuner, grid_search, report
from tuner.integrations.wandb import WandbLoggerCallback, setup_wandb


def train_fn(config: dict[str, Any]) -> None:
    for step in range(1, 6):
        report({"loss": (config["lr"] - 0.1) ** 2 + 1 / step, "eval": {"acc": 1 - 1 / step}})


def logs_itself(config: dict[str, Any]) -> None:
    with setup_wandb(config, project="from-inside") as run:  # finished at the block's end
        for step in range(3):
            run.log({"score": config["x"] * step})
            report({"score": config["x"] * step})


def main() -> None:
    with tempfile.TemporaryDirectory() as root:
        os.environ.update(WANDB_MODE="offline", WANDB_DIR=root, WANDB_SILENT="true")
        Tuner(
            train_fn,
            param_space={"lr": grid_search([0.01, 0.1, 0.5])},
            tune_config=TuneConfig(metric="loss", mode="min"),
            run_config=RunConfig(storage_path=root, name="search", verbose=0, callbacks=[
                WandbLoggerCallback(project="search", log_config=True)]),
        ).fit()
        Tuner(logs_itself, param_space={"x": grid_search([1, 2])},
              run_config=RunConfig(storage_path=root, name="inside", verbose=0)).fit()
        runs = sorted(Path(root, "wandb").glob("offline-run-*"))
        print(f"{len(runs)} offline W&B runs in {Path(root, 'wandb')}:")
        for run in runs:
            log = next(run.glob("run-*.wandb"))
            print(f"  {run.name}: {log.name}, {log.stat().st_size} bytes")
        print("upload them with: wandb sync <dir>/wandb/offline-run-*")


if __name__ == "__main__":
    main()
