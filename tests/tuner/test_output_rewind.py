"""Trial output files cut back to the result a trial resumes from: no result twice, no torn line.

TensorBoard files are read back with TensorBoard's own `EventAccumulator`.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from schedulers import Decision, FIFOScheduler, TrialView
from tuner import (
    Checkpoint,
    InProcessExecutor,
    RunConfig,
    SchedulerError,
    TuneConfig,
    TuneError,
    Tuner,
    get_checkpoint,
    report,
)
from tuner._callback import TrialInfo
from tuner.analysis._result import Result
from tuner.output._loggers import CSVLoggerCallback, JsonLoggerCallback, TBXLoggerCallback
from tuner.output._rewind import KeepPoint, rewind_trial_outputs

EventAccumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator"
).EventAccumulator


def tensorboard_steps(directory: str | Path, tag: str = "tune/loss") -> list[int]:
    accumulator = EventAccumulator(str(directory), size_guidance={"scalars": 0})
    accumulator.Reload()
    if tag not in accumulator.Tags()["scalars"]:
        return []
    return [event.step for event in accumulator.Scalars(tag)]


def json_iterations(directory: Path) -> list[int]:
    lines = (directory / "result.json").read_text().splitlines()
    return [json.loads(line)["training_iteration"] for line in lines]


def csv_rows(directory: Path) -> list[list[str]]:
    with open(directory / "progress.csv", newline="") as file:
        return list(csv.reader(file))


def write_results(directory: Path, iterations: Sequence[int], *, complete: bool = True) -> None:
    """Results through the real loggers, as one run of a trial writes them."""
    trial = TrialInfo("t0", "t0", {"lr": 0.1}, str(directory), "RUNNING")
    loggers = [JsonLoggerCallback(), CSVLoggerCallback(), TBXLoggerCallback()]
    for logger in loggers:
        logger.log_trial_start(trial)
    for i in iterations:
        for logger in loggers:
            logger.log_trial_result(0, trial, {"loss": 1.0 / i, "training_iteration": i})
    for logger in loggers:
        if complete:
            logger.log_trial_end(trial)
        else:
            logger.on_trial_pause(iteration=0, trials=[trial], trial=trial)


def test_rewind_keeps_the_first_results_in_every_file(tmp_path: Path) -> None:
    write_results(tmp_path, [1, 2, 3, 4, 5])
    assert tensorboard_steps(tmp_path) == [1, 2, 3, 4, 5]
    assert rewind_trial_outputs(str(tmp_path), KeepPoint(results=3, iteration=3)) == 3
    assert json_iterations(tmp_path) == [1, 2, 3]
    rows = csv_rows(tmp_path)
    assert [row[rows[0].index("training_iteration")] for row in rows[1:]] == ["1", "2", "3"]
    assert tensorboard_steps(tmp_path) == [1, 2, 3]
    # The trial then reports 4 and 5 again, in a new run of the loggers: each once.
    write_results(tmp_path, [4, 5])
    assert json_iterations(tmp_path) == [1, 2, 3, 4, 5]
    assert tensorboard_steps(tmp_path) == [1, 2, 3, 4, 5]


def test_rewind_to_nothing_and_without_files(tmp_path: Path) -> None:
    assert rewind_trial_outputs(str(tmp_path / "missing"), KeepPoint(0, 0)) == 0
    write_results(tmp_path, [1, 2])
    assert rewind_trial_outputs(str(tmp_path), KeepPoint(results=0, iteration=0)) == 0
    assert (tmp_path / "result.json").read_text() == ""
    assert csv_rows(tmp_path) == [csv_rows(tmp_path)[0]]  # the header only
    assert tensorboard_steps(tmp_path) == []


def test_an_old_state_without_counts_rewinds_by_iteration(tmp_path: Path) -> None:
    write_results(tmp_path, [1, 2, 3, 4])
    assert rewind_trial_outputs(str(tmp_path), KeepPoint(results=None, iteration=2)) == 2
    assert json_iterations(tmp_path) == [1, 2]
    assert tensorboard_steps(tmp_path) == [1, 2]


def test_torn_last_lines_are_cut_and_nothing_else_changes(tmp_path: Path) -> None:
    write_results(tmp_path, [1, 2, 3])
    with open(tmp_path / "result.json", "a") as f:
        f.write('{"loss": 0.25, "training_it')  # power lost mid-write
    with open(tmp_path / "progress.csv", "a") as f:
        f.write("0.25,4")
    events = next(p for p in tmp_path.iterdir() if p.name.startswith("events.out"))
    with open(events, "ab") as f:
        f.write(b"\x20\x00\x00\x00\x00\x00\x00\x00\x01\x02")  # a record header, then nothing
    assert rewind_trial_outputs(str(tmp_path), KeepPoint(results=10, iteration=10)) == 3
    assert json_iterations(tmp_path) == [1, 2, 3]
    rows = csv_rows(tmp_path)
    assert len(rows) == 4 and {len(row) for row in rows} == {len(rows[0])}
    assert tensorboard_steps(tmp_path) == [1, 2, 3]


def test_the_history_reader_skips_a_torn_line_and_reads_on(tmp_path: Path) -> None:
    (tmp_path / "result.json").write_text(
        '{"training_iteration": 1, "loss": 1.0}\n'
        '{"training_iteration": 2, "lo{"training_iteration": 3, "loss": 0.3}\n'
        '{"training_iteration": 4, "loss": 0.2}\n'
    )
    result = Result(metrics={}, config={}, path=str(tmp_path))
    assert list(result.metrics_dataframe["training_iteration"]) == [1, 4]
    assert result.metric_history("loss") == [1.0, 0.2]


class PauseOnceAt(FIFOScheduler):
    """Pauses every trial once, at iteration `at`, whatever its latest checkpoint."""

    pauses_trials = True

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at
        self.paused: set[str] = set()

    def on_trial_result(self, trial: TrialView, result: Mapping[str, Any]) -> Decision:
        if result["training_iteration"] == self.at and trial.trial_id not in self.paused:
            self.paused.add(trial.trial_id)
            return Decision.PAUSE
        return Decision.CONTINUE


def every_other_step_checkpointed(config: dict[str, Any]) -> None:
    start = 0
    if (checkpoint := get_checkpoint()) is not None:
        with checkpoint.as_directory() as d:
            start = int(Path(d, "step").read_text())
    for step in range(start + 1, 7):
        if step % 2 == 0:
            with tempfile.TemporaryDirectory() as d:
                Path(d, "step").write_text(str(step))
                report({"loss": 1.0 / step, "step": step}, checkpoint=Checkpoint.from_directory(d))
        else:
            report({"loss": 1.0 / step, "step": step})


def test_a_trial_paused_past_its_checkpoint_writes_each_result_once(tmp_path: Path) -> None:
    """Paused at step 3 with its checkpoint at step 2, the trial reports step 3 again."""
    grid = Tuner(
        every_other_step_checkpointed,
        param_space={"x": 1},
        tune_config=TuneConfig(num_samples=2, scheduler=PauseOnceAt(3)),
        run_config=RunConfig(storage_path=str(tmp_path), name="e", verbose=0),
        executor=InProcessExecutor(),
    ).fit()
    for result in grid:
        directory = Path(result.path)
        assert json_iterations(directory) == [1, 2, 3, 4, 5, 6]
        assert list(result.metrics_dataframe["step"]) == [1, 2, 3, 4, 5, 6]
        assert tensorboard_steps(directory) == [1, 2, 3, 4, 5, 6]


def test_a_retried_trial_writes_each_result_once(tmp_path: Path) -> None:
    from tuner import FailureConfig

    def flaky(config: dict[str, Any]) -> None:
        start = 0
        if (checkpoint := get_checkpoint()) is not None:
            with checkpoint.as_directory() as d:
                start = int(Path(d, "step").read_text())
        for step in range(start + 1, 6):
            if step == 2:
                with tempfile.TemporaryDirectory() as d:
                    Path(d, "step").write_text(str(step))
                    report({"step": step}, checkpoint=Checkpoint.from_directory(d))
            else:
                report({"step": step})
            if step == 4 and start == 0:
                raise RuntimeError("a failure after step 4; the retry resumes at step 2")

    grid = Tuner(
        flaky,
        run_config=RunConfig(storage_path=str(tmp_path), name="e", verbose=0,
                             failure_config=FailureConfig(max_failures=1)),
        executor=InProcessExecutor(),
    ).fit()
    (result,) = grid
    assert result.status == "TERMINATED"
    assert list(result.metrics_dataframe["step"]) == [1, 2, 3, 4, 5]
    assert json_iterations(Path(result.path)) == [1, 2, 3, 4, 5]


def test_a_checkpoint_sent_after_a_stop_is_not_the_latest(tmp_path: Path) -> None:
    """stop={"training_iteration": 1}: results after the first are dropped, their checkpoints too."""

    def fast(config: dict[str, Any]) -> None:
        for step in range(1, 6):
            with tempfile.TemporaryDirectory() as d:
                Path(d, "step").write_text(str(step))
                report({"step": step}, checkpoint=Checkpoint.from_directory(d))

    grid = Tuner(
        fast,
        tune_config=TuneConfig(num_samples=5),
        run_config=RunConfig(storage_path=str(tmp_path), name="e", verbose=0,
                             stop={"training_iteration": 1}),
    ).fit()
    for result in grid:
        assert result.metrics["training_iteration"] == 1
        assert result.checkpoint is not None
        with result.checkpoint.as_directory() as d:
            assert Path(d, "step").read_text() == "1"
        assert sorted(
            p.name for p in Path(result.path).iterdir() if p.name.startswith("checkpoint_")
        ) == ["checkpoint_000000"]


class Broken(FIFOScheduler):
    def on_trial_result(self, trial: TrialView, result: Mapping[str, Any]) -> Decision:
        raise ValueError("the rung table is inconsistent")


def test_a_scheduler_error_names_the_scheduler(tmp_path: Path) -> None:
    tuner = Tuner(
        lambda config: report({"loss": 1.0}),
        run_config=RunConfig(storage_path=str(tmp_path), name="e", verbose=0),
        tune_config=TuneConfig(scheduler=Broken()),
        executor=InProcessExecutor(),
    )
    with pytest.raises(SchedulerError, match=r"Broken\.on_trial_result failed: ValueError: the rung") as info:
        tuner.fit()
    assert isinstance(info.value, TuneError) and isinstance(info.value, ValueError)
    assert isinstance(info.value.__cause__, ValueError)


def test_saved_state_counts_results(tmp_path: Path) -> None:
    grid = Tuner(
        every_other_step_checkpointed,
        param_space={"x": 1},
        run_config=RunConfig(storage_path=str(tmp_path), name="e", verbose=0),
        executor=InProcessExecutor(),
    ).fit()
    state = json.loads(max(
        (p for p in (tmp_path / "e").glob("experiment_state-*.json")),
        key=lambda p: json.loads(p.read_text())["sequence"],
    ).read_text())
    (trial,) = state["trials"]
    assert trial["num_results"] == 6
    assert [c["num_results"] for c in trial["checkpoints"]] == [2, 4, 6]
    assert os.path.isdir(grid[0].path)
