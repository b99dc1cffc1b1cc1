"""The trial of one candidate: cross-validate it, all folds at once or one iteration at a time.

A class trainable: one `step()` is the whole cross-validation (then ``done``), or, with early
stopping, one more iteration on every fold followed by its scores, so that the scheduler
decides on the very iteration it is shown. Fit failures are caught per fold, as
`_fit_and_score` does in scikit-learn: the fold scores `error_score` and its traceback goes
back with the result, for `fit()` to warn (or raise) as `RandomizedSearchCV` does.
"""

from __future__ import annotations

import numbers
import os
import pickle
import time
import traceback
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils import _safe_indexing
from sklearn.utils.metaestimators import _safe_split

from tuner._trainable import Trainable
from tuner.integrations.sklearn._early_stop import EarlyStopping, ensemble_step, incremental_params
from tuner.integrations.sklearn._space import decode_objects

OBJECTIVE = "objective"
"""The result key the engine ranks trials by: the mean test score of the ranking scorer."""

Scorer = Callable[..., Any]


@dataclass
class CVJob:
    """Everything a trial needs besides its config; sent once per worker (`with_parameters`).

    Attributes:
        objects: The objects in the configs, by the token that stands for them there.
        raised: The exceptions trials raised (``error_score="raise"``, or a bad parameter).
            Trials that run on threads of the driver share this list with `fit()`, which
            re-raises the original exception; from worker processes only the traceback
            comes back.
    """

    estimator: BaseEstimator
    X: Any
    y: Any
    splits: list[tuple[np.ndarray, np.ndarray]]
    scorer: Scorer | dict[str, Scorer]
    ranking: str
    fit_params: dict[str, Any]
    score_params: dict[str, Any]
    error_score: float | str
    return_train_score: bool
    early_stopping: EarlyStopping
    max_iters: int
    classes: np.ndarray | None
    objects: dict[str, Any] = field(default_factory=dict)
    raised: list[BaseException] = field(default_factory=list)


@dataclass
class Fold:
    """One fold of one candidate: its estimator (kept across iterations) and its record."""

    estimator: BaseEstimator | None = None
    test: dict[str, float] = field(default_factory=dict)
    train: dict[str, float] = field(default_factory=dict)
    fit_time: float = 0.0
    score_time: float = 0.0
    error: str = ""


def _number(value: Any, name: str, scorer: Any) -> float:
    if isinstance(value, numbers.Number) and not isinstance(value, bool | complex):
        return float(value)  # type: ignore[arg-type]
    raise ValueError(
        f"scoring must return a number, got {value!r} ({type(value).__name__}) instead for "
        f"{name!r} (scorer={scorer!r})"
    )


def _fold_params(params: Mapping[str, Any], n_samples: int, indices: np.ndarray) -> dict[str, Any]:
    """Fit parameters, those with one value per sample cut to the fold (sample_weight)."""
    cut = {}
    for name, value in params.items():
        sized = hasattr(value, "__len__") and not isinstance(value, (str, bytes, Mapping))
        cut[name] = _safe_indexing(value, indices) if sized and len(value) == n_samples else value
    return cut


class CrossValidation(Trainable):
    """Cross-validates the trial's config (`setup` gets the `CVJob` from `with_parameters`)."""

    def setup(self, config: dict[str, Any], job: CVJob | None = None) -> None:
        if job is None:
            raise TypeError("CrossValidation runs with with_parameters(CrossValidation, job=...)")
        self.job = job
        self.params = decode_objects(config, job.objects)
        self.folds: list[Fold] | None = None

    def reset_config(self, new_config: dict[str, Any]) -> bool:
        self.params, self.folds = decode_objects(new_config, self.job.objects), None
        return True

    def step(self) -> dict[str, Any]:
        try:
            if self.job.early_stopping is EarlyStopping.NONE:
                folds = [self._fit_once(train, test) for train, test in self.job.splits]
                return {**self._result(folds), "done": True}
            folds = self._iterate()
            return {**self._result(folds), "done": self.iteration + 1 >= self.job.max_iters}
        except Exception as exc:
            self.job.raised.append(exc)
            raise

    # ------------------------------------------------------------------ one fold
    def _estimator(self) -> BaseEstimator:
        estimator = clone(self.job.estimator)
        estimator.set_params(**clone(self.params, safe=False))
        if self.job.early_stopping is not EarlyStopping.NONE:
            estimator.set_params(
                **incremental_params(self.job.early_stopping, estimator, self.job.max_iters)
            )
        return estimator

    def _split(self, estimator: BaseEstimator, train: np.ndarray, test: np.ndarray) -> tuple[
        Any, Any, Any, Any
    ]:
        X_train, y_train = _safe_split(estimator, self.job.X, self.job.y, train)
        X_test, y_test = _safe_split(estimator, self.job.X, self.job.y, test, train)
        return X_train, y_train, X_test, y_test

    def _fit_once(self, train: np.ndarray, test: np.ndarray) -> Fold:
        fold = Fold(estimator=self._estimator())
        self._train_and_score(fold, train, test, self._fit)
        return fold

    def _fit(self, estimator: Any, X: Any, y: Any, params: dict[str, Any]) -> None:
        estimator.fit(X, **params) if y is None else estimator.fit(X, y, **params)

    def _train_and_score(
        self, fold: Fold, train: np.ndarray, test: np.ndarray,
        how: Callable[[Any, Any, Any, dict[str, Any]], None],
    ) -> None:
        job = self.job
        X_train, y_train, X_test, y_test = self._split(fold.estimator, train, test)
        params = _fold_params(job.fit_params, _n_samples(job.X), train)
        start = time.perf_counter()
        try:
            how(fold.estimator, X_train, y_train, params)
        except Exception:
            if job.error_score == "raise":
                raise
            fold.fit_time += time.perf_counter() - start
            fold.error = traceback.format_exc()
            fold.test, fold.train = self._failed(), self._failed()
            return
        fold.fit_time += time.perf_counter() - start
        n_samples = _n_samples(job.X)
        start = time.perf_counter()
        fold.test = self._score(fold.estimator, X_test, y_test,
                                _fold_params(job.score_params, n_samples, test))
        fold.score_time = time.perf_counter() - start
        if job.return_train_score:
            fold.train = self._score(fold.estimator, X_train, y_train,
                                     _fold_params(job.score_params, n_samples, train))

    def _failed(self) -> dict[str, float]:
        error = float(self.job.error_score)
        names = list(self.job.scorer) if isinstance(self.job.scorer, dict) else [
            self.job.ranking]
        return dict.fromkeys(names, error)

    def _score(self, estimator: Any, X: Any, y: Any, params: dict[str, Any]) -> dict[str, float]:
        job = self.job
        try:
            if isinstance(job.scorer, dict):
                return {name: _number(scorer(estimator, X, y, **params), name, scorer)
                        for name, scorer in job.scorer.items()}
            value = job.scorer(estimator, X, y, **params)
            if isinstance(value, Mapping):  # a callable that scores several metrics at once
                return {str(k): _number(v, str(k), job.scorer) for k, v in value.items()}
            return {"score": _number(value, "score", job.scorer)}
        except Exception:
            if job.error_score == "raise":
                raise
            warnings.warn(
                f"Scoring failed. The score on this train-test partition for these parameters "
                f"will be set to {job.error_score}. Details: \n{traceback.format_exc()}",
                UserWarning, stacklevel=2,
            )
            return self._failed()

    # ------------------------------------------------------------------ early stopping
    def _iterate(self) -> list[Fold]:
        if self.folds is None:
            self.folds = [Fold(estimator=self._estimator()) for _ in self.job.splits]
        if self.job.early_stopping is EarlyStopping.WARM_START_ENSEMBLE:
            configured = clone(self.job.estimator).set_params(**clone(self.params, safe=False))
            self._step = ensemble_step(configured, self.job.max_iters)
        for fold, (train, test) in zip(self.folds, self.job.splits, strict=True):
            if fold.error:  # a fold that failed once keeps its error score
                continue
            self._train_and_score(fold, train, test, self._one_iteration)
        return self.folds

    def _one_iteration(self, estimator: Any, X: Any, y: Any, params: dict[str, Any]) -> None:
        kind = self.job.early_stopping
        if kind is EarlyStopping.PARTIAL_FIT:
            if self.job.classes is not None:
                params = {"classes": self.job.classes, **params}
            estimator.partial_fit(X, **params) if y is None else estimator.partial_fit(
                X, y, **params)
            return
        if kind is EarlyStopping.WARM_START_ENSEMBLE:
            estimator.set_params(n_estimators=estimator.get_params()["n_estimators"] + self._step)
        self._fit(estimator, X, y, params)

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self, checkpoint_dir: str) -> None:
        # A scikit-learn model has no format but pickle (its own docs persist models so);
        # only a scheduler that pauses trials (HyperBand, PBT) asks for these checkpoints.
        with open(os.path.join(checkpoint_dir, "folds.pkl"), "wb") as f:
            pickle.dump(self.folds, f, protocol=pickle.HIGHEST_PROTOCOL)

    def load_checkpoint(self, checkpoint: str | dict[str, Any]) -> None:
        with open(os.path.join(str(checkpoint), "folds.pkl"), "rb") as f:
            self.folds = pickle.load(f)  # this trial's own checkpoint, written above
        for fold in self.folds or []:
            if fold.estimator is not None:  # PBT may have changed the config: apply it
                fold.estimator.set_params(**clone(self.params, safe=False))

    # ------------------------------------------------------------------ the result
    def _result(self, folds: list[Fold]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for k, fold in enumerate(folds):
            for name, value in fold.test.items():
                result[f"split{k}_test_{name}"] = value
            for name, value in fold.train.items():
                result[f"split{k}_train_{name}"] = value
            result[f"split{k}_fit_time"] = fold.fit_time
            result[f"split{k}_score_time"] = fold.score_time
            result[f"split{k}_fit_error"] = fold.error
        ranking = [f.test.get(self.job.ranking, float(_error_or_nan(self.job))) for f in folds]
        result[OBJECTIVE] = float(np.mean(ranking))
        return result


def _error_or_nan(job: CVJob) -> float:
    return np.nan if job.error_score == "raise" else float(job.error_score)


def _n_samples(X: Any) -> int:
    shape = getattr(X, "shape", None)
    return int(shape[0]) if shape is not None else len(X)
