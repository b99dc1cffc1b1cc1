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
With Ray Tune installed (`import ray` works) the same figures for it are printed beside; the
fresh-process script then runs on both in interleaved pairs, and the ratio printed is the
median of the pairs' ratios (target: Ray Tune 2.60 with reuse_actors=True >= 20x slower).

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
import functools  # noqa: E402
import importlib.util  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
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
    uniform,
)

HAVE_RAY = importlib.util.find_spec("ray") is not None


def steps(config: dict[str, Any], api: Any, **metrics: float) -> None:
    """`reports` results through `api` (tuner, or ray.tune: both have `report`,
    `get_checkpoint` and `Checkpoint`); with `checkpoint`, a checkpoint with each (as a trial
    under PBT or HyperBand keeps one to resume from when it is paused), resumed from when
    there is one."""
    start = 0
    checkpoint = api.get_checkpoint() if config.get("checkpoint") else None
    if checkpoint is not None:
        with checkpoint.as_directory() as folder:
            start = int(read_step(folder))
    for i in range(start, config["reports"]):
        result = {"loss": float(i) * config.get("lr", 1.0), **metrics}
        if not config.get("checkpoint"):
            api.report(result)
            continue
        with tempfile.TemporaryDirectory() as folder:
            with open(os.path.join(folder, "step"), "w", encoding="utf-8") as file:
                file.write(str(i + 1))
            api.report(result, checkpoint=api.Checkpoint.from_directory(folder))


def trivial(config: dict[str, Any]) -> None:
    # time_this_iter_s: the virtual seconds a step takes on the SimulatedExecutor (the other
    # executors fill in the real ones).
    steps(config, tuner, time_this_iter_s=1.0)


def read_step(folder: str) -> str:
    with open(os.path.join(folder, "step"), encoding="utf-8") as file:
        return file.read()


class Timeline(Callback):
    """When results reached the event loop (wall and process CPU time, every `every`-th
    result), and how many trials started. With `every=0` only the first result's wall time
    (for the streaming runs, where reading the clocks would weigh on a result's cost)."""

    def __init__(self, every: int = 1) -> None:
        self.every = every
        self.first: float | None = None
        self.marks: list[tuple[float, float]] = []
        self.count = 0
        self.starts = 0

    def on_trial_start(self, iteration: int, trials: Any, trial: Any, **info: Any) -> None:
        self.starts += 1

    def on_trial_result(
        self, iteration: int, trials: Any, trial: Any, result: Any, **info: Any
    ) -> None:
        if self.first is None:
            self.first = time.perf_counter()
        if self.every and self.count % self.every == 0:
            self.marks.append((time.perf_counter(), time.process_time()))
        self.count += 1

    def steady(self, skip: float = 0.1) -> tuple[float, float]:
        """Wall and CPU seconds per result between the first and the last `skip` of the
        results: the loop's own cost at this many trials, without the fit's set-up (the
        storage folders, the first state save) and wind-down (the last trials' ends, the final
        save), which do not grow with the trials and would make small runs look dear."""
        n = len(self.marks)
        lo = int(n * skip)
        hi = max(int(n * (1 - skip)) - 1, lo + 1)
        if hi >= n:
            raise ValueError(f"{self.count} results are too few for a steady-state figure")
        (wall0, cpu0), (wall1, cpu1) = self.marks[lo], self.marks[hi]
        results = (hi - lo) * self.every
        return (wall1 - wall0) / results, (cpu1 - cpu0) / results


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
    kind: str, trials: int, reports: int, scheduler: str = "fifo", timeline: Timeline | None = None
) -> tuple[float, float, float]:
    """fit() wall time, the time to its first result and the driver's CPU time, in seconds."""
    first = timeline or Timeline(every=0)
    space: dict[str, Any] = {"reports": reports}
    if scheduler == "pbt":
        space["lr"] = uniform(0.5, 2.0)
    if scheduler != "fifo":
        space["checkpoint"] = True  # paused trials resume from their last step
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
    return wall, (first.first or start) - start, cpu


_FRESH_FIT = """
import tempfile, time
start = time.perf_counter()
from {package} import Tuner, TuneConfig, RunConfig, report
def trivial(config):
    for i in range(10):
        report({{"loss": float(i)}})
with tempfile.TemporaryDirectory() as storage:
    Tuner(trivial, tune_config=TuneConfig(num_samples=100, reuse_actors=True),
          run_config=RunConfig(storage_path=storage, name="bench", verbose=0)).fit()
print(time.perf_counter() - start)
"""


def fresh_fit(package: str = "tuner") -> float:
    """Import `package` (tuner, or ray.tune: the same script runs on both) and fit() 100 x 10
    in a new process, default executor, reusing workers (actors)."""
    out = subprocess.run([sys.executable, "-c", _FRESH_FIT.format(package=package)], check=True,
                         capture_output=True, text=True)
    return float(out.stdout.split()[-1])


def import_time() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import tuner"], check=True)
    return time.perf_counter() - start


# ---------------------------------------------------------------------------- Ray Tune
def ray_fit(trials: int, reports: int, scheduler: str = "fifo") -> float:
    """The same fit() with Ray Tune (only run when `import ray` works): its wall time."""
    return ray_fit_results(trials, reports, scheduler)[0]


def ray_fit_results(trials: int, reports: int, scheduler: str = "fifo") -> tuple[float, int]:
    """The same fit() with Ray Tune: its wall time and the results its trials reported."""
    import ray
    from ray import tune as ray_tune
    from ray.tune import schedulers as ray_schedulers

    def ray_trivial(config: dict[str, Any]) -> None:
        steps(config, ray_tune)

    space: dict[str, Any] = {"reports": reports, "checkpoint": scheduler != "fifo"}
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
        grid = job.fit()
        wall = time.perf_counter() - start
        return wall, sum(len(result.metrics_dataframe) for result in grid)


def ray_per_result(trials: int, reports: int, scheduler: str) -> str:
    """Ray Tune's cost per result: it has no simulated time, so its whole fit, in real time."""
    wall, results = ray_fit_results(trials, reports, scheduler)
    return f"{wall / results * 1e6:.0f} us (whole fit / its {results:,} results)"


# ---------------------------------------------------------------------------- printing
def print_fresh_fit(repeats: int) -> None:
    """The fresh-process script on both, run in interleaved pairs when Ray Tune is installed:
    this machine's speed drifts by 2x within minutes, so that only a ratio taken pair by pair
    compares like with like."""
    label = "import + fit() of 100 x 10, fresh process, default executor"
    if not HAVE_RAY:
        side_by_side(label, f"{median(fresh_fit, repeats):.3f} s   [target < 1 s]", None)
        return
    ours: list[float] = []
    ray: list[float] = []
    for _ in range(repeats):
        ours.append(fresh_fit())
        ray.append(fresh_fit("ray.tune"))
    ratio = statistics.median(r / o for r, o in zip(ray, ours, strict=True))
    side_by_side(label, f"{statistics.median(ours):.3f} s   [target < 1 s]",
                 lambda: f"{statistics.median(ray):.3f} s")
    print(f"{'':<58} Ray Tune / tuner, median of {repeats} interleaved pairs: {ratio:.1f}x   "
          "[target >= 20x]")


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
    parser.add_argument("--tmp", default=None,
                        help="folder for the experiments and the trials' checkpoints (default: "
                        "the system's temporary folder); e.g. /dev/shm to time the engine "
                        "rather than a disk whose file creation is slow")
    args = parser.parse_args()
    if args.tmp is not None:
        tempfile.tempdir = args.tmp
        os.environ["TMPDIR"] = args.tmp  # the fresh processes' too
    # Bytecode cached, as for users (a checkout's environment may switch the cache off): the
    # fresh processes and the workers started here inherit this.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    only = set(args.only.split(","))
    repeats = args.repeats
    logging.getLogger("schedulers").setLevel(logging.ERROR)  # PBT: donors without checkpoints
    logging.getLogger("tuner").setLevel(logging.ERROR)
    print(f"tuner {tuner.__version__}; Ray Tune {'side by side' if HAVE_RAY else 'not installed'}; "
          f"medians of {repeats}; files in {tempfile.gettempdir()}")

    if "fit" in only:
        print_fresh_fit(repeats)
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
        print(f"per result handled by the loop, steady state (the middle 80% of the results), "
              f"{args.reports} reports per trial, {kind} executor; HyperBand and PBT trials "
              "checkpoint every step:")
        for scheduler in ("fifo", "hyperband", "pbt"):
            for trials in (int(n) for n in args.sizes.split(",")):
                # Small runs are short and noisy: repeat them until about 2,000 results count.
                times = (max(repeats, math.ceil(2000 / (trials * args.reports))) if trials < 5000
                         else args.large_repeats)
                fits: list[float] = []
                steady: list[tuple[float, float]] = []
                handled: list[tuple[int, int]] = []
                for _ in range(times):
                    timeline = Timeline()  # a clock read costs ~1% of a result here
                    fits.append(fit_once(kind, trials, args.reports, scheduler, timeline)[0])
                    steady.append(timeline.steady())
                    handled.append((timeline.count, timeline.starts))
                # CPU: the process's (the simulated trials run in it), steadier than wall time
                # on a shared machine, where other processes take turns on the cores.
                wall = statistics.median(w for w, _ in steady)
                cpu = statistics.median(c for _, c in steady)
                results, starts = handled[0]
                side_by_side(
                    f"  {scheduler:<9} {trials:>6,} trials",
                    f"{wall * 1e6:.0f} us, CPU {cpu * 1e6:.0f} us "
                    f"({results:,} results, {starts:,} starts; fit {statistics.median(fits):.2f} s,"
                    f" {times}x)",
                    functools.partial(ray_per_result, trials, args.reports, scheduler)
                    if trials <= 500 else None,
                )

    if "import" in only:
        side_by_side("python -c 'import tuner'",
                     f"{median(import_time, repeats) * 1000:.0f} ms   [target < 200 ms]", None)


if __name__ == "__main__":
    main()
