"""Trial output files stay open across pauses, are written in batches without fsync, and are
let go of before a rewind cuts them back.

TensorBoard files are read back with TensorBoard's own `EventAccumulator`.
"""

from __future__ import annotations

import builtins
import csv
import glob
import json
import os
import sys
import tempfile
import threading
import traceback
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from schedulers import Decision, FIFOScheduler, TrialView
from tuner import (
    Checkpoint,
    InProcessExecutor,
    RunConfig,
    TuneConfig,
    Tuner,
    get_checkpoint,
    report,
)
from tuner._callback import TrialInfo
from tuner.output import _loggers
from tuner.output._loggers import CSVLoggerCallback, JsonLoggerCallback, TBXLoggerCallback
from tuner.output._rewind import KeepPoint, rewind_trial_outputs

EventAccumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator"
).EventAccumulator

OUTPUT_NAMES = ("result.json", "progress.csv", "events.out.tfevents.")


def tensorboard_steps(directory: str | Path, tag: str = "tune/loss") -> list[int]:
    accumulator = EventAccumulator(str(directory), size_guidance={"scalars": 0})
    accumulator.Reload()
    if tag not in accumulator.Tags()["scalars"]:
        return []
    return [event.step for event in accumulator.Scalars(tag)]


def json_iterations(directory: str | Path) -> list[int]:
    lines = Path(directory, "result.json").read_text().splitlines()
    return [json.loads(line)["training_iteration"] for line in lines]


def csv_iterations(directory: str | Path) -> list[int]:
    with open(Path(directory, "progress.csv"), newline="") as file:
        return [int(row["training_iteration"]) for row in csv.DictReader(file)]


def loggers() -> list[Any]:
    return [JsonLoggerCallback(), CSVLoggerCallback(), TBXLoggerCallback()]


def log(callbacks: list[Any], trial: TrialInfo, iterations: range) -> None:
    for i in iterations:
        for callback in callbacks:
            callback.log_trial_result(0, trial, {"loss": 1.0 / i, "training_iteration": i})


@pytest.fixture
def opens(monkeypatch: pytest.MonkeyPatch) -> Counter[tuple[str, str]]:
    """How often the loggers opened each output file (by its first name part) in each mode."""
    counts: Counter[tuple[str, str]] = Counter()
    real_open = builtins.open
    writers = os.path.join("tuner", "output", "_")

    def counting_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        name = os.path.basename(str(file))
        caller = sys._getframe(1).f_code.co_filename
        if name.startswith(OUTPUT_NAMES) and writers in caller and "_rewind" not in caller:
            counts[name.split(".")[0], mode] += 1
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    return counts


# ---------------------------------------------------------------------------- through fit()
class PauseAt(FIFOScheduler):
    """Pauses every trial once at each of the iterations `at`."""

    pauses_trials = True

    def __init__(self, *at: int) -> None:
        super().__init__()
        self.at = set(at)
        self.paused: set[tuple[str, int]] = set()

    def on_trial_result(self, trial: TrialView, result: Mapping[str, Any]) -> Decision:
        key = (trial.trial_id, result["training_iteration"])
        if key[1] in self.at and key not in self.paused:
            self.paused.add(key)
            return Decision.PAUSE
        return Decision.CONTINUE


def checkpointed_steps(config: dict[str, Any]) -> None:
    """Reports `steps` results with a checkpoint every `every` steps, resuming from its last."""
    start = 0
    if (checkpoint := get_checkpoint()) is not None:
        with checkpoint.as_directory() as d:
            start = int(Path(d, "step").read_text())
    for step in range(start + 1, config["steps"] + 1):
        if step % config["every"] == 0:
            with tempfile.TemporaryDirectory() as d:
                Path(d, "step").write_text(str(step))
                report({"loss": 1.0 / step}, checkpoint=Checkpoint.from_directory(d))
        else:
            report({"loss": 1.0 / step})


def fit(tmp_path: Path, scheduler: FIFOScheduler, **config: int) -> Any:
    return Tuner(
        checkpointed_steps,
        param_space=config,
        tune_config=TuneConfig(num_samples=2, scheduler=scheduler),
        run_config=RunConfig(storage_path=str(tmp_path), name="e", verbose=0),
        executor=InProcessExecutor(),
    ).fit()


def test_pauses_neither_reopen_the_files_nor_reread_them(
    tmp_path: Path, opens: Counter[tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    globs: list[str] = []
    real_glob = glob.glob
    monkeypatch.setattr(glob, "glob", lambda p, **kw: globs.append(p) or real_glob(p, **kw))
    # Paused at checkpoints: each resumes where it paused, and nothing is cut back.
    scheduler = PauseAt(2, 4, 6)
    grid = fit(tmp_path, scheduler, steps=8, every=2)
    assert [r.status for r in grid] == ["TERMINATED"] * 2 and len(scheduler.paused) == 6
    # Per trial: result.json opened once to append, progress.csv once to append and read its
    # header (none yet), one event file created once. Three pauses added none.
    assert opens == {("result", "a"): 2, ("progress", "a+"): 2, ("events", "xb"): 2}
    assert not [pattern for pattern in globs if "tfevents" in pattern]
    for result in grid:
        assert json_iterations(result.path) == list(range(1, 9))
        assert csv_iterations(result.path) == list(range(1, 9))
        assert tensorboard_steps(result.path) == list(range(1, 9))
        assert len(list(Path(result.path).glob("events.out.tfevents.*"))) == 1


def test_a_pause_past_the_checkpoint_rewinds_through_the_open_files(tmp_path: Path) -> None:
    """Paused at 3 and 5 with checkpoints every 2nd step: results 3 and 5 are reported twice,
    and the files, open when they are cut back, hold each once."""
    scheduler = PauseAt(3, 5)
    grid = fit(tmp_path, scheduler, steps=7, every=2)
    assert len(scheduler.paused) == 4
    for result in grid:
        assert json_iterations(result.path) == list(range(1, 8))
        assert csv_iterations(result.path) == list(range(1, 8))
        assert tensorboard_steps(result.path) == list(range(1, 8))
        assert list(result.metrics_dataframe["training_iteration"]) == list(range(1, 8))


def test_no_fsync_of_output_files_on_the_loop_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[bool, list[str]]] = []
    real_fsync = os.fsync
    loop = threading.current_thread()

    def recording_fsync(fd: int) -> None:
        files = [frame.filename for frame in traceback.extract_stack()]
        calls.append((threading.current_thread() is loop, files))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    grid = fit(tmp_path, PauseAt(100, 1000), steps=2000, every=500)
    assert all(json_iterations(r.path) == list(range(1, 2001)) for r in grid)
    output = (os.path.join("tuner", "output"), "tensorboardX")
    assert not [files for _, files in calls if any(o in f for f in files for o in output)]
    # What the loop thread does fsync is the experiment's state and lock (their durability
    # point), not trial files.
    state = (os.path.join("tuner", "state", ""), os.path.join("tuner", "storage", ""))
    on_loop = [files for on, files in calls if on]
    assert all(any(s in f for f in files for s in state) for files in on_loop)


# ---------------------------------------------------------------------------- the loggers
@pytest.fixture
def trial(tmp_path: Path) -> TrialInfo:
    return TrialInfo("t0", "t0", {"lr": 0.1}, str(tmp_path / "t0"), "RUNNING")


def test_a_rewind_makes_open_writers_let_go_first(trial: TrialInfo) -> None:
    callbacks = loggers()
    for callback in callbacks:
        callback.log_trial_start(trial)
    log(callbacks, trial, range(1, 4))
    for callback in callbacks:
        callback.flush()
    log(callbacks, trial, range(4, 6))  # buffered, not yet written
    files = [callbacks[0]._trials["t0"].file, callbacks[1]._trials["t0"].file]
    # Resumed from the checkpoint of result 3: the files are cut back while the loggers hold them.
    assert rewind_trial_outputs(trial.local_path, KeepPoint(results=3, iteration=3)) == 3
    assert all(file.closed for file in files)
    assert all(callback._trials == {} for callback in callbacks)
    assert json_iterations(trial.local_path) == [1, 2, 3]
    for callback in callbacks:
        callback.log_trial_start(trial)
    log(callbacks, trial, range(4, 7))  # reported again from 4
    for callback in callbacks:
        callback.log_trial_end(trial)
    assert json_iterations(trial.local_path) == [1, 2, 3, 4, 5, 6]
    assert csv_iterations(trial.local_path) == [1, 2, 3, 4, 5, 6]
    assert tensorboard_steps(trial.local_path) == [1, 2, 3, 4, 5, 6]


def test_a_rewind_leaves_other_trials_files_open(tmp_path: Path) -> None:
    one = TrialInfo("t1", "t1", {}, str(tmp_path / "t1"), "RUNNING")
    two = TrialInfo("t2", "t2", {}, str(tmp_path / "t2"), "RUNNING")
    logger = JsonLoggerCallback()
    logger.log_trial_start(one)
    logger.log_trial_start(two)
    rewind_trial_outputs(one.local_path, KeepPoint(results=0, iteration=0))
    assert set(logger._trials) == {"t2"} and not logger._trials["t2"].file.closed
    logger.on_experiment_end(trials=[one, two])


def test_results_are_written_in_batches_in_order(
    trial: TrialInfo, opens: Counter[tuple[str, str]]
) -> None:
    callbacks = loggers()
    n = 2 * _loggers.WRITE_EVERY + 500
    log(callbacks, trial, range(1, n + 1))
    # No flush yet: what was written is the whole batches, and the rest waits in memory.
    assert json_iterations(trial.local_path) == list(range(1, 2 * _loggers.WRITE_EVERY + 1))
    assert len(csv_iterations(trial.local_path)) == 2 * _loggers.WRITE_EVERY
    for callback in callbacks:
        callback.on_experiment_end(trials=[trial])
    assert json_iterations(trial.local_path) == list(range(1, n + 1))
    assert csv_iterations(trial.local_path) == list(range(1, n + 1))
    assert tensorboard_steps(trial.local_path) == list(range(1, n + 1))
    assert opens == {("result", "a"): 1, ("progress", "a+"): 1, ("events", "xb"): 1}


def test_too_many_open_trials_close_the_least_recently_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, opens: Counter[tuple[str, str]]
) -> None:
    monkeypatch.setattr(_loggers, "MAX_OPEN_TRIALS", 2)
    trials = [TrialInfo(f"t{i}", f"t{i}", {}, str(tmp_path / f"t{i}"), "RUNNING") for i in range(4)]
    callbacks = loggers()
    for step in range(1, 4):  # every trial runs a step in turn, as paused trials take turns
        for t in trials:
            for callback in callbacks:
                callback.log_trial_start(t)
            log(callbacks, t, range(step, step + 1))
            for callback in callbacks:
                callback.flush()
                assert len(callback._open) <= 2
    for callback in callbacks:
        callback.on_experiment_end(trials=trials)
    for t in trials:
        assert json_iterations(t.local_path) == [1, 2, 3]
        assert csv_iterations(t.local_path) == [1, 2, 3]
        assert tensorboard_steps(t.local_path) == [1, 2, 3]
        assert len(list(Path(t.local_path).glob("events.out.tfevents.*"))) == 1
    # Closed files were opened again to append, never read again (the header is remembered).
    assert opens[("progress", "a+")] == 4 and opens[("progress", "a")] > 0
    assert opens[("events", "xb")] == 4 and opens[("events", "ab")] > 0
    assert opens[("result", "a")] > 4
