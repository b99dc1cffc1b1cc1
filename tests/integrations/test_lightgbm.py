"""tuner.integrations.lightgbm: real boosters trained under `Tuner.fit`, one report a round,
checkpoints loaded back, and a failed trial retried from its booster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.integrations.scripts import doc_code, example, run_python

lightgbm = pytest.importorskip("lightgbm")

from sklearn.datasets import make_classification  # noqa: E402

from tuner import (  # noqa: E402
    Checkpoint,
    ConfigError,
    FailureConfig,
    InProcessExecutor,
    RunConfig,
    TuneConfig,
    Tuner,
    choice,
    get_checkpoint,
)
from tuner.integrations.lightgbm import (  # noqa: E402
    TuneReportCallback,
    TuneReportCheckpointCallback,
)

X, Y = make_classification(n_samples=200, n_features=6, random_state=0)
PARAMS = {"objective": "binary", "metric": ["binary_logloss", "auc"], "num_leaves": 4,
          "min_data_in_leaf": 5, "verbose": -1, "num_threads": 1, "deterministic": True}


def datasets() -> tuple[Any, Any]:
    train = lightgbm.Dataset(X[:150], label=Y[:150])
    return train, lightgbm.Dataset(X[150:], label=Y[150:], reference=train)


def fit(trainable: Any, tmp_path: Path, **tune: Any) -> Any:
    failure = FailureConfig(max_failures=tune.pop("max_failures", 0))
    return Tuner(
        trainable,
        param_space={"learning_rate": tune.pop("learning_rate", 0.2)},
        tune_config=TuneConfig(metric=tune.pop("metric", "loss"), mode="min",
                               num_samples=tune.pop("num_samples", 1), seed=0),
        run_config=RunConfig(storage_path=str(tmp_path), name="lgbm", verbose=0,
                             failure_config=failure),
        executor=InProcessExecutor(),
    ).fit()


def test_every_round_is_reported_and_the_checkpoints_hold_the_booster(tmp_path: Path) -> None:
    def train(config: dict[str, Any]) -> None:
        dtrain, deval = datasets()
        lightgbm.train({**PARAMS, **config}, dtrain, num_boost_round=7,
                       valid_sets=[dtrain, deval], valid_names=["train", "eval"],
                       callbacks=[TuneReportCheckpointCallback(
                           {"loss": "eval-binary_logloss", "auc": "eval-auc"}, frequency=3)])

    grid = fit(train, tmp_path, learning_rate=choice([0.1, 0.3]), num_samples=2)
    assert grid.errors == []
    for result in grid:
        frame = result.metrics_dataframe
        # LightGBM says which round is the last: the end checkpoint rides on its report
        assert list(frame["training_iteration"]) == list(range(1, 8))
        assert {"loss", "auc"} <= set(frame.columns) and "eval-auc" not in frame.columns
        kept = sorted((c for c, _ in result.best_checkpoints), key=lambda c: c.path)
        assert [TuneReportCheckpointCallback.get_model(c).current_iteration() for c in kept] == [
            3, 6, 7]
        booster = TuneReportCheckpointCallback.get_model(result.checkpoint)
        dtrain, _ = datasets()
        reference = lightgbm.train({**PARAMS, **result.config}, dtrain, num_boost_round=7)
        np.testing.assert_allclose(booster.predict(X[150:]), reference.predict(X[150:]))
    best = grid.get_best_result()
    assert best.metrics["loss"] == min(r.metrics["loss"] for r in grid)


def test_a_failed_trial_is_retried_from_its_booster_and_boosts_only_the_missing_rounds(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "failed-once"

    def train(config: dict[str, Any]) -> None:
        checkpoint = get_checkpoint()
        booster = None if checkpoint is None else TuneReportCheckpointCallback.get_model(checkpoint)
        start = 0 if booster is None else booster.current_iteration()

        def crash_once(env: Any) -> None:
            if env.iteration + 1 == 5 and not marker.exists():
                marker.touch()
                raise RuntimeError("worker lost")

        dtrain, deval = datasets()
        lightgbm.train({**PARAMS, **config}, dtrain, num_boost_round=10 - start,
                       init_model=booster, valid_sets=[deval], valid_names=["eval"],
                       callbacks=[TuneReportCheckpointCallback(
                           {"loss": "eval-binary_logloss"}, frequency=2,
                           results_postprocessing_fn=lambda m: {**m, "start": start}),
                           crash_once])

    grid = fit(train, tmp_path, max_failures=1)
    assert grid.errors == [] and marker.exists()
    frame = grid[0].metrics_dataframe
    # the crash came in round 5, after its report; the retry resumed from the round-4 booster
    # (frequency=2), so the trial's history keeps rounds 1-4 of the first try, then 5-10
    assert list(frame["training_iteration"]) == list(range(1, 11))
    assert list(frame["start"]) == [0] * 4 + [4] * 6
    assert TuneReportCheckpointCallback.get_model(grid[0].checkpoint).current_iteration() == 10


def test_report_only_callback_and_lightgbm_cv(tmp_path: Path) -> None:
    def train(config: dict[str, Any]) -> None:
        lightgbm.cv({**PARAMS, **config}, lightgbm.Dataset(X, label=Y), num_boost_round=3,
                    nfold=2, callbacks=[TuneReportCallback()])

    grid = fit(train, tmp_path, metric="valid-auc-mean")
    frame = grid[0].metrics_dataframe
    assert list(frame["training_iteration"]) == [1, 2, 3]
    assert {"valid-binary_logloss-mean", "valid-binary_logloss-stdv", "valid-auc-mean"} <= set(
        frame.columns)
    assert grid[0].checkpoint is None


def test_a_metric_lightgbm_did_not_evaluate_fails_the_trial_with_the_names_it_has(
    tmp_path: Path,
) -> None:
    def train(config: dict[str, Any]) -> None:
        dtrain, deval = datasets()
        lightgbm.train({**PARAMS, **config}, dtrain, num_boost_round=2, valid_sets=[deval],
                       callbacks=[TuneReportCheckpointCallback({"loss": "eval-binary_logloss"})])

    grid = fit(train, tmp_path)
    assert grid.num_errors == 1
    assert "valid_0-binary_logloss" in grid.errors[0].traceback


def test_bad_arguments_and_a_checkpoint_without_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="frequency"):
        TuneReportCheckpointCallback(frequency=1.5)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="metrics"):
        TuneReportCallback(metrics={"loss": 1})  # type: ignore[dict-item]
    with pytest.raises(FileNotFoundError, match=r"model\.txt"):
        TuneReportCheckpointCallback.get_model(Checkpoint.from_directory(tmp_path))


def test_the_ray_module_names_are_the_same_callbacks() -> None:
    from tuner.integration import lightgbm as ray_lightgbm
    from tuner.integration import xgboost as ray_xgboost
    from tuner.integrations import xgboost as ours_xgboost

    assert ray_lightgbm.TuneReportCheckpointCallback is TuneReportCheckpointCallback
    assert ray_lightgbm.TuneReportCallback is TuneReportCallback
    assert ray_xgboost.TuneReportCheckpointCallback is ours_xgboost.TuneReportCheckpointCallback


@pytest.mark.slow
def test_the_example_runs(tmp_path: Path) -> None:
    out = run_python(tmp_path, example("lightgbm_example.py"), timeout=120)
    assert "best num_leaves" in out and "stopped early by ASHA: " in out


@pytest.mark.slow
def test_the_docs_page_runs(tmp_path: Path) -> None:
    run_python(tmp_path, code=doc_code("lightgbm.md"), timeout=120)
