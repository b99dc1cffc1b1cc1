"""A driver script for the crash test: `python trainer_driver.py run|restore STORAGE NAME PIDS`.

`run` starts a two-rank TorchTrainer (the test kills this driver with SIGKILL mid-training);
`restore` continues it with `TorchTrainer.restore` and prints a JSON summary on its last line.
Every rank process touches a file named after its pid in the PIDS directory.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from tuner import Checkpoint, RunConfig, get_checkpoint, get_context, report
from tuner.torch import TorchTrainer, prepare_model
from tuner.torch._scaling import ScalingConfig

EPOCHS = 6
SCALING = ScalingConfig(num_workers=2)


def train_loop(config: dict[str, Any]) -> None:
    Path(config["pids"], str(os.getpid())).touch()
    model = prepare_model(torch.nn.Linear(2, 1))
    start = 0
    checkpoint = get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as d:
            model.module.load_state_dict(torch.load(f"{d}/model.pt"))
            start = json.loads(Path(d, "state.json").read_text())["epoch"] + 1
    for epoch in range(start, EPOCHS):
        time.sleep(config["sleep"])
        model(torch.ones(4, 2)).sum().backward()
        with tempfile.TemporaryDirectory() as d:
            if get_context().world_rank == 0:
                torch.save(model.module.state_dict(), f"{d}/model.pt")
                Path(d, "state.json").write_text(json.dumps({"epoch": epoch}))
            report({"epoch": epoch, "start": start}, checkpoint=Checkpoint.from_directory(d))


def main() -> None:
    mode, storage, name, pids = sys.argv[1:5]
    if mode == "run":
        TorchTrainer(
            train_loop,
            train_loop_config={"sleep": 0.15, "pids": pids},
            scaling_config=SCALING,
            run_config=RunConfig(storage_path=storage, name=name, verbose=0),
        ).fit()
        return
    path = f"{storage.rstrip('/')}/{name}"
    if not TorchTrainer.can_restore(path):
        print(json.dumps({"restorable": False}))
        return
    result = TorchTrainer.restore(path, train_loop_per_worker=train_loop,
                                  scaling_config=SCALING).fit()
    history = result.metrics_dataframe
    print(json.dumps({
        "restorable": True,
        "status": result.status,
        "epochs": history["epoch"].tolist(),
        "starts": history["start"].tolist(),
        "iteration": result.metrics["training_iteration"],
    }))


if __name__ == "__main__":
    main()
