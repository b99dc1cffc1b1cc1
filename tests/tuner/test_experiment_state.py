"""Experiment state saving: the period rule, the environment override, incremental trials."""

from __future__ import annotations

import json
import time
from pathlib import Path

import fsspec
import pytest

from schedulers import TrialStatus
from tuner import ConfigError
from tuner._experiment_state import (
    MIN_PERIOD_S,
    SLOTS,
    ExperimentSaver,
    checkpoint_period_setting,
    load_state,
)
from tuner._trial import StatusChange, Trial


def make_saver(tmp_path: Path, trials: list[Trial], **kwargs: object) -> ExperimentSaver:
    return ExperimentSaver(
        fsspec.filesystem("file"),
        str(tmp_path),
        header=lambda: {"format": "tuner-experiment-state", "format_version": 1},
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
