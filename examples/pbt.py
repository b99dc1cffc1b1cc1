"""Population Based Training on the toy problem of Jaderberg et al. 2017 (fig. 2).

The goal is to maximise Q(theta) = 1.2 - |theta|^2, but each training step only follows the
gradient of the surrogate 1.2 - h0 * theta0^2 - h1 * theta1^2 from theta = (0.9, 0.9). The
hyperparameters h = (h0, h1) start at (1, 0) and (0, 1): each trial alone can shrink one
coordinate only. Every 4 steps PBT (synch=True) lets the worse of the two trials copy the
better one's theta, from its checkpoint, and explore h: perturbed x0.8 / x1.2 or redrawn, then
jittered with N(0, 0.1^2) noise and kept in [0, 1].

Prints every perturbation (read from `<experiment>/pbt_policy.jsonl`) and the Q both trials
reached; trials trained with their starting h alone stop near Q = 0.36.

Run: python examples/pbt.py
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from schedulers import PopulationBasedTraining
from tuner import (
    Checkpoint,
    LocalExecutor,
    RunConfig,
    TuneConfig,
    Tuner,
    get_checkpoint,
    grid_search,
    report,
    sample_from,
    uniform,
)

STEPS = 40


def train_fn(config: dict[str, Any]) -> None:
    theta, step = np.array([0.9, 0.9]), 0
    checkpoint = get_checkpoint()  # our own after a pause, or a copy of the better trial's
    if checkpoint is not None:
        with checkpoint.as_directory() as d:
            state = json.loads(Path(d, "theta.json").read_text())
        theta, step = np.array(state["theta"]), state["step"]
    h = np.array([config["h0"], config["h1"]])
    while step < STEPS:
        time.sleep(0.01)  # stands in for real work
        theta = theta + 0.02 * (-2.0 * h * theta)  # gradient ascent on the surrogate
        step += 1
        with tempfile.TemporaryDirectory() as d:
            Path(d, "theta.json").write_text(json.dumps({"theta": theta.tolist(), "step": step}))
            report({"Q": 1.2 - float(theta @ theta), "theta0": theta[0], "theta1": theta[1]},
                   checkpoint=Checkpoint.from_directory(d))


def explore_with_noise(seed: int) -> Any:
    rng = np.random.default_rng(seed)

    def explore(config: dict[str, Any]) -> dict[str, Any]:
        for key in ("h0", "h1"):
            config[key] = float(np.clip(config[key] + rng.normal(0.0, 0.1), 0.0, 1.0))
        return config

    return explore


def main(storage_path: str | None = None) -> None:
    storage = storage_path or tempfile.mkdtemp(prefix="tuner-pbt-")
    pbt = PopulationBasedTraining(
        time_attr="training_iteration",
        perturbation_interval=4,
        hyperparam_mutations={"h0": uniform(0.0, 1.0), "h1": uniform(0.0, 1.0)},
        quantile_fraction=0.5,
        custom_explore_fn=explore_with_noise(1),
        synch=True,
        seed=1,
    )
    grid = Tuner(
        train_fn,
        param_space={"h0": grid_search([1.0, 0.0]), "h1": sample_from(lambda s: 1 - s.config.h0)},
        tune_config=TuneConfig(metric="Q", mode="max", scheduler=pbt),
        run_config=RunConfig(name="pbt", storage_path=storage, verbose=0),
        executor=LocalExecutor(num_cpus=2),  # the population of 2 trains side by side
    ).fit()
    records = [json.loads(line) for line in
               Path(storage, "pbt", "pbt_policy.jsonl").read_text().splitlines()]
    print(f"PBT perturbed {len(records)} times:")
    for r in records:
        old, new = r["target_config"], r["new_config"]
        print(f"  step {r['donor_iteration']:>2}: {r['target_trial_id']} copied "
              f"{r['donor_trial_id']}; h ({old['h0']:.2f}, {old['h1']:.2f}) -> "
              f"({new['h0']:.2f}, {new['h1']:.2f})")
    for result in grid:
        print(f"trial {result.trial_id}: Q={result.metrics['Q']:.4f} after "
              f"{result.metrics['training_iteration']} steps, final h=({result.config['h0']:.2f}, "
              f"{result.config['h1']:.2f})")
    best = grid.get_best_result()
    print(f"best Q: {best.metrics['Q']:.4f} (the maximum is 1.2; h fixed at its start: 0.36)")


if __name__ == "__main__":
    main()
