"""A driver script for the crash tests: `python restore_driver.py run|restore|files STORAGE NAME`.

`run` starts an experiment (the test kills it with SIGKILL at some moment); `restore` continues
it with `Tuner.restore` (and may be killed as well); `files` prints, as JSON on the last line,
what every trial's files on storage hold: the epochs of each `result.json` line and of each
`progress.csv` row, and the steps of the `tune/epoch` scalar as TensorBoard's own reader
(`EventAccumulator`) sees them, plus the final ResultGrid read back with `ResultGrid.from_path`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tuner import (
    Checkpoint,
    ResultGrid,
    RunConfig,
    TuneConfig,
    Tuner,
    get_checkpoint,
    report,
    uniform,
)
from tuner.storage._filesystem import resolve_storage

EPOCHS = 8


def train(config: dict[str, Any]) -> None:
    start = 0
    checkpoint = get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as d:
            start = json.loads(Path(d, "state.json").read_text())["epoch"] + 1
    for epoch in range(start, EPOCHS):
        time.sleep(config["sleep"])
        with tempfile.TemporaryDirectory() as d:
            Path(d, "state.json").write_text(json.dumps({"epoch": epoch}))
            Path(d, "weights.bin").write_bytes(os.urandom(config["ckpt_bytes"]))
            report({"epoch": epoch, "start": start, "score": config["x"] * epoch},
                   checkpoint=Checkpoint.from_directory(d))


def _tensorboard_steps(fs: Any, trial_path: str) -> list[int]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    with tempfile.TemporaryDirectory() as local:
        for name in fs.ls(trial_path, detail=False):
            base = name.rstrip("/").rsplit("/", 1)[-1]
            if base.startswith("events.out.tfevents."):
                fs.get_file(name, os.path.join(local, base))
        accumulator = EventAccumulator(local, size_guidance={"scalars": 0})
        accumulator.Reload()
        if "tune/epoch" not in accumulator.Tags()["scalars"]:
            return []
        return [event.step for event in accumulator.Scalars("tune/epoch")]


def files_summary(storage: str, name: str) -> dict[str, Any]:
    path = f"{storage.rstrip('/')}/{name}"
    fs, _ = resolve_storage(path)
    fs.invalidate_cache()
    grid = ResultGrid.from_path(path)
    trials = []
    for result in grid:
        json_epochs = [
            json.loads(line)["epoch"]
            for line in fs.cat_file(f"{result.path}/result.json").decode().splitlines()
        ]
        rows = list(csv.DictReader(io.StringIO(fs.cat_file(f"{result.path}/progress.csv").decode())))
        trials.append({
            "trial_id": result.trial_id,
            "status": result.status,
            "x": result.config["x"],
            "epoch": result.metrics.get("epoch"),
            "start": result.metrics.get("start"),
            "json_epochs": json_epochs,
            "csv_epochs": [int(row["epoch"]) for row in rows],
            "csv_iterations": [int(row["training_iteration"]) for row in rows],
            "tb_steps": _tensorboard_steps(fs, result.path),
            "history_epochs": [row["epoch"] for row in result.metrics_dataframe.to_dict("records")],
            "checkpoints": sorted(c.path for c, _ in result.best_checkpoints),
            "latest_checkpoint": result.checkpoint.path if result.checkpoint else None,
            "path": result.path,
        })
    return {"trials": trials}


def main() -> None:
    mode, storage, name = sys.argv[1], sys.argv[2], sys.argv[3]
    ckpt_bytes = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    path = f"{storage.rstrip('/')}/{name}"
    if mode == "run":
        Tuner(
            train,
            param_space={"x": uniform(0, 1), "sleep": 0.05, "ckpt_bytes": ckpt_bytes},
            tune_config=TuneConfig(metric="score", mode="max", num_samples=6,
                                   max_concurrent_trials=2, seed=11),
            run_config=RunConfig(storage_path=storage, name=name, verbose=0),
        ).fit()
    elif mode == "restore":
        Tuner.restore(path, trainable=train).fit()
    else:
        print(json.dumps(files_summary(storage, name)))


if __name__ == "__main__":
    main()
