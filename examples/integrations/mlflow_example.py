"""Log a search to MLflow: one run per trial, read back with MLflow's own client.

`MLflowLoggerCallback` gives each trial a run in a local SQLite tracking store with its config
as params, every result's numbers as metrics (step = training_iteration), its status at the end
(one trial fails on purpose: FAILED), and its files and checkpoints as artifacts. A second
search logs from inside the trainable with `setup_mlflow`. Runs in seconds, no server, no
network:

    python examples/integrations/mlflow_example.py
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from mlflow import MlflowClient

from tuner import Checkpoint, RunConfig, TuneConfig, Tuner, grid_search, report
from tuner.integrations.mlflow import MLflowLoggerCallback, setup_mlflow


def train_fn(config: dict[str, Any]) -> None:
    for step in range(1, 6):
        if config["lr"] > 0.5 and step == 3:
            raise ValueError("diverged: the learning rate is too large")
        with tempfile.TemporaryDirectory() as d:
            Path(d, "weights.txt").write_text(f"{config['lr'] * step}")
            report({"loss": (config["lr"] - 0.1) ** 2 + 1 / step},
                   checkpoint=Checkpoint.from_directory(d))


def logs_itself(config: dict[str, Any]) -> None:
    mlflow = setup_mlflow(config, tracking_uri=config["tracking_uri"],
                          experiment_name="from-inside", create_experiment_if_not_exists=True)
    for step in range(3):
        mlflow.log_metric("score", config["x"] * step, step=step)
        report({"score": config["x"] * step})


def main() -> None:
    with tempfile.TemporaryDirectory() as root:
        os.chdir(root)  # a new experiment keeps its artifacts in ./mlruns
        uri = f"sqlite:///{root}/mlflow.db"
        Tuner(
            train_fn,
            param_space={"lr": grid_search([0.01, 0.1, 0.9]), "model": {"layers": 2}},
            tune_config=TuneConfig(metric="loss", mode="min"),
            run_config=RunConfig(storage_path=root, name="search", verbose=0, callbacks=[
                MLflowLoggerCallback(uri, experiment_name="search", save_artifact=True)]),
        ).fit()
        inside = Tuner(logs_itself, param_space={"x": grid_search([1, 2]), "tracking_uri": uri},
                       run_config=RunConfig(storage_path=root, name="inside", verbose=0)).fit()
        assert not inside.errors, inside.errors

        client = MlflowClient(uri)
        for name in ("search", "from-inside"):
            experiment = client.get_experiment_by_name(name)
            assert experiment is not None
            print(f"MLflow experiment {name!r}:")
            for run in sorted(client.search_runs([experiment.experiment_id]),
                              key=lambda r: r.info.run_name):
                metric = "loss" if name == "search" else "score"
                history = client.get_metric_history(run.info.run_id, metric)
                steps = [(m.step, round(m.value, 3)) for m in history]
                files = sorted(a.path for a in client.list_artifacts(run.info.run_id))
                print(f"  {run.info.run_name} {run.info.status} params={run.data.params}")
                print(f"    {metric} by step: {steps}")
                if files:
                    print(f"    artifacts: {files}")
        os.chdir("/")


if __name__ == "__main__":
    main()
