"""How fast `SimulatedExecutor` replays long experiments: real seconds per simulated hour.

A HyperBand run (class trainable, checkpoints at each pause) of --trials trials whose every step
claims 1 to 4 hours, on --workers simulated workers. Prints the real seconds the fit() took, the
trial-hours simulated (sum of time_total_s), the virtual time the cluster took (makespan), the
results handled, and how many simulated hours each real second replayed. Then the same with the
state saved by the default "auto" rule (at most 5% of real time spent saving).

Run: python bench/simulated.py [--trials 1000] [--workers 64] [--period-h 6] [--repeats 1]
"""

from __future__ import annotations

import os
import sys

# Run as a script, this folder comes first on sys.path, and bench/searchers.py would shadow the
# `searchers` package: drop it.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import logging  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

from schedulers import HyperBandScheduler  # noqa: E402
from tuner import RunConfig, SimulatedExecutor, Trainable, TuneConfig, Tuner, uniform  # noqa: E402


class Hours(Trainable):
    """A learning curve whose steps claim 1 to 4 hours each."""

    def setup(self, config: dict[str, Any]) -> None:
        self.hours = 1.0 + 3.0 * config["h"]

    def step(self) -> dict[str, Any]:
        return {"loss": self.config["x"] / (1 + self.iteration),
                "time_this_iter_s": 3600.0 * self.hours}

    def save_checkpoint(self, checkpoint_dir: str) -> dict[str, Any]:
        return {"iteration": self.iteration}

    def load_checkpoint(self, checkpoint: Any) -> None:
        pass


def fit_once(trials: int, workers: int, period_s: float | str) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-simulated-") as storage:
        executor = SimulatedExecutor(n_workers=workers, start_time=1_700_000_000.0)
        began = time.perf_counter()
        grid = Tuner(
            Hours,
            param_space={"x": uniform(0, 1), "h": uniform(0, 1)},
            tune_config=TuneConfig(metric="loss", mode="min", num_samples=trials, seed=0,
                                   scheduler=HyperBandScheduler(max_t=27, reduction_factor=3)),
            run_config=RunConfig(storage_path=storage, name="hb", verbose=0,
                                 experiment_checkpoint_period_s=period_s),
            executor=executor,
        ).fit()
        real_s = time.perf_counter() - began
        return {
            "real_s": real_s,
            "trial_hours": sum(r.metrics["time_total_s"] for r in grid) / 3600.0,
            "makespan_h": executor.clock.monotonic() / 3600.0,
            "results": sum(r.metrics["training_iteration"] for r in grid),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=64)
    parser.add_argument("--period-h", type=float, default=6.0,
                        help="experiment_checkpoint_period_s, in virtual hours")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # a paused trial's 'no checkpoint' notes and the like
    for label, period in ((f"state saved every {args.period_h:g} virtual h", args.period_h * 3600),
                          ("state saved at the default period", "auto")):
        runs = [fit_once(args.trials, args.workers, period) for _ in range(args.repeats)]
        real_s = statistics.median(r["real_s"] for r in runs)
        run = runs[0]
        print(f"HyperBand, {args.trials:,} trials on {args.workers} simulated workers, {label}:")
        print(f"  real time          {real_s:8.2f} s (median of {args.repeats})")
        print(f"  simulated          {run['trial_hours']:8,.0f} trial-hours, "
              f"{run['makespan_h']:,.0f} h of cluster time, {run['results']:,.0f} results")
        print(f"  rate               {run['trial_hours'] / real_s:8,.0f} simulated hours per real "
              f"second ({real_s / run['results'] * 1e3:.2f} ms per result)")


if __name__ == "__main__":
    main()
