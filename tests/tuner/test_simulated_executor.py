"""SimulatedExecutor: a cluster of n workers in virtual time, driving the real event loop."""

from __future__ import annotations

import glob
import itertools
import json
import threading
import time
from pathlib import Path
from typing import Any

import fsspec
import pytest

from schedulers import ASHAScheduler, HyperBandScheduler
from tuner import (
    Callback,
    ConfigError,
    FakeClock,
    InProcessExecutor,
    RunConfig,
    SimulatedExecutor,
    TimeoutStopper,
    Trainable,
    TuneConfig,
    Tuner,
    grid_search,
    report,
    uniform,
)
from tuner._trainable import TrainableKind
from tuner.executors._base import Executor
from tuner.state._experiment import MIN_PERIOD_S, ExperimentSaver

START = 1_000_000.0  # the executors' start_time: virtual Unix time 0 of each run


def index(trial_id: str) -> int:
    """A trial's creation index (its id is `<experiment id>_<index>`)."""
    return int(trial_id.rsplit("_", 1)[1])


class Recorder(Callback):
    """Records what the loop saw, in order, and the clock's time when it saw it."""

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self.results: list[tuple[float, int, int]] = []  # (time, trial, training_iteration)
        self.starts: dict[int, list[float]] = {}
        self.ends: dict[int, float] = {}

    def on_trial_start(self, iteration: int, trials: Any, trial: Any, **info: Any) -> None:
        self.starts.setdefault(index(trial.trial_id), []).append(self.clock.monotonic())

    def on_trial_result(
        self, iteration: int, trials: Any, trial: Any, result: dict[str, Any], **info: Any
    ) -> None:
        self.results.append(
            (self.clock.monotonic(), index(trial.trial_id), int(result["training_iteration"]))
        )

    def on_trial_complete(self, iteration: int, trials: Any, trial: Any, **info: Any) -> None:
        self.ends[index(trial.trial_id)] = self.clock.monotonic()


def run(
    trainable: Any,
    tmp_path: Path,
    executor: Executor,
    *,
    name: str = "sim",
    param_space: dict[str, Any] | None = None,
    callbacks: list[Callback] | None = None,
    stop: Any = None,
    **tune: Any,
) -> Any:
    return Tuner(
        trainable,
        param_space=param_space if param_space is not None else {"x": grid_search([1, 2])},
        tune_config=TuneConfig(**tune),
        run_config=RunConfig(storage_path=str(tmp_path), name=name, verbose=0, stop=stop,
                             callbacks=callbacks or []),
        executor=executor,
    ).fit()


# ---------------------------------------------------------------------------- virtual time
def test_results_arrive_in_virtual_time_order_and_workers_bound_concurrency(
    tmp_path: Path,
) -> None:
    def steps(config: dict[str, Any]) -> None:
        for _ in range(3):
            report({"loss": 1.0, "time_this_iter_s": config["d"]})

    executor = SimulatedExecutor(n_workers=2, start_time=START)
    recorder = Recorder(executor.clock)
    grid = run(steps, tmp_path, executor, param_space={"d": grid_search([3.0, 5.0, 2.0, 7.0])},
               callbacks=[recorder])
    # Two workers: trial 2 takes trial 0's when it ends at 9, trial 3 trial 1's at 15. At 15
    # trial 1's last result and trial 2's come together: the one made first comes first.
    assert recorder.results == [
        (3.0, 0, 1), (5.0, 1, 1), (6.0, 0, 2), (9.0, 0, 3), (10.0, 1, 2), (11.0, 2, 1),
        (13.0, 2, 2), (15.0, 1, 3), (15.0, 2, 3), (22.0, 3, 1), (29.0, 3, 2), (36.0, 3, 3),
    ]
    assert recorder.starts == {0: [0.0], 1: [0.0], 2: [9.0], 3: [15.0]}
    spans = [(recorder.starts[i][0], recorder.ends[i]) for i in range(4)]
    for t in {start for start, _ in spans}:
        assert sum(start <= t < end for start, end in spans) <= 2
    # The engine's bookkeeping is in virtual seconds too.
    by_d = {r.config["d"]: r.metrics for r in grid}
    assert by_d[7.0]["time_this_iter_s"] == 7.0
    assert by_d[7.0]["time_total_s"] == 21.0
    assert by_d[7.0]["timestamp"] == int(START + 36.0)


def test_a_named_time_key_and_class_trainables(tmp_path: Path) -> None:
    class Epochs(Trainable):
        def step(self) -> dict[str, Any]:
            return {"loss": 1.0, "epoch_seconds": 60.0 * self.config["x"],
                    "done": self.iteration + 1 >= 2}

    executor = SimulatedExecutor(n_workers=1, time_attr="epoch_seconds", start_time=START)
    recorder = Recorder(executor.clock)
    grid = run(Epochs, tmp_path, executor, callbacks=[recorder])
    assert [t for t, _, _ in recorder.results] == [60.0, 120.0, 240.0, 360.0]
    assert sorted(r.metrics["time_total_s"] for r in grid) == [120.0, 240.0]


def test_a_result_without_its_time_is_a_config_error(tmp_path: Path) -> None:
    def untimed(config: dict[str, Any]) -> None:
        report({"loss": 1.0})

    with pytest.raises(ConfigError, match=r"without 'time_this_iter_s'.*time_attr"):
        run(untimed, tmp_path, SimulatedExecutor(n_workers=2), name="missing")

    class Untimed(Trainable):
        def step(self) -> dict[str, Any]:
            return {"loss": 1.0, "time_this_iter_s": 1.0}

    with pytest.raises(ConfigError, match="without 'epoch_seconds'"):
        run(Untimed, tmp_path, SimulatedExecutor(time_attr="epoch_seconds"), name="named")

    def negative(config: dict[str, Any]) -> None:
        report({"loss": 1.0, "time_this_iter_s": -1.0})

    with pytest.raises(ConfigError, match="finite number >= 0"):
        run(negative, tmp_path, SimulatedExecutor(), name="negative")


def test_the_executor_brings_the_clock(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="leave out Tuner"):
        Tuner(lambda config: None, executor=SimulatedExecutor(), clock=FakeClock())
    with pytest.raises(ConfigError, match="n_workers"):
        SimulatedExecutor(n_workers=0)


def test_hyperband_pauses_and_resumes_from_checkpoints(tmp_path: Path) -> None:
    executor = SimulatedExecutor(n_workers=4, start_time=START)
    grid = run(Hours, tmp_path, executor, name="hb-small", param_space={
        "x": uniform(0, 1), "h": uniform(0, 1)}, num_samples=20, seed=1, metric="loss",
        mode="min", scheduler=HyperBandScheduler(max_t=9, reduction_factor=3))
    assert not grid.errors
    best = grid.get_best_result()
    # Resumed from its checkpoints at each rung: it trained 9 steps in all, once each.
    assert best.metrics["training_iteration"] == 9
    assert best.metrics["time_total_s"] == pytest.approx(9 * 3600.0 * (1 + 3 * best.config["h"]))
    assert not [t for t in threading.enumerate() if t.name.startswith("sim-trial-")
                and t.is_alive() and not _joined(t)]


def _joined(thread: threading.Thread) -> bool:
    thread.join(timeout=5.0)
    return not thread.is_alive()


def test_in_process_wait_on_a_fake_clock_returns_when_nothing_runs() -> None:
    executor = InProcessExecutor()
    executor.setup(lambda config: None, TrainableKind.FUNCTION, FakeClock(), reuse=True)
    began = time.monotonic()
    assert executor.wait(30.0) == []
    assert time.monotonic() - began < 5.0


def test_errors_fail_their_trial_only(tmp_path: Path) -> None:
    def flaky(config: dict[str, Any]) -> None:
        for step in range(3):
            if config["x"] == 2 and step == 1:
                raise RuntimeError("boom")
            report({"loss": 1.0, "time_this_iter_s": 10.0})

    grid = run(flaky, tmp_path, SimulatedExecutor(n_workers=2))
    assert len(grid.errors) == 1 and "boom" in str(grid.errors[0])
    assert sorted(r.metrics["training_iteration"] for r in grid) == [1, 3]


# ---------------------------------------------------------------------------- deadlines
def forever(config: dict[str, Any]) -> None:
    while True:
        report({"loss": config["x"], "time_this_iter_s": 600.0 * config["x"]})


def result_times(tmp_path: Path, name: str) -> list[float]:
    """The virtual time of every result written to the trials' result.json files."""
    times = []
    for path in glob.glob(str(tmp_path / name / "*" / "result.json")):
        with open(path) as f:
            times += [json.loads(line)["timestamp"] - START for line in f if line.strip()]
    return times


@pytest.mark.parametrize("grace", [10.0, None])
def test_time_budget_ends_the_run_at_virtual_time(tmp_path: Path, grace: float | None) -> None:
    executor = SimulatedExecutor(n_workers=2, start_time=START, stop_grace_s=grace)
    began = time.monotonic()
    run(forever, tmp_path, executor, name="budget", time_budget_s=5 * 3600.0, num_samples=-1,
        param_space={"x": uniform(1, 3)}, seed=0)
    assert time.monotonic() - began < 30  # a safety net; five hours went by in virtual time
    assert max(result_times(tmp_path, "budget")) <= 5 * 3600.0
    end = executor.clock.monotonic()
    # The loop stopped at the budget; the trials asked to stop were cut short `grace` later,
    # or (grace None) ran to their next report, at most 1800 s on.
    assert 5 * 3600.0 <= end <= 5 * 3600.0 + (10.0 if grace is not None else 1800.0)
    state_files = glob.glob(str(tmp_path / "budget" / "experiment_state*.json"))
    saved = max((json.loads(Path(p).read_text()) for p in state_files),
                key=lambda s: s["sequence"])
    assert saved["experiment"]["elapsed_s"] == pytest.approx(end)
    assert saved["saved_at"] == pytest.approx(START + end)
    changes = [t for trial in saved["trials"] for _, t in trial["history"]]
    assert min(changes) >= START and max(changes) <= START + end


def test_timeout_stopper_counts_virtual_time(tmp_path: Path) -> None:
    executor = SimulatedExecutor(n_workers=2, start_time=START)
    grid = run(forever, tmp_path, executor, name="timeout", stop=TimeoutStopper(3 * 3600),
               param_space={"x": grid_search([1.0, 1.5])})
    assert {r.status for r in grid} == {"TERMINATED"}
    assert max(result_times(tmp_path, "timeout")) <= 3 * 3600.0
    assert 3 * 3600.0 <= executor.clock.monotonic() <= 3 * 3600.0 + 10.0


def test_tensorboard_events_are_stamped_in_virtual_time(tmp_path: Path) -> None:
    """Every event of the TensorBoard files, the file's first and the hparams summary written
    at the end included, carries virtual Unix time, read back by TensorBoard's own reader."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    def hours(config: dict[str, Any]) -> None:
        for _ in range(3):
            report({"loss": config["x"], "time_this_iter_s": 3600.0 * config["x"]})

    run(hours, tmp_path, SimulatedExecutor(n_workers=1, start_time=START), name="tb")
    files = sorted(glob.glob(str(tmp_path / "tb" / "*" / "events.out.tfevents.*")))
    assert len(files) == 2
    for path in files:
        events = list(EventFileLoader(path).Load())
        assert events[0].file_version == "brain.Event:2"
        assert any(e.summary.value and e.summary.value[0].tag.startswith("_hparams_")
                   for e in events)
        # Trial 0 runs 0-3 h, trial 1 (x=2, after it) 3-9 h: all of it in virtual time.
        assert all(START <= e.wall_time <= START + 9 * 3600.0 for e in events), [
            e.wall_time for e in events]
        assert max(e.wall_time for e in events) > START + 3600.0  # the clock moved


def test_the_save_rule_measures_the_injected_clock(tmp_path: Path) -> None:
    clock = FakeClock()
    saver = ExperimentSaver(fsspec.filesystem("file"), str(tmp_path), header=lambda: {},
                            trials=lambda: [], before_save=lambda: clock.advance(10.0),
                            clock=clock)
    saver.run(now=0.0)
    assert saver.due_in(0.0) == pytest.approx(190.0)  # 19 x what the save cost on that clock
    free = ExperimentSaver(fsspec.filesystem("file"), str(tmp_path), header=lambda: {},
                           trials=lambda: [], clock=FakeClock())
    free.run(now=0.0)
    assert free.due_in(0.0) == MIN_PERIOD_S  # a save that costs no time: the minimum period


# ---------------------------------------------------------------------------- same decisions
class Sleepy(Trainable):
    """Loss falls with x; each step takes `d` seconds: really (sleep) or only as reported."""

    def step(self) -> dict[str, Any]:
        x, d = ASHA_TRIALS[self.config["i"]]
        if self.config["sleep"]:
            time.sleep(d)
        return {"loss": x / (self.iteration + 1), "time_this_iter_s": d}


# Per trial (x, d): chosen so that, with 4 workers, any two results of different trials are at
# least MIN_GAP_S apart (checked on the simulated run): their order cannot flip in real time.
ASHA_TRIALS = [(0.5, 0.35), (0.2, 0.15), (0.9, 0.4), (0.4, 0.25),
               (0.1, 0.45), (0.7, 0.18), (0.3, 0.4), (0.6, 0.37)]
MIN_GAP_S = 0.05


def asha_run(tmp_path: Path, executor: Executor, clock: Any, sleep: bool) -> Recorder:
    recorder = Recorder(clock)
    run(Sleepy, tmp_path, executor, name=f"asha-{sleep}", callbacks=[recorder],
        param_space={"i": grid_search(list(range(len(ASHA_TRIALS)))), "sleep": sleep},
        metric="loss", mode="min",
        scheduler=ASHAScheduler(max_t=4, grace_period=1, reduction_factor=2))
    return recorder


def per_trial(recorder: Recorder) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for _, trial, iteration in recorder.results:
        out.setdefault(trial, []).append(iteration)
    return out


def test_asha_decides_as_it_does_in_real_time(tmp_path: Path) -> None:
    simulated = SimulatedExecutor(n_workers=4, start_time=START)
    sim = asha_run(tmp_path, simulated, simulated.clock, sleep=False)
    times = sorted((t, trial) for t, trial, _ in sim.results)
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(times) if a[1] != b[1]]
    assert min(gaps) >= MIN_GAP_S - 1e-9, "the scenario must leave no near-ties to real time"

    real_clock = _Monotonic()
    real = asha_run(tmp_path, InProcessExecutor(max_concurrent=4), real_clock, sleep=True)
    assert [(trial, it) for _, trial, it in real.results] == [
        (trial, it) for _, trial, it in sim.results
    ]
    assert per_trial(real) == per_trial(sim)
    assert sorted(real.ends) == sorted(sim.ends)
    # Some were stopped early at a rung, some trained on: ASHA decided something.
    assert {len(its) for its in per_trial(sim).values()} > {4}


class _Monotonic:
    def monotonic(self) -> float:
        return time.monotonic()


def test_runs_with_the_same_seed_make_the_same_decisions(tmp_path: Path) -> None:
    def curve(config: dict[str, Any]) -> None:
        for step in range(1, 20):
            report({"loss": config["x"] / step, "time_this_iter_s": 30.0 + 100 * config["x"]})

    def decisions(name: str) -> list[tuple[float, int, int]]:
        executor = SimulatedExecutor(n_workers=3, start_time=START)
        recorder = Recorder(executor.clock)
        run(curve, tmp_path, executor, name=name, callbacks=[recorder],
            param_space={"x": uniform(0, 1)}, num_samples=12, seed=7, metric="loss",
            mode="min", scheduler=ASHAScheduler(max_t=19, grace_period=1, reduction_factor=3))
        return recorder.results

    assert decisions("a") == decisions("b")


# ---------------------------------------------------------------------------- scale
class Hours(Trainable):
    """A learning curve whose every step claims hours of training."""

    def setup(self, config: dict[str, Any]) -> None:
        self.hours = 1.0 + 3.0 * config["h"]

    def step(self) -> dict[str, Any]:
        return {"loss": self.config["x"] / (1 + self.iteration),
                "time_this_iter_s": 3600.0 * self.hours}

    def save_checkpoint(self, checkpoint_dir: str) -> dict[str, Any]:
        return {"iteration": self.iteration}

    def load_checkpoint(self, checkpoint: Any) -> None:
        pass


@pytest.mark.slow
def test_a_thousand_hyperband_trials_of_hours_each_take_seconds(tmp_path: Path) -> None:
    began = time.monotonic()
    grid = Tuner(
        Hours,
        param_space={"x": uniform(0, 1), "h": uniform(0, 1)},
        tune_config=TuneConfig(metric="loss", mode="min", num_samples=1000, seed=0,
                               scheduler=HyperBandScheduler(max_t=27, reduction_factor=3)),
        # A save every 6 virtual hours (and when trials end) rather than every 5 s: each turn
        # of the loop is minutes of virtual time apart, and would save.
        run_config=RunConfig(storage_path=str(tmp_path), name="hb", verbose=0,
                             experiment_checkpoint_period_s=6 * 3600),
        executor=SimulatedExecutor(n_workers=64, start_time=START),
    ).fit()
    real_s = time.monotonic() - began
    hours = sum(r.metrics["time_total_s"] for r in grid) / 3600.0
    assert len(grid) == 1000 and not grid.errors
    assert hours > 10_000
    assert real_s < 60  # a safety net only: bench/simulated.py measures it


def test_progress_lines_are_spaced_in_real_time_and_show_virtual_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def hours(config: dict[str, Any]) -> None:
        for _ in range(5):
            report({"loss": config["x"], "time_this_iter_s": 3600.0})

    Tuner(
        hours,
        param_space={"x": grid_search(list(range(40)))},
        run_config=RunConfig(storage_path=str(tmp_path), name="lines", verbose=1),
        executor=SimulatedExecutor(n_workers=4),
    ).fit()
    out = capsys.readouterr().out.splitlines()
    lines = [line for line in out if line.startswith("[tuner ") and "TERMINATED" in line]
    # 200 virtual hours in well under the 10 real seconds between lines: the final line only,
    # where pacing by virtual time printed one per turn.
    assert len(lines) <= 3, out
    assert "40 TERMINATED of 40" in lines[-1]
    elapsed = lines[-1].split("]")[0].split()[-1]
    assert float(elapsed.rstrip("s")) >= 50 * 3600.0  # 40 trials x 5 h on 4 workers
