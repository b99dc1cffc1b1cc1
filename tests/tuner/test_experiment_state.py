"""Experiment state saving: the period rule, the environment override, incremental trials."""

from __future__ import annotations

import json
import time
from pathlib import Path

import fsspec
import pytest

from schedulers import TrialStatus
from tuner import ConfigError
from tuner._trial import StatusChange, Trial
from tuner.state._experiment import (
    MIN_END_SPACING_S,
    MIN_PERIOD_S,
    SLOTS,
    ExperimentSaver,
    checkpoint_period_setting,
    load_state,
)


def header() -> dict[str, object]:
    """The smallest state header `load_state` accepts (the shape checks of _state_schema)."""
    return {
        "format": "tuner-experiment-state",
        "format_version": 1,
        "experiment": {"name": "e", "experiment_id": "abcde", "trainable_name": "fn",
                       "trainable_kind": "function", "elapsed_s": 0.0,
                       "searcher_finished": False, "status": "running", "counts": {}},
        "settings": {"metric": None, "mode": None, "num_samples": 1,
                     "max_concurrent_trials": None, "time_budget_s": None, "reuse_actors": True,
                     "seed": None, "resources": {}, "stop": None, "stop_is_json": True,
                     "checkpoint_config": {}, "failure_config": {}, "verbose": 0,
                     "experiment_checkpoint_period_s": "auto"},
        "searcher": {"class": "s", "state": {}},
        "scheduler": {"class": "s", "state": {}},
    }


def make_saver(tmp_path: Path, trials: list[Trial], **kwargs: object) -> ExperimentSaver:
    return ExperimentSaver(
        fsspec.filesystem("file"),
        str(tmp_path),
        header=header,
        trials=lambda: trials,
        **kwargs,  # type: ignore[arg-type]
    )


def test_the_period_is_nineteen_times_the_last_save(tmp_path: Path) -> None:
    saver = make_saver(tmp_path, [], before_save=lambda: time.sleep(0.3))
    saver.run(now=0.0)
    assert saver.due_in(0.0) >= max(MIN_PERIOD_S, 19 * 0.3)  # at most 5% of wall time saving
    fast = make_saver(tmp_path, [])
    fast.run(now=0.0)
    assert fast.due_in(0.0) == pytest.approx(MIN_PERIOD_S)


def test_the_environment_variable_overrides_the_run_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TUNE_GLOBAL_CHECKPOINT_S", raising=False)
    assert checkpoint_period_setting("auto") is None
    assert checkpoint_period_setting(30.0) == 30.0
    monkeypatch.setenv("TUNE_GLOBAL_CHECKPOINT_S", "2.5")
    assert checkpoint_period_setting("auto") == 2.5
    monkeypatch.setenv("TUNE_GLOBAL_CHECKPOINT_S", "auto")
    assert checkpoint_period_setting(30.0) is None
    monkeypatch.setenv("TUNE_GLOBAL_CHECKPOINT_S", "soon")
    with pytest.raises(ConfigError, match="TUNE_GLOBAL_CHECKPOINT_S must be a number"):
        checkpoint_period_setting("auto")


def test_saves_alternate_slots_and_skip_unchanged_finished_trials(tmp_path: Path) -> None:
    trial = Trial(trial_id="t0", name="fn_t0", config={"x": 1}, path=str(tmp_path / "fn_t0"))
    trial.history.append(StatusChange(TrialStatus.PENDING, 0.0))
    saver = make_saver(tmp_path, [trial])
    saver.save()
    trial.transition(TrialStatus.RUNNING, 1.0)
    trial.last_result = {"loss": 0.5}
    saver.save()
    assert {json.loads((tmp_path / s).read_text())["sequence"] for s in SLOTS} == {1, 2}
    state = load_state(fsspec.filesystem("file"), str(tmp_path))
    assert state["sequence"] == 2 and state["trials"][0]["last_result"] == {"loss": 0.5}
    trial.transition(TrialStatus.TERMINATED, 2.0)
    saver.save()
    trial.last_result = {"loss": "changed after it finished"}  # never happens to a real trial
    saver.save()
    state = load_state(fsspec.filesystem("file"), str(tmp_path))
    assert state["trials"][0]["last_result"] == {"loss": 0.5}  # not serialised again


def test_a_trial_end_makes_a_save_due_as_soon_as_the_budget_allows(tmp_path: Path) -> None:
    finished = [0]
    saver = make_saver(tmp_path, [], period_s=1000.0, finished=lambda: finished[0],
                       before_save=lambda: time.sleep(0.05))
    saver.run(now=0.0)
    assert saver.due_in(0.0) == pytest.approx(1000.0)  # nothing ended: the period rules
    finished[0] = 1
    # The save of 0.05 s and 19 times as long without: the 5% budget, not the 1000 s period.
    assert max(MIN_END_SPACING_S, 0.05 * 20) <= saver.due_in(0.0) < 2.0
    assert saver.due_in(10.0) == 0.0
    saver.run(now=10.0)
    assert saver.due_in(10.0) == pytest.approx(1000.0)


def test_every_save_writes_the_current_result_even_at_a_reused_address(tmp_path: Path) -> None:
    """Change detection by id() of the result dict missed new dicts at freed addresses."""
    trial = Trial(trial_id="t0", name="fn_t0", config={"x": 1}, path=str(tmp_path / "fn_t0"))
    trial.history.append(StatusChange(TrialStatus.PENDING, 0.0))
    trial.transition(TrialStatus.RUNNING, 1.0)
    saver = make_saver(tmp_path, [trial])
    fs = fsspec.filesystem("file")
    for i in range(20):
        trial.last_result = {"i": i}  # the previous dict is freed; CPython reuses its address
        saver.save()
        assert load_state(fs, str(tmp_path))["trials"][0]["last_result"] == {"i": i}


def test_a_finished_trial_is_saved_without_waiting_for_the_period(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a save period of 1000 s, the second trial sees the first one's end on storage."""
    from tuner import InProcessExecutor, RunConfig, TuneConfig, Tuner, report

    monkeypatch.setenv("TUNE_GLOBAL_CHECKPOINT_S", "1000")
    fs, path = fsspec.filesystem("file"), str(tmp_path / "e")

    def train(config: dict[str, object]) -> None:
        if config["wait"] == 0:
            report({"saw_first_end": False})
            return
        deadline = time.monotonic() + 30.0
        while time.monotonic() < deadline:
            statuses = [t["status"] for t in load_state(fs, path)["trials"]]
            if statuses[:1] == ["TERMINATED"]:
                report({"saw_first_end": True})
                return
            time.sleep(0.01)
        report({"saw_first_end": False})

    from tuner import grid_search

    grid = Tuner(
        train,
        param_space={"wait": grid_search([0, 1])},
        tune_config=TuneConfig(max_concurrent_trials=1),
        run_config=RunConfig(storage_path=str(tmp_path), name="e", verbose=0),
        executor=InProcessExecutor(),
    ).fit()
    assert [r.metrics["saw_first_end"] for r in grid] == [False, True]
