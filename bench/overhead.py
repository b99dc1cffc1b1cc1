"""Per-trial and per-result overhead of the engine, with every logger on (as by default).

Prints medians over --repeats runs of:
  * `import tuner` + fit() of 100 trivial trials x 10 reports in a fresh process, default
    executor (worker processes), and fit() of 20 trials x 10 reports in this process;
  * the rate at which one trial streams results, through worker processes (LocalExecutor) and
    in-process (InProcessExecutor), and the cost per result;
  * the cost per result handled by the event loop under FIFO, HyperBand and PBT, at 50, 500 and
    5,000 trials of a few reports each (fit() wall time / results; the trials' starts and ends
    included), on `tuner.SimulatedExecutor` when there is one, else `InProcessExecutor`;
  * `python -c "import tuner"` time, and the time from fit() start to the first result.
With Ray Tune installed (`import ray` works) the same figures for it are printed beside.

Targets on a 2-core machine: 100 x 10 under 1 s; fit() of 20 trials under 0.5 s; >= 20,000
results/s streamed through worker processes and >= 50,000/s in-process; import under 0.2 s;
first result under 0.5 s. Everything runs with bytecode cached, as for any user:
PYTHONDONTWRITEBYTECODE is dropped from the environment (the fresh processes and the worker
processes inherit it). This machine may be shared and noisy: read the medians.

Run: python bench/overhead.py [--repeats 3] [--stream 50000] [--sizes 50,500,5000]
    [--reports 4] [--large-repeats 1] [--only fit,stream,schedulers,import]
(5,000 trials take minutes under HyperBand and PBT on a 2-core machine: one run each by default.)
"""

from __future__ import annotations

import os
import sys

# Run as a script, this folder comes first on sys.path, and bench/searchers.py would shadow the
# `searchers` package: drop it.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import logging  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import tuner  # noqa: E402
from schedulers import (  # noqa: E402
    FIFOScheduler,
    HyperBandScheduler,
    PopulationBasedTraining,
)
from tuner import (  # noqa: E402
    Callback,
    InProcessExecutor,
    LocalExecutor,
    RunConfig,
    TuneConfig,
    Tuner,
    report,
    uniform,
)

HAVE_RAY = importlib.util.find_spec("ray") is not None


def trivial(config: dict[str, Any]) -> None:
    for i in range(config["reports"]):
        # time_this_iter_s: the virtual seconds a step takes on the SimulatedExecutor (the
        # other executors fill in the real ones).
        report({"loss": float(i) * config.get("lr", 1.0), "time_this_iter_s": 1.0})


class FirstResult(Callback):
    """Records when the first result reaches the event loop."""

    def __init__(self) -> None:
        self.at: float | None = None

    def on_trial_result(
        self, iteration: int, trials: Any, trial: Any, result: Any, **info: Any
    ) -> None:
        if self.at is None:
            self.at = time.perf_counter()


def make_executor(kind: str) -> Any:
    if kind == "local":
        return LocalExecutor()
    if kind == "simulated":
        return tuner.SimulatedExecutor(n_workers=8)
    return InProcessExecutor()


def make_scheduler(name: str, reports: int) -> Any:
    if name == "fifo":
        return FIFOScheduler()
    if name == "hyperband":
        return HyperBandScheduler(metric="loss", mode="min", max_t=reports, reduction_factor=2)
    return PopulationBasedTraining(
        "training_iteration", metric="loss", mode="min", perturbation_interval=2,
        hyperparam_mutations={"lr": uniform(0.5, 2.0)}, seed=0,
    )


def fit_once(
    kind: str, trials: int, reports: int, scheduler: str = "fifo"
) -> tuple[float, float, float]:
    """fit() wall time, the time to its first result and the driver's CPU time, in seconds."""
    first = FirstResult()
    space: dict[str, Any] = {"reports": reports}
    if scheduler == "pbt":
        space["lr"] = uniform(0.5, 2.0)
    with tempfile.TemporaryDirectory() as storage:
        job = Tuner(
            trivial,
            param_space=space,
            tune_config=TuneConfig(num_samples=trials, scheduler=make_scheduler(scheduler, reports)),
            run_config=RunConfig(storage_path=storage, name="bench", verbose=0, callbacks=[first]),
            executor=make_executor(kind),
        )
        start, cpu = time.perf_counter(), time.process_time()
        job.fit()
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return wall, (first.at or start) - start, cpu


_FRESH_FIT = """
import tempfile, time
start = time.perf_counter()
from tuner import Tuner, TuneConfig, RunConfig, report
def trivial(config):
    for i in range(10):
        report({"loss": float(i)})
with tempfile.TemporaryDirectory() as storage:
    Tuner(trivial, tune_config=TuneConfig(num_samples=100),
          run_config=RunConfig(storage_path=storage, name="bench", verbose=0)).fit()
print(time.perf_counter() - start)
"""


def fresh_fit() -> float:
    """`import tuner` and fit() of 100 x 10 in a new process, default executor."""
    out = subprocess.run([sys.executable, "-c", _FRESH_FIT], check=True, capture_output=True,
                         text=True)
    return float(out.stdout.split()[-1])


def import_time() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import tuner"], check=True)
    return time.perf_counter() - start


# ---------------------------------------------------------------------------- Ray Tune
def ray_fit(trials: int, reports: int, scheduler: str = "fifo") -> float:
    """The same fit() with Ray Tune (only run when `import ray` works)."""
    import ray
    from ray import tune as ray_tune
    from ray.tune import schedulers as ray_schedulers

    def ray_trivial(config: dict[str, Any]) -> None:
        for i in range(config["reports"]):
            ray_tune.report({"loss": float(i) * config.get("lr", 1.0)})

    space: dict[str, Any] = {"reports": reports}
    if scheduler == "fifo":
        chosen: Any = ray_schedulers.FIFOScheduler()
    elif scheduler == "hyperband":
        chosen = ray_schedulers.HyperBandScheduler(metric="loss", mode="min", max_t=reports,
                                                   reduction_factor=2)
    else:
        space["lr"] = ray_tune.uniform(0.5, 2.0)
        chosen = ray_schedulers.PopulationBasedTraining(
            time_attr="training_iteration", metric="loss", mode="min", perturbation_interval=2,
            hyperparam_mutations={"lr": ray_tune.uniform(0.5, 2.0)},
        )
    if not ray.is_initialized():
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    with tempfile.TemporaryDirectory() as storage:
        job = ray_tune.Tuner(
            ray_trivial, param_space=space,
            tune_config=ray_tune.TuneConfig(num_samples=trials, scheduler=chosen),
            run_config=ray_tune.RunConfig(storage_path=storage, name="bench", verbose=0),
        )
        start = time.perf_counter()
        job.fit()
        return time.perf_counter() - start


# ---------------------------------------------------------------------------- printing
def median(measure: Callable[[], float], repeats: int) -> float:
    return statistics.median(measure() for _ in range(repeats))


def side_by_side(label: str, ours: str, ray: Callable[[], str] | None) -> None:
    line = f"{label:<58} {ours:>22}"
    if ray is not None and HAVE_RAY:
        try:
            line += f"   Ray Tune: {ray()}"
        except Exception as exc:  # noqa: BLE001  (a Ray failure must not end the benchmark)
            line += f"   Ray Tune: failed ({type(exc).__name__}: {exc})"
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--stream", type=int, default=50_000, help="results of the one-trial runs")
    parser.add_argument("--sizes", default="50,500,5000", help="trial counts for the schedulers")
    parser.add_argument("--reports", type=int, default=4, help="reports per trial, schedulers")
    parser.add_argument("--large-repeats", type=int, default=1,
                        help="repeats of the scheduler runs of 5,000 trials or more (minutes each)")
    parser.add_argument("--only", default="fit,stream,schedulers,import")
    args = parser.parse_args()
    # Bytecode cached, as for users (a checkout's environment may switch the cache off): the
    # fresh processes and the workers started here inherit this.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    only = set(args.only.split(","))
    repeats = args.repeats
    logging.getLogger("schedulers").setLevel(logging.ERROR)  # PBT: donors without checkpoints
    logging.getLogger("tuner").setLevel(logging.ERROR)
    print(f"tuner {tuner.__version__}; Ray Tune {'side by side' if HAVE_RAY else 'not installed'}; "
          f"medians of {repeats}")

    if "fit" in only:
        side_by_side("import + fit() of 100 x 10, fresh process, default executor",
                     f"{median(fresh_fit, repeats):.3f} s   [target < 1 s]", None)
        walls = [fit_once("local", 20, 10) for _ in range(repeats)]
        side_by_side("fit() of 20 trials x 10 reports, default executor",
                     f"{statistics.median(w for w, _, _ in walls):.3f} s   [target < 0.5 s]",
                     lambda: f"{median(lambda: ray_fit(20, 10), repeats):.3f} s")
        side_by_side("first result after fit() start",
                     f"{statistics.median(f for _, f, _ in walls) * 1000:.0f} ms   [target < 500 ms]",
                     None)

    if "stream" in only:
        for kind, target in (("local", "20,000"), ("inprocess", "50,000")):
            runs = sorted(fit_once(kind, 1, args.stream) for _ in range(repeats))
            wall, _, cpu = runs[len(runs) // 2]
            side_by_side(
                f"one trial streaming {args.stream:,} results ({kind})",
                f"{args.stream / wall:,.0f} /s ({wall / args.stream * 1e6:.1f} us)",
                (lambda: f"{args.stream / ray_fit(1, args.stream):,.0f} /s") if kind == "local"
                else None,
            )
            # The driver's own CPU per result (all its threads; not the worker's): on a shared,
            # noisy machine the steadier figure.
            print(f"{'':<58} [target >= {target}/s; driver CPU "
                  f"{cpu / args.stream * 1e6:.1f} us/result]")

    if "schedulers" in only:
        kind = "simulated" if hasattr(tuner, "SimulatedExecutor") else "inprocess"
        print(f"per result handled by the loop, {args.reports} reports per trial, {kind} executor:")
        for scheduler in ("fifo", "hyperband", "pbt"):
            for trials in (int(n) for n in args.sizes.split(",")):
                results = trials * args.reports
                runs = repeats if trials < 5000 else args.large_repeats
                measured = [fit_once(kind, trials, args.reports, scheduler) for _ in range(runs)]
                wall = statistics.median(w for w, _, _ in measured)
                # The process's CPU time (the simulated trials run in it): steadier than wall
                # time on a shared machine, where other processes take turns on the cores.
                cpu = statistics.median(c for _, _, c in measured)
                side_by_side(
                    f"  {scheduler:<9} {trials:>6,} trials",
                    f"{wall / results * 1e6:.1f} us, CPU {cpu / results * 1e6:.1f} us "
                    f"({wall:.2f} s, {runs}x)",
                    (lambda s=scheduler, t=trials, r=results: f"{ray_fit(t, args.reports, s) / r * 1e6:.0f} us")
                    if trials <= 500 else None,
                )

    if "import" in only:
        side_by_side("python -c 'import tuner'",
                     f"{median(import_time, repeats) * 1000:.0f} ms   [target < 200 ms]", None)


if __name__ == "__main__":
    main()
