"""What the schedulers buy: PBT against random search, ASHA against random search.

Prints figures averaged over --seeds seeds (default 5); nothing here is timed.

**PBT on the toy problem of Jaderberg et al. 2017 (fig. 2).** The objective is
Q(theta) = 1.2 - |theta|^2, but training only sees the surrogate
Q_hat(theta | h) = 1.2 - h0 * theta0^2 - h1 * theta1^2: every step takes one gradient-ascent step
on Q_hat, theta <- theta + lr * (-2 h * theta), from theta = (0.9, 0.9), and reports Q. The
hyperparameters h = (h0, h1) decide which directions training can make progress in. PBT runs
2 trials on 2 workers (as in the paper, starting from h = (1, 0) and (0, 1)); every
`--interval` steps the worse trial copies the better one's theta (its checkpoint) and perturbs
its h (x0.8 or x1.2, or a fresh draw from U(0, 1) with probability 0.25). Random search gets the
same budget: 2 trials of the same number of steps, h drawn from U(0, 1)^2. The figure is the best
Q a trial reached at its last step.

**ASHA on a synthetic multi-fidelity benchmark.** A config is (lr, width) with
lr ~ loguniform(1e-4, 1e-1), width ~ uniform(0, 1). Its learning curve is
loss(t) = final + c / sqrt(t) + noise, with
final = 0.1 + 0.05 * (log10(lr) + 2.5)^2 + 0.1 * (width - 0.6)^2  (best near lr=3e-3, width=0.6),
c = 0.4 + 0.3 * (log10(lr) + 4) / 3 * (1 - width) + 0.2 * u, u a config-specific draw in [0, 1],
noise ~ N(0, 0.005^2) per report. Ranks at low t correlate with final ranks (c varies less than
the early gap between good and bad configs) but are not the same: curves cross, small lr and
narrow width learn slower, and u adds config-specific speed that has nothing to do with the final
loss. Random search trains `--samples` configs to max_t=81; ASHA (grace_period=1,
reduction_factor=3) sees the same configs, in the same order. Both are scored by the noise-free
final loss of the trial with the lowest reported loss, and by the training iterations spent.

Targets: PBT's Q above random search's; ASHA within 1% of random search's best final loss with at
most a third of its iterations.

The whole population runs at once here (max_concurrent = population): the event loop creates
trials only as workers free up, so a population larger than the number of workers would not be
alive together (see the note on the engine in the schedulers issue).

Run: python bench/schedulers.py [--seeds 5] [--steps 40] [--samples 81]
"""

from __future__ import annotations

import os
import sys

# Run as a script, this folder comes first on sys.path, and bench/searchers.py would shadow the
# `searchers` package: drop it.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from schedulers import ASHAScheduler, PopulationBasedTraining  # noqa: E402
from tuner import (  # noqa: E402
    Checkpoint,
    InProcessExecutor,
    LocalExecutor,
    RunConfig,
    TuneConfig,
    Tuner,
    get_checkpoint,
    grid_search,
    loguniform,
    report,
    sample_from,
    uniform,
)

# ----------------------------------------------------------------------------- PBT toy problem


def toy(config: dict[str, Any]) -> None:
    """Gradient ascent on the surrogate 1.2 - h0 theta0^2 - h1 theta1^2; reports the true Q."""
    theta, step = np.array([0.9, 0.9]), 0
    checkpoint = get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as d:
            state = json.loads(Path(d, "theta.json").read_text())
        theta, step = np.array(state["theta"]), state["step"]
    h = np.array([config["h0"], config["h1"]])
    while step < config["steps"]:
        time.sleep(0.01)  # a training step takes time; report() does not wait for decisions
        theta = theta + config["lr"] * (-2.0 * h * theta)
        step += 1
        with tempfile.TemporaryDirectory() as d:
            Path(d, "theta.json").write_text(json.dumps({"theta": theta.tolist(), "step": step}))
            report({"Q": 1.2 - float(theta @ theta)}, checkpoint=Checkpoint.from_directory(d))


def noisy(seed: int) -> Any:
    """The paper's explore step: add N(0, 0.1^2) noise to each h, kept inside [0, 1]."""
    rng = np.random.default_rng(seed + 1000)

    def explore(config: dict[str, Any]) -> dict[str, Any]:
        for key in ("h0", "h1"):
            config[key] = float(np.clip(config[key] + rng.normal(0.0, 0.1), 0.0, 1.0))
        return config

    return explore


def run_toy(*, pbt: bool, seed: int, steps: int, interval: int, storage: str) -> float:
    common = {"lr": 0.02, "steps": steps}
    if pbt:
        # h = (1, 0) and (0, 1), as in the paper.
        space = {"h0": grid_search([1.0, 0.0]), "h1": sample_from(lambda spec: 1 - spec.config.h0),
                 **common}
        scheduler: Any = PopulationBasedTraining(
            time_attr="training_iteration", perturbation_interval=interval,
            hyperparam_mutations={"h0": uniform(0.0, 1.0), "h1": uniform(0.0, 1.0)},
            quantile_fraction=0.5, custom_explore_fn=noisy(seed), synch=True, seed=seed,
        )
        samples = 1
    else:
        space = {"h0": uniform(0.0, 1.0), "h1": uniform(0.0, 1.0), **common}
        scheduler, samples = None, 2
    grid = Tuner(
        toy,
        param_space=space,
        tune_config=TuneConfig(metric="Q", mode="max", scheduler=scheduler, num_samples=samples,
                               seed=seed),
        run_config=RunConfig(storage_path=storage, name=f"toy-{pbt}-{seed}", verbose=0),
        executor=LocalExecutor(num_cpus=2),
    ).fit()
    return max(r.metrics["Q"] for r in grid)


# ----------------------------------------------------------------------------- ASHA benchmark

MAX_T = 81
GRACE = 9  # rungs at 9 and 27: enough steps for the noise and crossing curves to settle


def final_loss(lr: float, width: float) -> float:
    return 0.1 + 0.05 * (math.log10(lr) + 2.5) ** 2 + 0.1 * (width - 0.6) ** 2


def curve(config: dict[str, Any]) -> None:
    lr, width = config["lr"], config["width"]
    # Config-specific randomness: the same config gets the same speed and noise in both runs.
    key = int(1e6 * lr) * 1_000_003 + int(1e6 * width) + 7919 * config["seed"]
    rng = np.random.default_rng(key)
    u = float(rng.random())
    c = 0.4 + 0.3 * (math.log10(lr) + 4) / 3 * (1 - width) + 0.2 * u
    final = final_loss(lr, width)
    for t in range(1, MAX_T + 1):
        report({"loss": final + c / math.sqrt(t) + float(rng.normal(0.0, 0.005)),
                "true_final": final})


def run_curves(*, asha: bool, seed: int, samples: int, storage: str) -> tuple[float, int]:
    scheduler = ASHAScheduler(max_t=MAX_T, grace_period=GRACE, reduction_factor=3) if asha else None
    grid = Tuner(
        curve,
        param_space={"lr": loguniform(1e-4, 1e-1), "width": uniform(0.0, 1.0), "seed": seed},
        tune_config=TuneConfig(metric="loss", mode="min", scheduler=scheduler,
                               num_samples=samples, seed=seed),
        run_config=RunConfig(storage_path=storage, name=f"curves-{asha}-{seed}", verbose=0),
        executor=InProcessExecutor(),
    ).fit()
    best = min(grid, key=lambda r: r.metrics["loss"])
    iterations = sum(r.metrics["training_iteration"] for r in grid)
    return float(best.metrics["true_final"]), int(iterations)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=40, help="steps of each toy PBT trial")
    parser.add_argument("--interval", type=int, default=2, help="PBT perturbation interval")
    parser.add_argument("--samples", type=int, default=81, help="configs in the ASHA benchmark")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    seeds = range(args.seeds)
    with tempfile.TemporaryDirectory() as storage:
        pbt_q = [run_toy(pbt=True, seed=s, steps=args.steps, interval=args.interval,
                         storage=storage) for s in seeds]
        rs_q = [run_toy(pbt=False, seed=s, steps=args.steps, interval=args.interval,
                        storage=storage) for s in seeds]
        print(f"PBT toy problem (Q* = 1.2), 2 workers x {args.steps} steps, "
              f"{args.seeds} seeds:")
        print(f"  PBT           Q = {statistics.mean(pbt_q):.4f}  "
              f"(per seed {', '.join(f'{q:.3f}' for q in pbt_q)})")
        print(f"  random search Q = {statistics.mean(rs_q):.4f}  "
              f"(per seed {', '.join(f'{q:.3f}' for q in rs_q)})")
        rows = []
        for seed in seeds:
            rs_loss, rs_iters = run_curves(asha=False, seed=seed, samples=args.samples,
                                           storage=storage)
            asha_loss, asha_iters = run_curves(asha=True, seed=seed, samples=args.samples,
                                               storage=storage)
            rows.append((rs_loss, rs_iters, asha_loss, asha_iters))
    print(f"ASHA on synthetic learning curves, {args.samples} configs, max_t={MAX_T}, "
          f"{args.seeds} seeds:")
    for seed, (rs_loss, rs_iters, asha_loss, asha_iters) in zip(seeds, rows, strict=True):
        print(f"  seed {seed}: random search final {rs_loss:.4f} in {rs_iters} iterations; "
              f"ASHA {asha_loss:.4f} ({100 * (asha_loss / rs_loss - 1):+.2f}%) in {asha_iters} "
              f"({asha_iters / rs_iters:.1%})")
    gap = statistics.mean(a / r - 1 for r, _, a, _ in rows)
    share = statistics.mean(ai / ri for _, ri, _, ai in rows)
    print(f"  mean: ASHA's best is {100 * gap:+.2f}% from random search's, with {share:.1%} of "
          "its iterations")


if __name__ == "__main__":
    main()
