"""Class trainables: setup/step/checkpoint/reset_config/cleanup, through worker processes."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from schedulers import Decision, FIFOScheduler, TrialView
from tuner import (
    CheckpointConfig,
    InProcessExecutor,
    LocalExecutor,
    RunConfig,
    Trainable,
    TuneConfig,
    Tuner,
    grid_search,
)


class Counter(Trainable):
    def setup(self, config: dict[str, Any]) -> None:
        self.value = 0.0
        self.rate = config["rate"]
        self.setups = getattr(self, "setups", 0) + 1
        self.loaded_from: str | None = None

    def step(self) -> dict[str, Any]:
        self.value += self.rate
        return {
            "value": self.value,
            "loaded_from": self.loaded_from,
            "pid": os.getpid(),
            "done": self.iteration + 1 >= 6,
        }

    def save_checkpoint(self, checkpoint_dir: str) -> None:
        with open(os.path.join(checkpoint_dir, "state.json"), "w") as f:
            json.dump({"value": self.value}, f)

    def load_checkpoint(self, checkpoint: str | dict[str, Any]) -> None:
        assert isinstance(checkpoint, str)
        with open(os.path.join(checkpoint, "state.json")) as f:
            self.value = json.load(f)["value"]
        self.loaded_from = os.path.basename(checkpoint.rstrip("/"))


def fit(trainable: Any, tmp_path: Path, *, scheduler: Any = None, executor: Any = None,
        checkpoint_config: CheckpointConfig | None = None, rates: list[float] | None = None) -> Any:
    return Tuner(
        trainable,
        param_space={"rate": grid_search(rates or [1.0, 2.0])},
        tune_config=TuneConfig(metric="value", mode="max", scheduler=scheduler),
        run_config=RunConfig(
            storage_path=str(tmp_path), name="cls", verbose=0,
            checkpoint_config=checkpoint_config or CheckpointConfig(),
        ),
        executor=executor or LocalExecutor(num_cpus=2),
    ).fit()


def test_steps_until_done_with_periodic_checkpoints(tmp_path: Path) -> None:
    grid = fit(Counter, tmp_path, checkpoint_config=CheckpointConfig(checkpoint_frequency=2))
    for result in grid:
        assert result.status == "TERMINATED"
        assert result.metrics["training_iteration"] == 6
        assert result.metrics["value"] == 6 * result.config["rate"]
        names = sorted(os.listdir(result.path))
        assert [n for n in names if n.startswith("checkpoint_")] == [
            "checkpoint_000000", "checkpoint_000001", "checkpoint_000002"
        ]
        assert result.checkpoint is not None
        with result.checkpoint.as_directory() as d:
            assert json.loads(Path(d, "state.json").read_text())["value"] == result.metrics["value"]


class PauseOnce(FIFOScheduler):
    """Pauses every trial once, at iteration 2; resumes paused trials after pending ones."""

    def __init__(self) -> None:
        super().__init__()
        self.paused: set[str] = set()

    def on_trial_result(self, trial: TrialView, result: Mapping[str, Any]) -> Decision:
        if result["training_iteration"] == 2 and trial.trial_id not in self.paused:
            self.paused.add(trial.trial_id)
            return Decision.PAUSE
        return Decision.CONTINUE


def test_pause_saves_a_checkpoint_and_resume_loads_it(tmp_path: Path) -> None:
    grid = fit(Counter, tmp_path, scheduler=PauseOnce(), executor=LocalExecutor(num_cpus=1))
    for result in grid:
        assert result.status == "TERMINATED"
        assert result.metrics["training_iteration"] == 6
        # The value continued from the checkpoint instead of starting over.
        assert result.metrics["value"] == 6 * result.config["rate"]
        assert result.metrics["loaded_from"] == "checkpoint_000000"
        iterations = [json.loads(line)["training_iteration"]
                      for line in Path(result.path, "result.json").read_text().splitlines()]
        assert iterations == [1, 2, 3, 4, 5, 6]


class Reusable(Counter):
    def reset_config(self, new_config: dict[str, Any]) -> bool:
        self.rate = new_config["rate"]
        self.value = 0.0
        return True

    def step(self) -> dict[str, Any]:
        result = super().step()
        result["setups"] = self.setups
        result["instance"] = id(self)
        return result


def test_reset_config_reuses_the_instance(tmp_path: Path) -> None:
    grid = fit(Reusable, tmp_path, rates=[1.0, 2.0, 3.0], executor=LocalExecutor(num_cpus=1))
    assert len({r.metrics["instance"] for r in grid}) == 1
    assert [r.metrics["value"] for r in grid] == [6.0, 12.0, 18.0]


def test_without_reset_config_a_new_instance_is_built(tmp_path: Path) -> None:
    grid = fit(Counter, tmp_path, rates=[1.0, 2.0], executor=InProcessExecutor())
    assert [r.metrics["value"] for r in grid] == [6.0, 12.0]


class BadStep(Trainable):
    def step(self) -> Any:
        return 42


def test_a_step_that_returns_no_dict_errors_the_trial(tmp_path: Path) -> None:
    grid = Tuner(BadStep, run_config=RunConfig(storage_path=str(tmp_path), verbose=0),
                 executor=InProcessExecutor()).fit()
    assert grid[0].status == "ERROR"
    assert "must return a dict" in str(grid[0].error.traceback)  # type: ignore[union-attr]


class NoSave(Trainable):
    def step(self) -> dict[str, Any]:
        return {"value": 1.0}


def test_pausing_without_save_checkpoint_names_the_method(tmp_path: Path) -> None:
    grid = fit(NoSave, tmp_path, scheduler=PauseOnce(), executor=InProcessExecutor(), rates=[1.0])
    assert grid[0].status == "ERROR"
    assert "save_checkpoint() is not implemented" in grid[0].error.traceback  # type: ignore[union-attr]


class DictState(Trainable):
    def setup(self, config: dict[str, Any]) -> None:
        self.total = 0

    def step(self) -> dict[str, Any]:
        self.total += 1
        return {"value": self.total, "done": self.iteration + 1 >= 4}

    def save_checkpoint(self, checkpoint_dir: str) -> dict[str, Any]:
        return {"total": self.total}

    def load_checkpoint(self, checkpoint: str | dict[str, Any]) -> None:
        assert isinstance(checkpoint, dict)
        self.total = checkpoint["total"]


def test_dict_checkpoints_round_trip(tmp_path: Path) -> None:
    grid = fit(DictState, tmp_path, scheduler=PauseOnce(), executor=InProcessExecutor(),
               rates=[1.0])
    assert grid[0].metrics["value"] == 4


class PathState(DictState):
    """Returns the path of the file it wrote, as Ray's older examples do; loading gets it."""

    def save_checkpoint(self, checkpoint_dir: str) -> str:  # type: ignore[override]
        path = os.path.join(checkpoint_dir, "sub", "state.json")
        os.makedirs(os.path.dirname(path))
        with open(path, "w") as f:
            json.dump({"total": self.total}, f)
        return path

    def load_checkpoint(self, checkpoint: str | dict[str, Any]) -> None:
        assert isinstance(checkpoint, str) and checkpoint.endswith(os.path.join("sub", "state.json"))
        with open(checkpoint) as f:
            self.total = json.load(f)["total"]


def test_a_returned_path_inside_the_checkpoint_is_handed_back_to_load(tmp_path: Path) -> None:
    grid = fit(PathState, tmp_path, scheduler=PauseOnce(), executor=LocalExecutor(num_cpus=1),
               rates=[1.0])
    assert grid[0].status == "TERMINATED"
    assert grid[0].metrics["value"] == 4  # resumed at 2 from the file, not started over


class OutsidePath(DictState):
    def save_checkpoint(self, checkpoint_dir: str) -> str:  # type: ignore[override]
        return os.path.join(os.path.dirname(checkpoint_dir), "elsewhere.json")


class WrongType(DictState):
    def save_checkpoint(self, checkpoint_dir: str) -> Any:
        return 42


def test_a_path_outside_the_checkpoint_or_a_wrong_type_errors_clearly(tmp_path: Path) -> None:
    outside = fit(OutsidePath, tmp_path / "a", scheduler=PauseOnce(), executor=InProcessExecutor(),
                  rates=[1.0])
    assert outside[0].status == "ERROR"
    assert "outside its checkpoint directory" in outside[0].error.traceback
    wrong = fit(WrongType, tmp_path / "b", scheduler=PauseOnce(), executor=InProcessExecutor(),
                rates=[1.0])
    assert wrong[0].status == "ERROR"
    assert "save_checkpoint returned int" in wrong[0].error.traceback


class PauseAtTwo(FIFOScheduler):
    """Asks to pause every trial at iteration 2, even on a result that says done."""

    pauses_trials = True

    def on_trial_result(self, trial: TrialView, result: Mapping[str, Any]) -> Decision:
        return Decision.PAUSE if result["training_iteration"] == 2 else Decision.CONTINUE


class DoneAtTwo(Counter):
    def step(self) -> dict[str, Any]:
        result = super().step()
        result["done"] = self.iteration + 1 >= 2
        return result


def test_a_result_that_says_done_ends_the_trial_even_if_a_pause_was_due(tmp_path: Path) -> None:
    grid = fit(DoneAtTwo, tmp_path, scheduler=PauseAtTwo(), executor=InProcessExecutor())
    assert [r.metrics["training_iteration"] for r in grid] == [2, 2]
    assert {r.status for r in grid} == {"TERMINATED"}


def test_a_waiting_function_that_reports_done_is_let_go(tmp_path: Path) -> None:
    from tuner import report

    def done_at_two(config: dict[str, Any]) -> None:
        report({"value": 1.0})
        report({"value": 2.0, "done": True})

    grid = Tuner(done_at_two, param_space={"rate": grid_search([1.0])},
                 tune_config=TuneConfig(metric="value", mode="max", scheduler=PauseAtTwo()),
                 run_config=RunConfig(storage_path=str(tmp_path), name="f", verbose=0),
                 executor=LocalExecutor(num_cpus=1)).fit()
    assert grid[0].status == "TERMINATED" and grid[0].metrics["training_iteration"] == 2
