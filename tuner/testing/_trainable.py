"""The trainable the contract suites run: a learning curve that checkpoints every step."""

from __future__ import annotations

import json
import math
import os
import tempfile
import zlib
from collections.abc import Mapping
from typing import Any

from tuner._session import get_checkpoint, get_context, report
from tuner._trainable import Trainable
from tuner.storage._checkpoint import Checkpoint

STATE_FILE = "contract_state.json"
"""The file each checkpoint of `contract_trainable` holds: its step and the trial that wrote it."""


def trial_index(trial_id: str) -> int:
    """A trial's creation index: its id is ``<experiment id>_<index>``."""
    return int(trial_id.rsplit("_", 1)[1])


def contract_loss(x: float, step: int) -> float:
    """The curve: falls like 1/step towards ``|x - 0.3|`` (best at x = 0.3)."""
    return abs(x - 0.3) + 1.0 / step


def contract_trainable(config: Mapping[str, Any]) -> None:
    """Trains ``config["iterations"]`` steps (9 by default), reporting and checkpointing each.

    Every result holds ``loss`` (falling; `contract_loss`) and ``score`` (its negative), and
    tells what the trainable itself did, so that a suite can check the engine's bookkeeping
    against it: ``step`` (its own count, which must equal ``training_iteration``),
    ``resumed_step`` (the step of the checkpoint it loaded, 0 without one) and ``owner`` (the
    trial that wrote that checkpoint: itself after a pause or a retry, the donor after an
    exploit, None for a fresh start). A step takes ``1 + x`` virtual seconds under
    `SimulatedExecutor`, so trials with different configs interleave.

    The trial whose creation index is ``config["fail_trial"]`` raises at step
    ``config["fail_iteration"]`` (every time it gets there).
    """
    step, owner = 0, None
    checkpoint = get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as directory, open(
            os.path.join(directory, STATE_FILE), encoding="utf-8"
        ) as file:
            state = json.load(file)
        step, owner = int(state["step"]), state["owner"]
    resumed_step = step
    me = str(get_context().get_trial_id())
    fails_here = config.get("fail_trial") == trial_index(me)
    x = float(config["x"])
    while step < int(config.get("iterations", 9)):
        step += 1
        if fails_here and step == config.get("fail_iteration"):
            raise RuntimeError(f"contract trial {me} fails at step {step}, as its config asks")
        loss = contract_loss(x, step)
        with tempfile.TemporaryDirectory() as directory:
            with open(os.path.join(directory, STATE_FILE), "w", encoding="utf-8") as file:
                json.dump({"step": step, "owner": me}, file)
            report(
                {
                    "loss": loss,
                    "score": -loss,
                    "step": step,
                    "resumed_step": resumed_step,
                    "owner": owner,
                    "time_this_iter_s": 1.0 + x,
                },
                checkpoint=Checkpoint.from_directory(directory),
            )


class ContractTrainable(Trainable):
    """`contract_trainable` as a class trainable: the same curve, results and failure, with
    `save_checkpoint` / `load_checkpoint` (run it with ``CheckpointConfig(checkpoint_frequency=1)``
    for a checkpoint every step, as the function checkpoints)."""

    def setup(self, config: dict[str, Any]) -> None:
        self.step_count, self.owner, self.resumed_step = 0, None, 0

    def step(self) -> dict[str, Any]:
        self.step_count += 1
        config = self.config
        if (
            config.get("fail_trial") == trial_index(self.trial_id)
            and self.step_count == config.get("fail_iteration")
        ):
            raise RuntimeError(
                f"contract trial {self.trial_id} fails at step {self.step_count}, as its config "
                "asks"
            )
        x = float(config["x"])
        loss = contract_loss(x, self.step_count)
        return {
            "loss": loss,
            "score": -loss,
            "step": self.step_count,
            "resumed_step": self.resumed_step,
            "owner": self.owner,
            "time_this_iter_s": 1.0 + x,
            "done": self.step_count >= int(config.get("iterations", 9)),
        }

    def save_checkpoint(self, checkpoint_dir: str) -> None:
        with open(os.path.join(checkpoint_dir, STATE_FILE), "w", encoding="utf-8") as file:
            json.dump({"step": self.step_count, "owner": self.trial_id}, file)

    def load_checkpoint(self, checkpoint: str | dict[str, Any]) -> None:
        if not isinstance(checkpoint, str):
            raise TypeError(f"ContractTrainable saves directories, got {checkpoint!r}")
        with open(os.path.join(checkpoint, STATE_FILE), encoding="utf-8") as file:
            state = json.load(file)
        self.step_count = self.resumed_step = int(state["step"])
        self.owner = state["owner"]

def config_loss(config: Any) -> float:
    """A loss for any config, the same in every run: each number adds ``log(1 + |value|)``,
    any other leaf a fraction from its repr's checksum."""
    if isinstance(config, Mapping):
        return sum(config_loss(value) for value in config.values())
    if isinstance(config, list | tuple):
        return sum(config_loss(value) for value in config)
    if isinstance(config, bool) or not isinstance(config, int | float):
        return zlib.crc32(repr(config).encode()) / 2**32
    return math.log1p(abs(config)) if math.isfinite(config) else 1.0


def searcher_trainable(config: Mapping[str, Any]) -> None:
    """Reports ``config_loss(config)`` as ``loss`` (and its negative as ``score``) for
    ``config.get("iterations", 3)`` steps, without checkpoints.

    As a searcher must expect of real trials, some go wrong: the trial whose creation index is
    3 modulo 7 raises after its first result (the searcher hears ``error=True``), and the one
    at 5 modulo 11 reports neither metric after its first result (the searcher completes it
    with a result without them; the first has them, as the loop checks a run's first result).
    """
    index = trial_index(str(get_context().get_trial_id()))
    loss = config_loss(config)
    seconds = 1.0 + zlib.crc32(repr(sorted(config.items())).encode()) / 2**32
    for step in range(1, int(config.get("iterations", 3)) + 1):
        if index % 7 == 3 and step == 2:
            raise RuntimeError(f"contract trial {index} fails at step {step}, as contracts ask")
        metrics: dict[str, Any] = {"other": 1.0, "time_this_iter_s": seconds}
        if index % 11 != 5 or step == 1:
            metrics |= {"loss": loss / step, "score": -loss / step}
        report(metrics)
