"""Per-trial and per-result overhead of the engine.

Prints, for the chosen executor:
  * fit() wall time of N trivial function trials x R reports (and results per second),
  * the rate at which one trial streams results (process executor and in-process),
  * `python -c "import tuner"` time, and the time from fit() start to the first result.

Targets on a 2-core machine: 100 x 10 in under 1 s; >= 5,000 results/s through the process
executor and >= 50,000/s in-process; import under 0.3 s; first result under 0.5 s.
Figures are medians over --repeats runs; this machine may be shared and noisy.

Run: python bench/overhead.py [--executor local|inprocess|dask] [--trials 100] [--reports 10]
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
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

from tuner import (  # noqa: E402
    Callback,
    InProcessExecutor,
    LocalExecutor,
    RunConfig,
    TuneConfig,
    Tuner,
    report,
)


def trivial(config: dict[str, Any]) -> None:
    for i in range(config["reports"]):
        report({"loss": float(i)})


class FirstResult(Callback):
    """Records when the first result reaches the event loop."""

    def __init__(self) -> None:
        self.at: float | None = None

    def on_trial_result(
        self, iteration: int, trials: Any, trial: Any, result: Any, **info: Any
    ) -> None:
        if self.at is None:
            self.at = time.perf_counter()


_cluster: Any = None


def make_executor(kind: str) -> Any:
    global _cluster
    if kind == "local":
        return LocalExecutor()
    if kind == "inprocess":
        return InProcessExecutor()
    from dask.distributed import Client, LocalCluster

    from tuner import DaskExecutor

    # One cluster for every run, as a user keeps theirs: its start-up is not the engine's.
    if _cluster is None:
        logging.getLogger("distributed").setLevel(logging.WARNING)
        _cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                host="127.0.0.1", dashboard_address=":0")
    return DaskExecutor(Client(_cluster))


def fit_once(kind: str, trials: int, reports: int) -> tuple[float, float]:
    first = FirstResult()
    with tempfile.TemporaryDirectory() as storage:
        tuner = Tuner(
            trivial,
            param_space={"reports": reports},
            tune_config=TuneConfig(num_samples=trials),
            run_config=RunConfig(storage_path=storage, name="bench", verbose=0,
                                 callbacks=[first]),
            executor=make_executor(kind),
        )
        start = time.perf_counter()
        tuner.fit()
        wall = time.perf_counter() - start
    return wall, (first.at or start) - start


def import_time() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import tuner"], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executor", choices=["local", "inprocess", "dask"], default="local")
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--reports", type=int, default=10)
    parser.add_argument("--stream", type=int, default=20_000, help="results for the one-trial run")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    runs = [fit_once(args.executor, args.trials, args.reports) for _ in range(args.repeats)]
    walls = [w for w, _ in runs]
    firsts = [f for _, f in runs]
    total = args.trials * args.reports
    wall = statistics.median(walls)
    print(f"executor: {args.executor}")
    print(f"{args.trials} trials x {args.reports} reports: fit() {wall:.3f} s "
          f"(median of {args.repeats}), {total / wall:,.0f} results/s   [target < 1 s]")
    print(f"first result after fit() start: {statistics.median(firsts) * 1000:.0f} ms   "
          "[target < 500 ms]")
    for kind in ("local", "inprocess") if args.executor != "dask" else ("dask",):
        stream = [fit_once(kind, 1, args.stream)[0] for _ in range(args.repeats)]
        rate = args.stream / statistics.median(stream)
        target = "5,000" if kind != "inprocess" else "50,000"
        print(f"one trial streaming {args.stream:,} results ({kind}): {rate:,.0f} results/s   "
              f"[target >= {target}/s]")
    imports = [import_time() for _ in range(args.repeats)]
    print(f"python -c 'import tuner': {statistics.median(imports) * 1000:.0f} ms   "
          "[target < 300 ms]")
    if _cluster is not None:
        _cluster.close()


if __name__ == "__main__":
    main()
