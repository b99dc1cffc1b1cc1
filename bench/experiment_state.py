"""Cost of saving experiment state, its size, and the driver's memory, as trials accumulate.

Runs N short function trials (3 reports each) and prints, for each N:
  * the fraction of fit() wall time spent saving experiment state (target <= 5%, and <= 2% with
    10,000 trials),
  * the number of saves, and the size of one state file on disk,
  * the driver's peak resident memory (target < 300 MB with 10,000 finished trials).

Run: python bench/experiment_state.py [--trials 1000 10000] [--executor local|inprocess]
"""

from __future__ import annotations

import os
import sys

# Run as a script, this folder comes first on sys.path, and bench/searchers.py would shadow the
# `searchers` package: drop it.
sys.path[:] = [
    p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))
]

import argparse  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

from tuner import InProcessExecutor, LocalExecutor, RunConfig, TuneConfig, Tuner, report, uniform  # noqa: E402


def short(config: dict[str, Any]) -> None:
    for i in range(3):
        report({"loss": config["x"] / (i + 1), "i": i})


def one_run(trials: int, executor: str) -> None:
    with tempfile.TemporaryDirectory() as storage:
        tuner = Tuner(
            short,
            param_space={"x": uniform(0, 1)},
            tune_config=TuneConfig(metric="loss", mode="min", num_samples=trials),
            run_config=RunConfig(storage_path=storage, name="state", verbose=0),
            executor=LocalExecutor() if executor == "local" else InProcessExecutor(),
        )
        start = time.perf_counter()
        grid = tuner.fit()
        wall = time.perf_counter() - start
        saver = tuner.last_saver
        state_file = os.path.join(storage, "state", "experiment_state-a.json")
        size = os.path.getsize(state_file)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"{trials:>6} trials ({executor}): fit {wall:7.1f} s | saving {saver.total_s:6.2f} s = "
            f"{100 * saver.total_s / wall:4.1f}% of wall time in {saver.count} saves (+ "
            f"{saver.flush_s:.2f} s flushing trial files first) | state "
            f"{size / 1e6:6.2f} MB | driver peak RSS {peak_mb:6.0f} MB | {len(grid)} results"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--executor", choices=["local", "inprocess"], default="local")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one_run(args.one, args.executor)
        return
    # Each size in a fresh process, so that peak memory is that run's alone.
    for trials in args.trials:
        subprocess.run(
            [sys.executable, __file__, "--one", str(trials), "--executor", args.executor],
            check=True,
        )


if __name__ == "__main__":
    main()
