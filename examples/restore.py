"""Restore after a crash: a run is killed mid-experiment, then continued where it stopped.

This script plays both parts. It starts the experiment in a child process (`restore.py run
STORAGE`), waits until the saved experiment state shows a checkpointed trial, and kills the
child and its workers with SIGKILL, as a lost machine would. Then it calls `Tuner.restore`:
finished trials are not run again, interrupted ones resume from their latest checkpoint, and
the searcher continues, so the experiment ends with exactly `num_samples` trials.

`tuner ls STORAGE` prints the same `Tuner.restore(...)` line for any unfinished experiment.

Run: python examples/restore.py
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
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

EPOCHS = 10


def train(config: dict[str, Any]) -> None:
    start = 0
    checkpoint = get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as d:
            start = json.loads(Path(d, "state.json").read_text())["epoch"] + 1
    for epoch in range(start, EPOCHS):
        time.sleep(0.1)  # the training work
        with tempfile.TemporaryDirectory() as d:
            Path(d, "state.json").write_text(json.dumps({"epoch": epoch}))
            report({"score": config["x"] * (epoch + 1), "epoch": epoch, "started_at": start},
                   checkpoint=Checkpoint.from_directory(d))


def run(storage: str) -> None:
    Tuner(
        train,
        param_space={"x": uniform(0, 1)},
        tune_config=TuneConfig(metric="score", mode="max", num_samples=4,
                               max_concurrent_trials=2, seed=5),
        # Save the experiment state often, so that the kill below loses little.
        run_config=RunConfig(name="exp", storage_path=storage, verbose=0,
                             experiment_checkpoint_period_s=0.2),
    ).fit()


def checkpointed_trials(path: str) -> int:
    """How many trials the saved state shows with a checkpoint (0 before the first save)."""
    if not Tuner.can_restore(path):
        return 0
    # Reads the experiment as saved so far, without the trainable; also works while it runs.
    return sum(result.checkpoint is not None for result in ResultGrid.from_path(path))


def main(storage_path: str | None = None) -> None:
    storage = storage_path or tempfile.mkdtemp(prefix="tuner-restore-")
    path = f"{storage}/exp"
    child = subprocess.Popen([sys.executable, __file__, "run", storage], start_new_session=True)
    deadline = time.monotonic() + 60
    while checkpointed_trials(path) < 1 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(child.pid, signal.SIGKILL)  # the driver and its workers, at once
    child.wait()
    print(f"killed the run (exit {child.returncode}); can restore: {Tuner.can_restore(path)}")

    grid = Tuner.restore(path, trainable=train).fit()
    for result in sorted(grid, key=lambda r: r.trial_id):
        history = result.metrics_dataframe
        print(f"trial {result.trial_id}: {result.status}, last epoch {result.metrics['epoch']}, "
              f"started at epochs {sorted(set(history['started_at']))}")
    resumed = [r for r in grid if r.metrics["started_at"] > 0]
    print(f"{len(grid)} trials, {len(resumed)} resumed from a checkpoint instead of starting over")


if __name__ == "__main__":
    if sys.argv[1:2] == ["run"]:
        run(sys.argv[2])
    else:
        main()
