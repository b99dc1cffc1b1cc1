"""A driver script for the lock and permission tests.

    python lock_driver.py fit|restore STORAGE NAME GATE

`fit` starts an experiment of `NUM_SAMPLES` trials; `restore` continues it with `Tuner.restore`.
Every trial waits until the file GATE exists before it reports (so a test decides when the run
may end, without sleeping for a guessed time), then reports `STEPS` results, each with a
checkpoint saved in a `tempfile.TemporaryDirectory()` (mode 0o700) holding a file, an executable
file and a subdirectory. The last line printed is a JSON summary of the ResultGrid.
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

NUM_SAMPLES = 4
STEPS = 3
GATE_WAIT_S = 120.0  # a test that never opens the gate still ends


def train(config: dict[str, Any]) -> None:
    deadline = time.monotonic() + GATE_WAIT_S
    while not os.path.exists(config["gate"]) and time.monotonic() < deadline:
        time.sleep(0.02)
    start = 0
    checkpoint = get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as d:
            start = json.loads(Path(d, "state.json").read_text())["step"] + 1
    for step in range(start, STEPS):
        with tempfile.TemporaryDirectory() as d:
            Path(d, "state.json").write_text(json.dumps({"step": step}))
            Path(d, "run.sh").write_text("#!/bin/sh\necho resumed\n")
            Path(d, "run.sh").chmod(0o755)
            Path(d, "nested", "deeper").mkdir(parents=True)
            Path(d, "nested", "deeper", "weights.bin").write_bytes(b"\x00" * 64)
            report({"step": step, "score": config["x"] * step},
                   checkpoint=Checkpoint.from_directory(d))


def main() -> None:
    mode, storage, name, gate = sys.argv[1:5]
    if mode == "fit":
        tuner = Tuner(
            train,
            param_space={"x": uniform(0, 1), "gate": gate},
            tune_config=TuneConfig(metric="score", mode="max", num_samples=NUM_SAMPLES,
                                   max_concurrent_trials=2, seed=3),
            run_config=RunConfig(storage_path=storage, name=name, verbose=0),
        )
    elif mode == "restore":
        tuner = Tuner.restore(f"{storage.rstrip('/')}/{name}", trainable=train)
    else:
        raise SystemExit(f"mode must be 'fit' or 'restore', got {mode!r}")
    grid = tuner.fit()
    trials = [{"trial_id": r.trial_id, "status": r.status, "step": r.metrics.get("step"),
               "path": r.path} for r in grid]
    print(json.dumps({"pid": os.getpid(), "trials": trials}))


if __name__ == "__main__":
    main()
