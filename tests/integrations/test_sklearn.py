"""tuner.integrations.sklearn: TuneSearchCV and TuneGridSearchCV against scikit-learn's own
searches on the same data, early stopping under ASHA and HyperBand, failures, parallel trials."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats import loguniform, randint, uniform
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import GridSearchCV, KFold, RandomizedSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import tuner
from schedulers import ASHAScheduler
from tests.integrations.scripts import doc_code, example, run_python
from tuner import ResultGrid
from tuner.integrations.sklearn import TuneGridSearchCV, TuneSearchCV

X, Y = make_classification(n_samples=150, n_features=8, n_informative=4, random_state=0)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def frames(ours: Any, theirs: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.DataFrame(ours.cv_results_), pd.DataFrame(theirs.cv_results_)


def same_results(ours: Any, theirs: Any) -> None:
    """The same table: columns in order, dtypes, candidates, and every score."""
    a, b = frames(ours, theirs)
    assert list(a.columns) == list(b.columns)
    assert a.dtypes.to_dict() == b.dtypes.to_dict()
    assert a["params"].tolist() == b["params"].tolist()
    scores = [c for c in b.columns if "_test_" in c or "_train_" in c]
    pd.testing.assert_frame_equal(a[scores], b[scores])
    for column in (c for c in b.columns if c.startswith("param_")):
        pd.testing.assert_series_equal(a[column], b[column])


def test_random_search_matches_randomized_search_cv() -> None:
    space = {"C": loguniform(1e-3, 1e2), "fit_intercept": [True, False]}
    kwargs: dict[str, Any] = {"cv": 3, "random_state": 0, "return_train_score": True}
    ours = TuneSearchCV(LogisticRegression(), space, n_trials=5, **kwargs).fit(X, Y)
    theirs = RandomizedSearchCV(LogisticRegression(), space, n_iter=5, **kwargs).fit(X, Y)
    same_results(ours, theirs)
    assert ours.best_params_ == theirs.best_params_
    assert ours.best_index_ == theirs.best_index_ and ours.best_score_ == theirs.best_score_
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X))
    assert ours.score(X, Y) == theirs.score(X, Y)
    assert ours.n_splits_ == 3 and list(ours.classes_) == [0, 1]
    assert ours.scorer_ is not None and ours.multimetric_ is False
    assert ours.refit_time_ > 0 and ours.n_features_in_ == 8


def test_grid_search_matches_grid_search_cv_with_several_metrics_and_a_list_of_grids() -> None:
    grid = [{"C": [0.1, 1.0], "fit_intercept": [True]}, {"C": [10.0], "tol": [1e-3, 1e-2]}]
    kwargs: dict[str, Any] = {"cv": KFold(3), "scoring": ["accuracy", "roc_auc"], "refit": "roc_auc"}
    ours = TuneGridSearchCV(LogisticRegression(), grid, **kwargs).fit(X, Y)
    theirs = GridSearchCV(LogisticRegression(), grid, **kwargs).fit(X, Y)
    same_results(ours, theirs)
    a = pd.DataFrame(ours.cv_results_)
    # masked where a candidate's grid lacks the parameter, as in scikit-learn
    assert a["param_tol"].isna().tolist() == [True, True, False, False]
    assert ours.best_params_ == theirs.best_params_ and ours.best_score_ == theirs.best_score_
    assert ours.multimetric_ and set(ours.scorer_) == {"accuracy", "roc_auc"}
    assert ours.score(X, Y) == theirs.score(X, Y)  # the refit scorer, roc_auc


def test_refit_false_and_a_callable_refit() -> None:
    search = TuneGridSearchCV(LogisticRegression(), {"C": [0.01, 1.0]}, cv=2,
                              scoring=["accuracy", "f1"], refit=False).fit(X, Y)
    assert not hasattr(search, "best_estimator_") and not hasattr(search, "best_params_")
    with pytest.raises(AttributeError, match="has no attribute 'predict'"):
        search.predict(X)  # the message scikit-learn's searches give
    assert len(search.cv_results_["mean_test_f1"]) == 2

    def lowest_c(results: dict[str, Any]) -> int:
        return int(np.argmin(results["param_C"]))

    chosen = TuneGridSearchCV(LogisticRegression(), {"C": [1.0, 0.01]}, cv=2,
                              refit=lowest_c).fit(X, Y)
    assert chosen.best_index_ == 1 and chosen.best_params_ == {"C": 0.01}
    assert not hasattr(chosen, "best_score_")  # as in scikit-learn, for a callable refit
    with pytest.raises(ValueError, match="refit must be set to a scorer key"):
        TuneGridSearchCV(LogisticRegression(), {"C": [1.0]}, cv=2,
                         scoring=["accuracy", "f1"]).fit(X, Y)


def test_a_pipeline_search_over_estimators(caplog: pytest.LogCaptureFixture) -> None:
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    grid = {"logisticregression": [LogisticRegression(C=0.01), SVC()],
            "standardscaler": ["passthrough", StandardScaler()]}
    ours = TuneGridSearchCV(pipe, grid, cv=2).fit(X, Y)
    theirs = GridSearchCV(pipe, grid, cv=2).fit(X, Y)
    same_results(ours, theirs)  # the very estimator objects of the grid, in param_ and params
    assert ours.best_params_ == theirs.best_params_
    # the configs held tokens for the estimators: the engine had no object to store as repr
    assert "not JSON" not in caplog.text and "JSON cannot carry" not in caplog.text


def test_a_callable_scoring_several_metrics_at_once() -> None:
    def scores(estimator: Any, X: Any, y: Any) -> dict[str, float]:
        predicted = estimator.predict(X)
        return {"accuracy": float(np.mean(predicted == y)), "ones": float(np.mean(predicted))}

    space = {"C": [0.01, 1.0]}
    ours = TuneGridSearchCV(LogisticRegression(), space, cv=3, scoring=scores,
                            refit="accuracy").fit(X, Y)
    theirs = GridSearchCV(LogisticRegression(), space, cv=3, scoring=scores,
                          refit="accuracy").fit(X, Y)
    same_results(ours, theirs)
    assert ours.multimetric_ and ours.best_params_ == theirs.best_params_
    assert ours.best_score_ == theirs.best_score_


def test_sample_weight_is_cut_to_each_fold_as_scikit_learn_does() -> None:
    weights = np.linspace(0.1, 2.0, len(Y))
    space = {"C": [0.01, 0.1, 1.0]}
    ours = TuneGridSearchCV(LogisticRegression(), space, cv=3).fit(X, Y, sample_weight=weights)
    theirs = GridSearchCV(LogisticRegression(), space, cv=3).fit(X, Y, sample_weight=weights)
    np.testing.assert_allclose(ours.cv_results_["mean_test_score"],
                               theirs.cv_results_["mean_test_score"])
    unweighted = TuneGridSearchCV(LogisticRegression(), space, cv=3).fit(X, Y)
    assert not np.allclose(ours.cv_results_["mean_test_score"],
                           unweighted.cv_results_["mean_test_score"])
    assert ours.best_estimator_.coef_.tolist() != unweighted.best_estimator_.coef_.tolist()


def test_sgd_with_partial_fit_under_asha_stops_bad_candidates_early(tmp_path: Path) -> None:
    space = {"alpha": loguniform(1e-5, 10.0), "penalty": ["l2", "l1"]}
    search = TuneSearchCV(
        SGDClassifier(random_state=0), space, early_stopping=True, max_iters=9, n_trials=10,
        cv=3, random_state=0, local_dir=str(tmp_path), name="asha",
    ).fit(X, Y)
    iterations = search.cv_results_["training_iteration"]
    assert iterations.max() == 9
    assert (iterations < 9).sum() >= 3, f"ASHA stopped too few: {iterations}"
    assert iterations[search.best_index_] == 9  # the best one ran to the end
    # every trial reported its cross-validated score once per iteration, 1, 2, ... as it went
    grid = ResultGrid.from_path(str(tmp_path / "asha"))
    by_alpha = {r.config["alpha"]: r for r in grid}
    for i, params in enumerate(search.cv_results_["params"]):
        history = by_alpha[params["alpha"]].metrics_dataframe
        assert history["training_iteration"].tolist() == list(range(1, iterations[i] + 1))
        assert history["objective"].iloc[-1] == pytest.approx(
            search.cv_results_["mean_test_score"][i])


def test_sgd_iterations_are_partial_fit_epochs() -> None:
    """One trial, no scheduler stopping it: its folds were partial_fit max_iters times."""
    calls: list[tuple[int, Any]] = []

    class Counting(SGDClassifier):
        def partial_fit(self, X: Any, y: Any, classes: Any = None, **kwargs: Any) -> Any:
            calls.append((len(X), None if classes is None else list(classes)))
            return super().partial_fit(X, y, classes=classes, **kwargs)

    search = TuneSearchCV(Counting(random_state=0), {"alpha": [1e-3]}, n_trials=1, cv=2,
                          early_stopping=ASHAScheduler(max_t=4, grace_period=4), max_iters=4)
    search.fit(X, Y)
    assert search.cv_results_["training_iteration"].tolist() == [4]
    # 2 folds x 4 iterations, each on its fold's training half, told every class up front
    assert calls == [(75, [0, 1])] * 8


def test_hyperband_pauses_and_resumes_partial_fit_candidates() -> None:
    search = TuneSearchCV(
        SGDClassifier(random_state=0), {"alpha": loguniform(1e-5, 1.0)},
        early_stopping="HyperBandScheduler", max_iters=9, n_trials=6, cv=2, random_state=1,
    ).fit(X, Y)
    iterations = search.cv_results_["training_iteration"]
    assert iterations.max() == 9 and iterations.min() < 9
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_warm_start_estimators_grow_per_iteration() -> None:
    forest = TuneSearchCV(
        RandomForestClassifier(n_estimators=6, random_state=0), {"max_depth": [2, 4]},
        early_stopping="MedianStoppingRule", max_iters=3, n_trials=2, cv=2, random_state=0,
    ).fit(X, Y)
    assert forest.cv_results_["training_iteration"].max() == 3
    assert forest.best_estimator_.n_estimators == 6  # the refit uses the configured size
    with pytest.raises(ValueError, match="cannot tune it"):
        TuneSearchCV(RandomForestClassifier(), {"n_estimators": [2, 4]}, early_stopping=True,
                     max_iters=2, n_trials=2, cv=2).fit(X, Y)
    logistic = TuneSearchCV(LogisticRegression(max_iter=30), {"C": [0.1, 1.0]},
                            early_stopping=True, max_iters=3, n_trials=2, cv=2).fit(X, Y)
    assert set(logistic.cv_results_["training_iteration"]) <= {1, 3}


def test_tuner_domains_and_model_based_search() -> None:
    space = {"C": tuner.loguniform(1e-3, 1e2), "fit_intercept": tuner.choice([True, False])}
    first = TuneSearchCV(LogisticRegression(), space, n_trials=4, cv=2, random_state=3).fit(X, Y)
    again = TuneSearchCV(LogisticRegression(), space, n_trials=4, cv=2, random_state=3).fit(X, Y)
    assert first.cv_results_["params"] == again.cv_results_["params"]
    assert all(1e-3 <= p["C"] <= 1e2 for p in first.cv_results_["params"])
    mixed = {"C": uniform(0.1, 2.0), "intercept_scaling": tuner.uniform(1.0, 2.0)}
    search = TuneSearchCV(LogisticRegression(), mixed, n_trials=3, cv=2, random_state=0).fit(X, Y)
    assert all(0.1 <= p["C"] <= 2.1 for p in search.cv_results_["params"])
    tpe = TuneSearchCV(
        LogisticRegression(), {"C": (1e-3, 1e2, "log-uniform"), "max_iter": (50, 200),
                               "tol": loguniform(1e-5, 1e-2)},
        search_optimization="tpe", n_trials=5, cv=2, random_state=0,
    ).fit(X, Y)
    params = tpe.cv_results_["params"]
    assert len(params) == 5 and all(50 <= p["max_iter"] <= 200 for p in params)
    assert all(isinstance(p["max_iter"], int) for p in params)
    with pytest.raises(ValueError, match=r"scipy\.stats\.norm"):
        from scipy.stats import norm

        TuneSearchCV(LogisticRegression(), {"C": norm(1, 0.1)}, search_optimization="tpe",
                     n_trials=2, cv=2).fit(X, Y)


@pytest.mark.filterwarnings("ignore:One or more of the test scores are non-finite")
def test_fit_failures_warn_or_raise_as_in_scikit_learn() -> None:
    space = {"C": [1.0, -1.0]}  # C must be > 0: every fit of the second candidate fails
    with pytest.warns(FitFailedWarning, match="2 fits failed out of a total of 4"):
        search = TuneGridSearchCV(LogisticRegression(), space, cv=2).fit(X, Y)
    assert np.isnan(search.cv_results_["mean_test_score"][1])
    assert search.cv_results_["rank_test_score"].tolist() == [1, 2]
    assert search.best_params_ == {"C": 1.0}
    with pytest.raises(ValueError, match=r"All the 2 fits failed(.|\n)*'C' parameter"):
        TuneGridSearchCV(LogisticRegression(), {"C": [-1.0]}, cv=2).fit(X, Y)
    from sklearn.utils._param_validation import InvalidParameterError

    with pytest.raises(InvalidParameterError):  # the estimator's own exception, as it was
        TuneGridSearchCV(LogisticRegression(), space, cv=2, error_score="raise").fit(X, Y)
    with pytest.warns(FitFailedWarning):
        zero = TuneGridSearchCV(LogisticRegression(), space, cv=2, error_score=0).fit(X, Y)
    assert zero.cv_results_["mean_test_score"][1] == 0


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:One or more of the test scores are non-finite")
def test_n_jobs_runs_candidates_in_worker_processes() -> None:
    space = {"C": [0.01, 1.0, -1.0, 10.0]}
    with pytest.warns(FitFailedWarning) as caught:
        parallel = TuneGridSearchCV(LogisticRegression(), space, cv=2, n_jobs=2).fit(X, Y)
    # the failed candidate's tracebacks came back from the worker processes
    assert "InvalidParameterError" in str(caught[0].message)
    with pytest.warns(FitFailedWarning):
        serial = TuneGridSearchCV(LogisticRegression(), space, cv=2).fit(X, Y)
    same_results(parallel, serial)
    assert parallel.best_params_ == serial.best_params_


def test_n_jobs_maps_to_the_executor_and_trial_concurrency() -> None:
    from tuner import InProcessExecutor, LocalExecutor

    cpus = len(os.sched_getaffinity(0))
    for n_jobs, kind, concurrency in [(None, InProcessExecutor, 1), (1, InProcessExecutor, 1),
                                      (3, LocalExecutor, 3), (-1, LocalExecutor, cpus),
                                      (-cpus - 5, InProcessExecutor, 1)]:
        executor, at_once = TuneSearchCV(LogisticRegression(), {}, n_jobs=n_jobs)._executor()
        assert isinstance(executor, kind) and at_once == concurrency, n_jobs


@pytest.mark.parametrize(
    ("search", "fragment"),
    [
        (TuneSearchCV(SVC(), {"C": [1.0]}, early_stopping=True, n_trials=1),
         "partial_fit, or with warm_start"),
        (TuneSearchCV(make_pipeline(StandardScaler(), SGDClassifier()),
                      {"sgdclassifier__alpha": [1e-3]}, early_stopping=True, n_trials=1),
         "Pipeline"),
        (TuneSearchCV(LogisticRegression(), {"C": [1.0]}, search_optimization="grid"),
         "search_optimization must be one of"),
        (TuneSearchCV(LogisticRegression(), {"C": [1.0]}, early_stopping="Sooner"),
         "early_stopping must be None"),
        (TuneSearchCV(LogisticRegression(), {"C": [1.0]}, max_iters=0), "max_iters"),
        (TuneSearchCV(LogisticRegression(), {"C": [1.0]}, n_jobs=0), "n_jobs"),
        (TuneSearchCV(LogisticRegression(), {"C": [1.0]}, n_trials=0), "n_trials"),
        (TuneSearchCV(LogisticRegression(), {"C": "wide"}), r"param_distributions\['C'\]"),
        (TuneSearchCV(LogisticRegression(), {"C": [1.0]}, n_trials=3, n_iter=4), "n_iter"),
        (TuneGridSearchCV(LogisticRegression(), {"C": 1.0}), r"param_grid\['C'\]"),
        (TuneSearchCV(LogisticRegression(), {"C": [1.0]}, scoring=["accuracy", "accuracy"]),
         "unique scorer names"),
    ],
)
def test_bad_settings_are_refused_when_fit_says_which(search: Any, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        search.fit(X, Y)


def test_it_clones_pickles_and_reports_like_scikit_learn(capsys: pytest.CaptureFixture[str]) -> None:
    search = TuneSearchCV(LogisticRegression(), {"C": randint(1, 5)}, n_trials=3, cv=3,
                          random_state=0, verbose=1)
    assert clone(search).get_params()["n_trials"] == 3
    search.fit(X, Y)
    assert "Fitting 3 folds for each of 3 candidates, totalling 9 fits" in capsys.readouterr().out
    restored = pickle.loads(pickle.dumps(search))
    np.testing.assert_array_equal(restored.predict(X), search.predict(X))
    kept = RandomizedSearchCV(LogisticRegression(), {"C": randint(1, 5)}, n_iter=3, cv=3,
                              random_state=0).fit(X, Y)
    assert search.cv_results_["params"] == kept.cv_results_["params"]


def test_the_search_leaves_no_files_unless_asked(tmp_path: Path) -> None:
    import fsspec

    memory = fsspec.filesystem("memory")
    TuneGridSearchCV(LogisticRegression(), {"C": [1.0]}, cv=2).fit(X, Y)
    assert not memory.exists("/tuner-sklearn") or memory.ls("/tuner-sklearn") == []
    kept = TuneGridSearchCV(LogisticRegression(), {"C": [1.0]}, cv=2, local_dir=str(tmp_path),
                            name="kept").fit(X, Y)
    assert ResultGrid.from_path(str(tmp_path / "kept"))[0].config == {"C": 1.0}
    assert kept.best_params_ == {"C": 1.0}


@pytest.mark.slow
def test_the_example_runs(tmp_path: Path) -> None:
    out = run_python(tmp_path, example("sklearn_example.py"), timeout=120)
    assert "stopped early by ASHA:" in out and "same columns as" in out


@pytest.mark.slow
def test_the_docs_page_runs(tmp_path: Path) -> None:
    run_python(tmp_path, code=doc_code("sklearn.md"), timeout=120)


def test_importing_tuner_and_its_integrations_package_loads_none_of_the_libraries() -> None:
    probe = ("import json, sys, tuner, tuner.integrations, tuner.integration\n"
             "print(json.dumps(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    loaded = set(__import__("json").loads(done.stdout))
    assert loaded & {"sklearn", "xgboost", "lightgbm", "scipy"} == set()


def test_a_missing_library_names_the_extra_to_install() -> None:
    probe = (
        "import sys\n"
        "for library in ('sklearn', 'xgboost', 'lightgbm'):\n"
        "    sys.modules[library] = None\n"
        "for module in ('tuner.integrations.sklearn', 'tuner.integrations.xgboost',\n"
        "               'tuner.integration.xgboost', 'tuner.integrations.lightgbm'):\n"
        "    try:\n"
        "        __import__(module)\n"
        "    except ImportError as e:\n"
        "        print(module, e)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    assert done.stdout.splitlines() == [
        "tuner.integrations.sklearn tuner.integrations.sklearn needs scikit-learn: "
        "pip install 'tuner[sklearn]'",
        "tuner.integrations.xgboost tuner.integrations.xgboost needs XGBoost: "
        "pip install 'tuner[xgboost]'",
        "tuner.integration.xgboost tuner.integrations.xgboost needs XGBoost: "
        "pip install 'tuner[xgboost]'",
        "tuner.integrations.lightgbm tuner.integrations.lightgbm needs LightGBM: "
        "pip install 'tuner[lightgbm]'",
    ]
