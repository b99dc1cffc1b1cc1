"""Bad input that used to pass silently, hang or fail late now gets a clear error up front.

Each error names the value it refuses and says how to fix it. Where the issue is about worker
processes, the tests run real ones (the default `LocalExecutor`, scripts run as `__main__`).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tuner import (
    Callback,
    Checkpoint,
    CheckpointConfig,
    ConfigError,
    ExperimentPlateauStopper,
    InProcessExecutor,
    LocalExecutor,
    MaximumIterationStopper,
    RunConfig,
    Stopper,
    TimeoutStopper,
    TrialError,
    TrialInfo,
    TuneConfig,
    Tuner,
    WorkerDiedError,
    grid_search,
    report,
    uniform,
)
from tuner._stoppers import make_stopper
from tuner.stopper import CombinedStopper


def ok(config: dict[str, Any]) -> None:
    report({"loss": 1.0})


def fit(tmp_path: Path, trainable: Any = ok, *, executor: Any = None, **kwargs: Any) -> Any:
    return Tuner(
        trainable,
        param_space=kwargs.pop("param_space", {"x": 1}),
        tune_config=kwargs.pop("tune_config", TuneConfig()),
        run_config=RunConfig(**{"storage_path": str(tmp_path), "name": "exp", "verbose": 0,
                                **kwargs}),
        executor=executor or InProcessExecutor(),
    ).fit()


# ------------------------------------------------------------------------------ counts


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"max_concurrent_trials": 1.5}, "max_concurrent_trials=1.5 (float)"),
        ({"max_concurrent_trials": True}, "max_concurrent_trials=True (bool)"),
        ({"max_concurrent_trials": "4"}, "max_concurrent_trials='4' (str)"),
        ({"num_samples": True}, "num_samples=True (bool)"),
        ({"num_samples": 2.0}, "num_samples=2.0 (float)"),
        ({"time_budget_s": True}, "time_budget_s=True (bool)"),
        ({"time_budget_s": float("nan")}, "time_budget_s=nan (float)"),
        ({"time_budget_s": "60"}, "time_budget_s='60' (str)"),
        ({"reuse_actors": "no"}, "reuse_actors='no' (str)"),
    ],
)
def test_counts_must_be_whole_numbers(kwargs: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        TuneConfig(**kwargs)
    assert named in str(caught.value)


def test_numpy_integers_are_counts_and_stored_as_ints() -> None:
    config = TuneConfig(num_samples=np.int64(3), max_concurrent_trials=np.int32(2))
    assert (config.num_samples, config.max_concurrent_trials) == (3, 2)
    assert type(config.num_samples) is int and type(config.max_concurrent_trials) is int


# ---------------------------------------------------------------------- num_samples=-1


def endless(**run: Any) -> Tuner:
    return Tuner(ok, param_space={"x": uniform(0, 1)}, tune_config=TuneConfig(num_samples=-1),
                 run_config=RunConfig(verbose=0, **run), executor=InProcessExecutor())


@pytest.mark.parametrize(
    "stop",
    [None, {"training_iteration": 3}, MaximumIterationStopper(3),
     lambda trial_id, result: result["loss"] < 0.1,
     CombinedStopper(MaximumIterationStopper(2), make_stopper({"loss": 0.1}))],
    ids=["none", "dict", "max-iterations", "function", "combined-per-trial"],
)
def test_endless_sampling_without_an_end_is_refused(tmp_path: Path, stop: Any) -> None:
    tuner = endless(stop=stop, storage_path=str(tmp_path))
    with pytest.raises(ConfigError) as caught:
        tuner.fit()
    message = str(caught.value)
    assert "num_samples=-1" in message and "time_budget_s" in message
    assert "TimeoutStopper" in message and "ExperimentPlateauStopper" in message
    assert not any(tmp_path.iterdir())  # refused before anything was written


class StepClock:
    """A clock for TimeoutStopper that moves a second per reading."""

    def __init__(self) -> None:
        self._ticks = itertools.count()

    def __call__(self) -> float:
        return float(next(self._ticks))


class EndsAfter(Stopper):
    def __init__(self, results: int) -> None:
        self.left = results

    def __call__(self, trial_id: str, result: Any) -> bool:
        self.left -= 1
        return False

    def stop_all(self) -> bool:
        return self.left <= 0


@pytest.mark.parametrize(
    "stop",
    [TimeoutStopper(3, clock=StepClock()), EndsAfter(3),
     CombinedStopper(MaximumIterationStopper(1), EndsAfter(3)),
     ExperimentPlateauStopper("loss", top=2)],
    ids=["timeout", "own-stopper", "combined", "plateau"],
)
def test_endless_sampling_with_a_stopper_that_ends_it_runs(tmp_path: Path, stop: Any) -> None:
    grid = endless(stop=stop, storage_path=str(tmp_path)).fit()
    assert 1 <= len(grid) < 50


# ------------------------------------------------------------------------- pickled configs


def test_main_module_classes_and_lambdas_in_the_config_reach_the_workers(tmp_path: Path) -> None:
    """A script run as __main__ whose config holds its own class and a lambda (LocalExecutor)."""
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(f"""
        from tuner import RunConfig, TuneConfig, Tuner, grid_search, report

        class Net:
            def __init__(self, width):
                self.width = width

        def train(config):
            net = config["net"]
            report({{"loss": config["activation"](net.width) + config["x"],
                     "net_class": type(net).__name__}})

        grid = Tuner(
            train,
            param_space={{"x": grid_search([0, 1]), "net": Net(3),
                         "activation": lambda v: v * v}},
            tune_config=TuneConfig(metric="loss", mode="min"),
            run_config=RunConfig(storage_path={str(tmp_path)!r}, name="script", verbose=0),
        ).fit()
        for r in grid:
            print("RESULT", r.status, r.metrics.get("loss"), r.metrics.get("net_class"),
                  r.error)
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=180, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = sorted(line for line in done.stdout.splitlines() if line.startswith("RESULT"))
    assert lines == ["RESULT TERMINATED 10 Net None", "RESULT TERMINATED 9 Net None"]


@pytest.mark.parametrize(
    ("space", "key"),
    [
        (lambda f: {"log": f}, "config['log']"),
        (lambda f: {"io": {"sinks": [1, f]}}, "config['io']['sinks'][1]"),
    ],
)
def test_an_open_file_in_the_config_names_its_key_and_the_fixes(
    tmp_path: Path, space: Any, key: str
) -> None:
    started: list[str] = []

    class Started(Callback):
        def on_trial_start(self, info: TrialInfo) -> None:
            started.append(info.trial_id)

    with open(tmp_path / "log.txt", "w") as handle, pytest.raises(ConfigError) as caught:
        fit(tmp_path, param_space=space(handle), executor=LocalExecutor(num_cpus=1),
            callbacks=[Started()])
    message = str(caught.value)
    assert f"{key} of trial" in message and "TextIOWrapper" in message
    assert "create it inside the trainable" in message and "factory" in message
    assert "InProcessExecutor()" in message
    assert len(started) <= 1  # refused as the first trial was sent, nothing ran


# ------------------------------------------------------------------------------ stop=


@pytest.mark.parametrize(
    ("stop", "named"),
    [
        (lambda result: result["loss"] < 0.1, "<lambda>(result)"),
        (lambda trial_id, result, extra: False, "<lambda>(trial_id, result, extra)"),
    ],
)
def test_a_stop_function_of_the_wrong_form_is_refused_before_any_trial(
    tmp_path: Path, stop: Any, named: str
) -> None:
    ran: list[int] = []

    def trainable(config: dict[str, Any]) -> None:
        ran.append(1)
        report({"loss": 1.0})

    with pytest.raises(ConfigError) as caught:
        fit(tmp_path, trainable, stop=stop)
    message = str(caught.value)
    assert named in message and "(trial_id, result) -> bool" in message
    assert ran == []


def test_a_callable_object_of_the_wrong_form_is_named() -> None:
    class LossBelow:
        def __call__(self, result: Any) -> bool:
            return bool(result["loss"] < 0.1)

    with pytest.raises(ConfigError, match=r"\(trial_id, result\) -> bool, but LossBelow\(result"):
        make_stopper(LossBelow())
    make_stopper(lambda trial_id, result: False)
    make_stopper(lambda *args: False)  # can be called so
    make_stopper(print)  # a builtin: no signature to check, trusted


# ----------------------------------------------------------- checkpoint score attribute


def checkpointing(config: dict[str, Any]) -> None:
    for epoch in range(4):
        directory = Path(tempfile.mkdtemp(prefix="test-ckpt-"))
        (directory / "epoch.json").write_text(json.dumps(epoch))
        scored = epoch in config["scored_epochs"]
        metrics = {"epoch": epoch, **({"acc": config["acc"][epoch]} if scored else {})}
        report(metrics, checkpoint=Checkpoint.from_directory(str(directory)))


def epochs(result: Any) -> list[int]:
    return [metrics["epoch"] for _, metrics in result.best_checkpoints]


def test_a_score_attribute_never_reported_keeps_every_checkpoint_listed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        grid = fit(tmp_path, checkpointing, param_space={"scored_epochs": [], "acc": []},
                   checkpoint_config=CheckpointConfig(checkpoint_score_attribute="accuracy"))
    result = grid[0]
    assert result.status == "TERMINATED"
    assert epochs(result) == [3, 2, 1, 0]  # none scored: all of them, newest first
    warnings = [r.getMessage() for r in caplog.records if "checkpoint_score_attribute" in r.message]
    assert len(warnings) == 1, warnings  # said once, not once per checkpoint
    assert "'accuracy'" in warnings[0] and "'epoch'" in warnings[0]  # the keys it did report
    assert "CheckpointConfig(checkpoint_score_attribute=...)" in warnings[0]


def test_checkpoints_without_a_score_rank_after_the_scored_ones(tmp_path: Path) -> None:
    grid = fit(tmp_path, checkpointing,
               param_space={"scored_epochs": [0, 2], "acc": [0.9, None, 0.5, None]},
               checkpoint_config=CheckpointConfig(checkpoint_score_attribute="acc"))
    assert epochs(grid[0]) == [0, 2, 3, 1]  # scored best first, then unscored newest first


def test_nan_scores_rank_with_the_unscored(tmp_path: Path) -> None:
    grid = fit(tmp_path, checkpointing,
               param_space={"scored_epochs": [0, 1, 2, 3], "acc": [0.5, float("nan"), 0.7, 0.6]},
               checkpoint_config=CheckpointConfig(checkpoint_score_attribute="acc"))
    assert epochs(grid[0]) == [2, 3, 0, 1]


def test_retention_deletes_unscored_checkpoints_first_instead_of_failing(tmp_path: Path) -> None:
    grid = fit(tmp_path, checkpointing,
               param_space={"scored_epochs": [1], "acc": [None, 0.9, None, None]},
               checkpoint_config=CheckpointConfig(num_to_keep=2, checkpoint_score_attribute="acc"))
    result = grid[0]
    assert result.status == "TERMINATED"
    # Kept: the scored one and the newest (never deleted); the unscored 0 and 2 went first.
    assert epochs(result) == [1, 3]
    on_disk = sorted(p.name for p in Path(result.path).iterdir() if p.name.startswith("checkpoint"))
    assert on_disk == ["checkpoint_000001", "checkpoint_000003"]


# ------------------------------------------------------------------------- worker death


class Errors(Callback):
    def __init__(self) -> None:
        self.seen: list[str] = []

    def on_trial_error(self, info: TrialInfo, error: TrialError) -> None:
        self.seen.append(str(error))


def exits(config: dict[str, Any]) -> None:
    report({"loss": 1.0})
    os._exit(3)


def test_a_worker_death_is_told_once(tmp_path: Path) -> None:
    errors = Errors()
    grid = fit(tmp_path, exits, executor=LocalExecutor(num_cpus=1), callbacks=[errors])
    result = grid[0]
    trial_id = result.trial_id
    assert result.status == "ERROR"
    for text in [str(result.error), str(grid.errors[0]), *errors.seen]:
        assert text.count(f"trial {trial_id}") == 1, text
        assert text.count("failed") == 1, text
        assert "exited with code 3" in text, text
    assert str(result.error) == (
        f"trial {trial_id} failed: WorkerDiedError: its worker process "
        f"(pid {result.metrics['pid']}) exited with code 3"
    )
    assert isinstance(result.error, WorkerDiedError)
    error_file = (Path(result.path) / "error.txt").read_text()
    assert error_file.count("exited with code 3") == 1 and "failed: trial" not in error_file


def test_a_raising_trial_is_told_once_too(tmp_path: Path) -> None:
    def raises(config: dict[str, Any]) -> None:
        raise ValueError("bad learning rate")

    result = fit(tmp_path, raises, executor=LocalExecutor(num_cpus=1))[0]
    assert str(result.error) == f"trial {result.trial_id} failed: ValueError: bad learning rate"
    assert type(result.error) is TrialError


def test_grid_search_still_runs_with_these_checks(tmp_path: Path) -> None:
    grid = fit(tmp_path, param_space={"x": grid_search([1, 2])},
               tune_config=TuneConfig(num_samples=1, max_concurrent_trials=2))
    assert grid.num_terminated == 2
