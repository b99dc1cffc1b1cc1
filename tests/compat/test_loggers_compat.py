"""Ray Tune's loggers through the mapped imports (`ray.tune.logger` -> `tuner.logger`), in
Ray's style, through real fits."""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path
from typing import Any

import fsspec
import pytest

import tuner as tune
from schedulers import ASHAScheduler
from tuner import InProcessExecutor
from tuner.experiment import Trial
from tuner.logger import (
    CSVLoggerCallback,
    JsonLoggerCallback,
    LoggerCallback,
    TBXLoggerCallback,
    pretty_print,
)


class StepLogger(LoggerCallback):
    """Writes its own file per trial, ``steps.log``, one line per event, as Ray loggers do."""

    def __init__(self) -> None:
        self._files: dict[Trial, Any] = {}
        self.ended: dict[str, bool] = {}

    def _line(self, trial: Trial, text: str) -> None:
        if trial not in self._files:
            self._files[trial] = open(Path(trial.local_path, "steps.log"), "a")  # noqa: SIM115
        self._files[trial].write(text + "\n")

    def log_trial_start(self, trial: Trial) -> None:
        self._line(trial, f"start {trial.config['rate']}")

    def log_trial_restore(self, trial: Trial) -> None:
        self._line(trial, "restore")

    def log_trial_save(self, trial: Trial) -> None:
        self._line(trial, f"save {Path(trial.checkpoint.path).name}")

    def log_trial_result(self, iteration: int, trial: Trial, result: dict[str, Any]) -> None:
        self._line(trial, f"result {result['training_iteration']} {result['value']}")

    def log_trial_end(self, trial: Trial, failed: bool = False) -> None:
        self._line(trial, f"end failed={failed}")
        self._files.pop(trial).close()
        self.ended[trial.trial_id] = failed


class Stepper(tune.Trainable):
    def setup(self, config: dict[str, Any]) -> None:
        self.value = 0.0

    def step(self) -> dict[str, Any]:
        if self.config["rate"] < 0:
            raise ValueError("negative rate")
        self.value += self.config["rate"]
        return {"value": self.value}

    def save_checkpoint(self, checkpoint_dir: str) -> dict[str, Any]:
        return {"value": self.value}

    def load_checkpoint(self, checkpoint: Any) -> None:
        self.value = checkpoint["value"]


def test_a_logger_callback_writes_its_own_files_next_to_the_built_in_ones(
    tmp_path: Path,
) -> None:
    logger = StepLogger()
    grid = tune.Tuner(
        Stepper,
        param_space={"rate": tune.grid_search([1.0, 2.0, 3.0, -1.0])},
        tune_config=tune.TuneConfig(
            metric="value", mode="max",
            scheduler=ASHAScheduler(time_attr="training_iteration", max_t=9, grace_period=1,
                                    reduction_factor=3),
        ),
        run_config=tune.RunConfig(
            storage_path=str(tmp_path), name="asha", verbose=0, callbacks=[logger],
            checkpoint_config=tune.CheckpointConfig(checkpoint_frequency=3),
        ),
        executor=InProcessExecutor(),
    ).fit()
    by_rate = {r.config["rate"]: r for r in grid}
    assert by_rate[-1.0].status == "ERROR" and by_rate[3.0].status == "TERMINATED"
    for rate, result in by_rate.items():
        lines = Path(result.path, "steps.log").read_text().splitlines()
        assert lines[0] == f"start {rate}"
        assert lines[-1] == f"end failed={rate < 0}"
        assert logger.ended[result.trial_id] == (rate < 0)
        results = [line for line in lines if line.startswith("result")]
        history = Path(result.path, "result.json").read_text().splitlines()
        assert len(results) == len(history), "one line per result, as the built-in logger"
        for line, row in zip(results, map(json.loads, history), strict=True):
            assert line == f"result {row['training_iteration']} {row['value']}"
        saves = [line for line in lines if line.startswith("save")]
        assert saves == [f"save checkpoint_{i:06d}" for i in range(len(saves))]
    # The best trial ran to max_t and saved every 3rd iteration.
    assert [line for line in Path(by_rate[3.0].path, "steps.log").read_text().splitlines()
            if line.startswith("save")] == ["save checkpoint_000000", "save checkpoint_000001",
                                           "save checkpoint_000002"]


def test_files_a_logger_writes_reach_remote_storage() -> None:
    url = f"memory://loggers-{uuid.uuid4().hex}"
    grid = tune.Tuner(
        Stepper,
        param_space={"rate": 1.0},
        run_config=tune.RunConfig(storage_path=url, name="remote", verbose=0,
                                  callbacks=[StepLogger()], stop={"training_iteration": 2}),
        executor=InProcessExecutor(),
    ).fit()
    fs = fsspec.filesystem("memory")
    text = fs.cat_file(f"{grid[0].path}/steps.log").decode()
    assert text.splitlines() == ["start 1.0", "result 1 1.0", "result 2 2.0", "end failed=False"]


class AddsAMetric(tune.Callback):
    def on_trial_result(self, iteration, trials, trial, result, **info):
        result["double"] = 2 * result["value"]


def test_a_logger_passed_by_the_user_replaces_the_default_and_loggers_run_last(
    tmp_path: Path,
) -> None:
    class MyCSV(CSVLoggerCallback):
        def __init__(self) -> None:
            super().__init__()
            self.results = 0

        def log_trial_result(self, iteration: int, trial: Trial, result: dict[str, Any]) -> None:
            self.results += 1
            super().log_trial_result(iteration, trial, result)

    mine = MyCSV()
    grid = tune.Tuner(
        Stepper,
        param_space={"rate": 1.5},
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="own", verbose=0,
                                  callbacks=[mine, AddsAMetric()],
                                  stop={"training_iteration": 4}),
        executor=InProcessExecutor(),
    ).fit()
    assert mine.results == 4
    with Path(grid[0].path, "progress.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert [row["training_iteration"] for row in rows] == ["1", "2", "3", "4"], "no row twice"
    # The built-in loggers come after every callback: what one adds is in their files. (MyCSV
    # was passed before AddsAMetric, so its rows do not hold it.)
    assert "double" not in rows[0]
    history = [json.loads(line) for line in Path(grid[0].path, "result.json").read_text().splitlines()]
    assert [row["double"] for row in history] == [3.0, 6.0, 9.0, 12.0]
    assert list(Path(grid[0].path).glob("events.out.tfevents.*")), "TensorBoard still written"


def test_pretty_print_writes_results_as_ray_does() -> None:
    import numpy as np

    text = pretty_print({
        "loss": np.float32(0.25), "training_iteration": 3, "done": False, "config": {"lr": 1},
        "hist_stats": [1, 2], "skipped": None, "info": {"lr": 0.01, "tags": ["a", "b"]},
        "curve": [1, 2, 3, 4, 5], "name": "trial one", "nan": float("nan"),
    })
    assert text == (
        "curve: [1, 2, 3, 4, 5]\n"
        "done: false\n"
        "info:\n"
        "  lr: 0.01\n"
        "  tags:\n"
        "  - a\n"
        "  - b\n"
        "loss: 0.25\n"
        "name: \"trial one\"\n"
        "nan: .nan\n"
        "training_iteration: 3\n"
    )
    assert pretty_print({"a": 1, "b": 2}, exclude={"b"}) == "a: 1\n"


def test_tuner_logger_exports_rays_names() -> None:
    import tuner.logger

    assert sorted(tuner.logger.__all__) == sorted(
        ["LoggerCallback", "pretty_print", "CSVLoggerCallback", "JsonLoggerCallback",
         "TBXLoggerCallback"]
    )
    assert tune.logger.LoggerCallback is LoggerCallback  # tune.logger, as in Ray scripts
    for cls in (CSVLoggerCallback, JsonLoggerCallback, TBXLoggerCallback):
        assert issubclass(cls, LoggerCallback) and issubclass(cls, tune.Callback)


@pytest.mark.parametrize("name", ["DONE", "SHOULD_CHECKPOINT", "TRAINING_ITERATION",
                                  "TIME_TOTAL_S", "TIME_THIS_ITER_S", "TIMESTAMP", "TRIAL_ID",
                                  "EXPR_PROGRESS_FILE", "EXPR_RESULT_FILE", "EXPR_PARAM_FILE"])
def test_result_constants_name_the_keys_and_files_the_engine_writes(
    tmp_path: Path, name: str
) -> None:
    import tuner.result

    value = getattr(tuner.result, name)
    grid = tune.Tuner(
        Stepper, param_space={"rate": 1.0},
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="keys", verbose=0,
                                  stop={"training_iteration": 1}),
        executor=InProcessExecutor(),
    ).fit()
    if name.startswith("EXPR_"):
        assert Path(grid[0].path, value).is_file()
    elif name == "SHOULD_CHECKPOINT":
        assert value == "should_checkpoint"
    else:
        assert value in grid[0].metrics
