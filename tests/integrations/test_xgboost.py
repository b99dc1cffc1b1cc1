"""tuner.integrations.xgboost: real boosters trained under `Tuner.fit`, one report a round,
checkpoints loaded back, PBT pausing and resuming boosters, and a driver killed with SIGKILL."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.integrations.scripts import doc_code, example, run_python

pytest.importorskip("xgboost")

import xgboost
from sklearn.datasets import make_classification

from tuner import (
    CheckpointConfig,
    ConfigError,
    InProcessExecutor,
    ResultGrid,
    RunConfig,
    TuneConfig,
    Tuner,
    choice,
    get_checkpoint,
)
from tuner.integrations.xgboost import (
    TuneReportCallback,
    TuneReportCheckpointCallback,
)
from tuner.state._experiment import load_state
from tuner.storage._filesystem import resolve_storage

HERE = Path(__file__).parent

X, Y = make_classification(n_samples=160, n_features=6, random_state=0)


def data() -> tuple[Any, Any]:
    return (xgboost.DMatrix(X[:120], label=Y[:120]), xgboost.DMatrix(X[120:], label=Y[120:]))


class Rounds(xgboost.callback.TrainingCallback):
    """Notes how many rounds the booster holds, for the report that follows in the same round."""

    def __init__(self) -> None:
        super().__init__()
        self.rounds = 0

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        self.rounds = model.num_boosted_rounds()
        return False


def params(config: dict[str, Any]) -> dict[str, Any]:
    return {"objective": "binary:logistic", "eval_metric": ["logloss", "error"],
            "max_depth": 2, "eta": config["eta"], "nthread": 1}


def fit(trainable: Any, tmp_path: Path, **tune: Any) -> Any:
    tune.setdefault("num_samples", 1)
    return Tuner(
        trainable,
        param_space={"eta": tune.pop("eta", 0.3)},
        tune_config=TuneConfig(metric=tune.pop("metric", "loss"), mode="min", **tune),
        run_config=RunConfig(storage_path=str(tmp_path), name="xgb", verbose=0,
                             checkpoint_config=CheckpointConfig()),
        executor=InProcessExecutor(),
    ).fit()


def test_every_round_is_reported_and_the_checkpoints_hold_the_booster(tmp_path: Path) -> None:
    def train(config: dict[str, Any]) -> None:
        dtrain, deval = data()
        xgboost.train(params(config), dtrain, num_boost_round=7, verbose_eval=False,
                      evals=[(dtrain, "train"), (deval, "eval")],
                      callbacks=[TuneReportCheckpointCallback(
                          metrics={"loss": "eval-logloss", "err": "eval-error"}, frequency=3)])

    grid = fit(train, tmp_path)
    assert grid.errors == []
    result = grid[0]
    frame = result.metrics_dataframe
    # 7 rounds, plus the last round's metrics once more with the final booster (Ray's
    # checkpoint_at_end: XGBoost does not say which round is the last)
    assert list(frame["training_iteration"]) == list(range(1, 9))
    assert set(frame.columns) >= {"loss", "err"} and "eval-logloss" not in frame.columns
    assert list(frame["loss"])[-1] == list(frame["loss"])[-2]
    # checkpoints at rounds 3 and 6 (frequency) and 7 (the end)
    kept = sorted((c for c, _ in result.best_checkpoints), key=lambda c: c.path)
    assert [TuneReportCheckpointCallback.get_model(c).num_boosted_rounds() for c in kept] == [
        3, 6, 7]
    booster = TuneReportCheckpointCallback.get_model(result.checkpoint)
    dtrain, deval = data()
    reference = xgboost.train(params({"eta": 0.3}), dtrain, num_boost_round=7)
    np.testing.assert_allclose(booster.predict(deval), reference.predict(deval), rtol=1e-6)


def test_metrics_none_reports_every_result_and_a_checkpoint_round_is_not_reported_twice(
    tmp_path: Path,
) -> None:
    def train(config: dict[str, Any]) -> None:
        dtrain, deval = data()
        xgboost.train(params(config), dtrain, num_boost_round=4, verbose_eval=False,
                      evals=[(dtrain, "train"), (deval, "eval")],
                      callbacks=[TuneReportCheckpointCallback(frequency=2)])

    grid = fit(train, tmp_path, metric="eval-logloss")
    frame = grid[0].metrics_dataframe
    assert {"train-logloss", "train-error", "eval-logloss", "eval-error"} <= set(frame.columns)
    # round 4 was checkpointed by frequency: checkpoint_at_end adds no second report
    assert list(frame["training_iteration"]) == [1, 2, 3, 4]
    assert len(grid[0].best_checkpoints) == 2


def test_report_only_callback_and_postprocessing(tmp_path: Path) -> None:
    def train(config: dict[str, Any]) -> None:
        dtrain, deval = data()
        xgboost.train(params(config), dtrain, num_boost_round=3, verbose_eval=False,
                      evals=[(deval, "eval")],
                      callbacks=[TuneReportCallback(
                          ["eval-logloss"],
                          results_postprocessing_fn=lambda m: {"loss": m["eval-logloss"] * 2})])

    grid = fit(train, tmp_path)
    frame = grid[0].metrics_dataframe
    assert list(frame["training_iteration"]) == [1, 2, 3]
    assert "eval-logloss" not in frame.columns and frame["loss"].is_monotonic_decreasing
    assert grid[0].checkpoint is None


def test_a_metric_the_booster_did_not_evaluate_fails_the_trial_with_the_names_it_has(
    tmp_path: Path,
) -> None:
    def train(config: dict[str, Any]) -> None:
        dtrain, deval = data()
        xgboost.train(params(config), dtrain, num_boost_round=2, verbose_eval=False,
                      evals=[(deval, "valid")],
                      callbacks=[TuneReportCheckpointCallback({"loss": "eval-logloss"})])

    grid = fit(train, tmp_path)
    assert grid.num_errors == 1
    message = str(grid.errors[0].traceback)
    assert "['eval-logloss']" in message and "valid-logloss" in message


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [({"metrics": 3}, "metrics=..."), ({"frequency": -1}, "frequency=-1"),
     ({"filename": "a/b.ubj"}, "plain file name")],
)
def test_bad_arguments_are_refused(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment.replace(".", r"\.")):
        TuneReportCheckpointCallback(**kwargs)


def test_get_model_names_the_files_a_checkpoint_holds(tmp_path: Path) -> None:
    from tuner import Checkpoint

    (tmp_path / "weights.bin").write_bytes(b"0")
    with pytest.raises(FileNotFoundError, match=r"no 'model\.ubj' \(it has \['weights\.bin'\]\)"):
        TuneReportCheckpointCallback.get_model(Checkpoint.from_directory(tmp_path))


def test_xgboost_cv_rounds_are_reported_with_mean_and_std(tmp_path: Path) -> None:
    def train(config: dict[str, Any]) -> None:
        xgboost.cv(params(config), xgboost.DMatrix(X, label=Y), num_boost_round=3, nfold=2,
                   callbacks=[TuneReportCheckpointCallback(frequency=1)])

    grid = fit(train, tmp_path, metric="test-logloss-mean")
    frame = grid[0].metrics_dataframe
    assert list(frame["training_iteration"]) == [1, 2, 3]
    assert {"test-logloss-mean", "test-logloss-std", "train-error-mean"} <= set(frame.columns)
    assert grid[0].checkpoint is None  # one booster per fold: nothing to checkpoint


def _pbt_train(config: dict[str, Any]) -> None:
    dtrain, deval = data()
    checkpoint = get_checkpoint()
    booster = None if checkpoint is None else TuneReportCheckpointCallback.get_model(checkpoint)
    start = 0 if booster is None else booster.num_boosted_rounds()
    rounds = Rounds()
    xgboost.train(
        params(config), dtrain, num_boost_round=8 - start, xgb_model=booster,
        evals=[(deval, "eval")], verbose_eval=False,
        callbacks=[rounds, TuneReportCheckpointCallback(
            metrics={"loss": "eval-logloss"}, frequency=1,
            results_postprocessing_fn=lambda m: {**m, "rounds": rounds.rounds, "start": start})],
    )


def test_pbt_pauses_and_resumes_boosters_from_their_checkpointed_rounds(tmp_path: Path) -> None:
    from schedulers import PopulationBasedTraining

    pbt = PopulationBasedTraining(
        time_attr="training_iteration", perturbation_interval=2,
        hyperparam_mutations={"eta": [0.05, 0.1, 0.3, 0.6]}, quantile_fraction=0.5, seed=0)
    grid = Tuner(
        _pbt_train,
        param_space={"eta": choice([0.05, 0.6])},
        tune_config=TuneConfig(metric="loss", mode="min", num_samples=4, seed=1, scheduler=pbt),
        run_config=RunConfig(storage_path=str(tmp_path), name="pbt", verbose=0),
        executor=InProcessExecutor(max_concurrent=2),
    ).fit()
    assert grid.errors == [] and len(grid) == 4
    resumed = 0
    for result in grid:
        rows = [json.loads(line) for line in Path(result.path, "result.json").read_text().splitlines()]
        # each report's booster holds exactly as many rounds as the trial has iterations: a
        # resumed booster continued from its checkpoint's rounds, neither over nor short
        assert [r["rounds"] for r in rows] == [r["training_iteration"] for r in rows]
        for before, row in zip([None, *rows], rows, strict=False):
            if before is not None and row["iterations_since_restore"] > 1:
                assert row["training_iteration"] == before["training_iteration"] + 1
            else:  # a (re)start: from round 0, its own checkpoint, or the donor's under exploit
                assert row["training_iteration"] == row["start"] + 1
                resumed += row["start"] > 0
        assert rows[-1]["training_iteration"] == 8
        assert result.checkpoint is not None
        assert TuneReportCheckpointCallback.get_model(result.checkpoint).num_boosted_rounds() == 8
    assert resumed >= 2, "PBT paused no trial"


def _state(path: str) -> dict[str, Any] | None:
    fs, exp = resolve_storage(path)
    fs.invalidate_cache()
    try:
        return load_state(fs, exp)
    except Exception:  # noqa: BLE001 - not written yet, or mid-write: ask again
        return None


def _driver(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(HERE / "xgb_driver.py"), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "TUNE_GLOBAL_CHECKPOINT_S": "0.05"},
    )


@pytest.mark.slow
def test_sigkill_of_the_driver_then_restore_finishes_every_booster_once(tmp_path: Path) -> None:
    storage, path = str(tmp_path / "storage"), str(tmp_path / "storage" / "exp")
    run = _driver("run", storage, "exp")
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            state = _state(path)
            if state and any(t["status"] == "RUNNING" and len(t["checkpoints"]) >= 2
                             for t in state["trials"]):
                break
            time.sleep(0.05)
        else:
            raise AssertionError("no trial checkpointed twice before the deadline")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(run.pid, signal.SIGKILL)
        run.communicate()
    restore = _driver("restore", storage, "exp")
    _, err = restore.communicate(timeout=120)
    assert restore.returncode == 0, err
    grid = ResultGrid.from_path(path)
    assert len(grid) == 3
    resumed = 0
    for result in grid:
        rows = [json.loads(line) for line in Path(result.path, "result.json").read_text().splitlines()]
        iterations = [r["training_iteration"] for r in rows]
        # each round once, in order, though the driver died mid-trial: no duplicate, no gap
        assert result.status == "TERMINATED" and iterations == list(range(1, 13)), iterations
        assert [r["rounds"] for r in rows] == iterations  # resumed boosters continued
        assert np.isfinite([r["loss"] for r in rows]).all()
        assert result.checkpoint is not None
        assert TuneReportCheckpointCallback.get_model(result.checkpoint).num_boosted_rounds() == 12
        resumed += max(r["start"] for r in rows) > 0
    assert resumed >= 1, "no trial resumed from its booster"


@pytest.mark.slow
def test_the_example_runs(tmp_path: Path) -> None:
    out = run_python(tmp_path, example("xgboost_example.py"), timeout=120)
    assert "best eta" in out and "resumed trials: " in out


@pytest.mark.slow
def test_the_docs_page_runs(tmp_path: Path) -> None:
    run_python(tmp_path, code=doc_code("xgboost.md"), timeout=120)
