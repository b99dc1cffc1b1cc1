"""A driver script for the crash tests: `python restore_driver.py run|restore STORAGE NAME`.

`run` starts an experiment (the test kills it with SIGKILL at some moment); `restore` continues
it with `Tuner.restore` and prints a JSON summary of the final ResultGrid on the last line.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tuner import Checkpoint, RunConfig, TuneConfig, Tuner, get_checkpoint, report, uniform

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


def main() -> None:
    mode, storage, name = sys.argv[1], sys.argv[2], sys.argv[3]
    ckpt_bytes = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    if mode == "run":
        Tuner(
            train,
            param_space={"x": uniform(0, 1), "sleep": 0.05, "ckpt_bytes": ckpt_bytes},
            tune_config=TuneConfig(metric="score", mode="max", num_samples=6,
                                   max_concurrent_trials=2, seed=11),
            run_config=RunConfig(storage_path=storage, name=name, verbose=0),
        ).fit()
        return
    path = f"{storage.rstrip('/')}/{name}"
    if not Tuner.can_restore(path):
        print(json.dumps({"restorable": False}))
        return
    grid = Tuner.restore(path, trainable=train).fit()
    summary = []
    for result in grid:
        epochs = [row["epoch"] for row in result.metrics_dataframe.to_dict("records")]
        summary.append({
            "trial_id": result.trial_id,
            "status": result.status,
            "x": result.config["x"],
            "epoch": result.metrics.get("epoch"),
            "start": result.metrics.get("start"),
            "epochs_logged": epochs,
            "checkpoints": sorted(c.path for c, _ in result.best_checkpoints),
            "path": result.path,
        })
    print(json.dumps({"restorable": True, "trials": summary}))


if __name__ == "__main__":
    main()
