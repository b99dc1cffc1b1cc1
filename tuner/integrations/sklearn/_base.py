"""What `TuneSearchCV` and `TuneGridSearchCV` share: `fit()`, which runs one trial per
candidate through `Tuner.fit()` and then does what scikit-learn's `BaseSearchCV.fit` does
with the scores (cv_results_, best_*, refit).

The delegating methods (`predict`, `predict_proba`, `score`, `transform`, ...), `classes_`,
`n_features_in_` and the estimator tags come from scikit-learn's `BaseSearchCV`, so that the
search behaves as the estimator it found, as `RandomizedSearchCV` does.
"""

from __future__ import annotations

import contextlib
import numbers
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.metrics import check_scoring, get_scorer
from sklearn.model_selection import check_cv
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils.validation import indexable

from schedulers import TrialScheduler
from searchers import BasicVariantGenerator, Searcher
from tuner._config import RunConfig, TuneConfig
from tuner._with_parameters import with_parameters
from tuner.exceptions import TrialError
from tuner.integrations.sklearn._early_stop import (
    EarlyStopping,
    early_stopping_kind,
    resolve_scheduler,
)
from tuner.integrations.sklearn._results import (
    cv_results,
    fold_errors,
    scorer_names,
    warn_or_raise_about_fit_failures,
)
from tuner.integrations.sklearn._space import decode_objects, encode_objects
from tuner.integrations.sklearn._trainable import OBJECTIVE, CrossValidation, CVJob


@dataclass(frozen=True)
class Plan:
    """What a search runs: the engine's space and searcher, and how many trials.

    Attributes:
        scheduler: One the searcher requires (BOHB's HyperBand), if no other is given.
        objects: The objects in the candidates' configs, by token (`encode_objects`).
    """

    param_space: dict[str, Any]
    searcher: Searcher
    num_samples: int
    scheduler: TrialScheduler | None = None
    objects: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, candidates: list[dict[str, Any]]) -> Plan:
        """Exactly these candidates, in this order."""
        configs, objects = encode_objects(candidates)
        return cls({}, BasicVariantGenerator(points_to_evaluate=configs), len(configs),
                   objects=objects)


class TuneBaseSearchCV(BaseSearchCV):
    """Shared by `TuneSearchCV` and `TuneGridSearchCV`; not for direct use."""

    # The parameters both take; subclasses list theirs in __init__, as scikit-learn wants.
    estimator: Any
    early_stopping: Any
    scheduler: Any
    scoring: Any
    n_jobs: int | None
    cv: Any
    refit: Any
    verbose: int
    error_score: Any
    return_train_score: bool
    local_dir: str | None
    name: str | None
    max_iters: int
    pipeline_auto_early_stop: bool
    stopper: Any
    time_budget_s: float | None

    def _plan(self, scheduler: TrialScheduler | None) -> Plan:
        raise NotImplementedError

    def _tuned_names(self) -> set[str]:
        raise NotImplementedError

    # ------------------------------------------------------------------ checks
    def _check_settings(self) -> None:
        owner = type(self).__name__
        if not hasattr(self.estimator, "fit"):
            raise ValueError(f"{owner} needs a scikit-learn estimator (with fit), got "
                             f"{self.estimator!r}")
        if not _is_int(self.max_iters) or self.max_iters < 1:
            raise ValueError(f"max_iters must be an int >= 1, got max_iters={self.max_iters!r}")
        if self.n_jobs is not None and (not _is_int(self.n_jobs) or self.n_jobs == 0):
            raise ValueError(
                f"n_jobs must be None, a positive int, or a negative one counting back from all "
                f"CPUs (-1: all), got n_jobs={self.n_jobs!r}"
            )
        if not (self.error_score == "raise" or (isinstance(self.error_score, numbers.Real)
                                                and not isinstance(self.error_score, bool))):
            raise ValueError(
                f"error_score must be 'raise' or a number (np.nan), got {self.error_score!r}"
            )
        if not (isinstance(self.refit, (bool, str)) or callable(self.refit)):
            raise ValueError(
                f"refit must be a bool, a scorer name or a callable, got {self.refit!r}"
            )

    def _scorers(self) -> tuple[Any, bool]:
        """The scorer (or {name: scorer}) and whether several metrics are scored."""
        scoring = self.scoring
        if scoring is None or isinstance(scoring, str) or callable(scoring):
            return check_scoring(self.estimator, scoring=scoring), False
        if isinstance(scoring, (list, tuple, set)):
            names = list(scoring)
            if not names or not all(isinstance(n, str) for n in names) or len(set(names)) != len(
                names
            ):
                raise ValueError(
                    f"scoring as a list must hold unique scorer names, got {scoring!r}"
                )
            return {name: get_scorer(name) for name in names}, True
        if isinstance(scoring, Mapping) and scoring and all(isinstance(k, str) for k in scoring):
            return {k: get_scorer(v) if isinstance(v, str) else v for k, v in scoring.items()}, True
        raise ValueError(
            "scoring must be None, a scorer name, a callable, a list of names or a dict of "
            f"names to scorers, got {scoring!r}"
        )

    def _early_stopping(self) -> tuple[TrialScheduler | None, EarlyStopping]:
        scheduler = resolve_scheduler(self.early_stopping, self.scheduler, self.max_iters)
        wanted = scheduler is not None or self.early_stopping is True
        if not wanted:
            if self.max_iters > 1:
                import warnings

                warnings.warn(
                    f"max_iters={self.max_iters} is ignored without early stopping: each "
                    "candidate is fit once; set early_stopping=True to train in iterations",
                    UserWarning, stacklevel=3,
                )
            return None, EarlyStopping.NONE
        estimator = self.estimator
        if self.pipeline_auto_early_stop and hasattr(estimator, "steps"):
            estimator = estimator.steps[-1][1]
        kind = early_stopping_kind(estimator)
        if estimator is not self.estimator:
            raise ValueError(
                "early stopping of the last step of a Pipeline is not supported: tune the "
                "Pipeline without early_stopping, or its final estimator alone"
            )
        reserved = {"max_iter", "n_estimators", "warm_start"} & self._tuned_names()
        if kind in (EarlyStopping.WARM_START_ITER, EarlyStopping.WARM_START_ENSEMBLE) and reserved:
            raise ValueError(
                f"early stopping by warm start grows {sorted(reserved)} itself, so the search "
                "cannot tune it: remove it from the search space, or set early_stopping=None"
            )
        return scheduler, kind

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any = None, groups: Any = None, **fit_params: Any) -> Any:
        """Cross-validate candidates, one trial each, then refit the best on all of `X`.

        Args:
            X: Training data, ``(n_samples, n_features)``.
            y: Targets, or None for unsupervised estimators.
            groups: Group labels for a group splitter (`GroupKFold`).
            **fit_params: Passed to the estimator's `fit` (per-sample ones cut to each fold).

        Returns:
            self, fitted.

        Raises:
            ValueError: Every fit failed (with their tracebacks), or bad settings.
            TrialError: A trial failed in a worker process (``error_score="raise"`` with
                ``n_jobs > 1``): the worker's traceback is in it.
        """
        self._check_settings()
        scorer, multimetric = self._scorers()
        if multimetric:
            self._check_refit_for_multimetric(list(scorer))
        X, y, groups = indexable(X, y, groups)
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        splits = list(cv.split(X, y, groups))
        if len(splits) != cv.get_n_splits(X, y, groups):
            raise ValueError(
                f"cv.split and cv.get_n_splits return inconsistent results: {len(splits)} "
                f"splits, but get_n_splits says {cv.get_n_splits(X, y, groups)}"
            )
        scheduler, kind = self._early_stopping()
        plan = self._plan(scheduler)
        ranking = self._ranking(scorer, multimetric)
        classes = None
        if kind is EarlyStopping.PARTIAL_FIT and is_classifier(self.estimator):
            classes = np.unique(y)
        job = CVJob(
            estimator=clone(self.estimator), X=X, y=y, splits=splits, scorer=scorer,
            ranking=ranking, fit_params=dict(fit_params),
            score_params=self._score_params(fit_params), error_score=self.error_score,
            return_train_score=self.return_train_score, early_stopping=kind,
            max_iters=self.max_iters, classes=classes, objects=plan.objects,
        )
        n_splits = len(splits)
        if self.verbose > 0:
            print(f"Fitting {n_splits} folds for each of {plan.num_samples} candidates, "
                  f"totalling {plan.num_samples * n_splits} fits")
        candidates, results, iterations = self._run(job, plan, scheduler)
        warn_or_raise_about_fit_failures(
            fold_errors(results, n_splits), len(results) * n_splits, self.error_score)
        names = scorer_names(results, ranking)
        self.multimetric_ = multimetric or names != ["score"]
        if self.multimetric_ and not multimetric:  # a callable that returned several scores
            self._check_refit_for_multimetric(names)
        self.cv_results_ = cv_results(
            candidates, results, n_splits=n_splits, names=names,
            return_train_score=self.return_train_score, error_score=self.error_score,
            iterations=iterations if kind is not EarlyStopping.NONE else None,
        )
        self.n_splits_ = n_splits
        self.scorer_ = scorer
        self._select_best(ranking)
        if self.refit:
            self._refit_best(X, y, fit_params)
        return self

    def _ranking(self, scorer: Any, multimetric: bool) -> str:
        """The score trials are ranked by (and schedulers judge): the refit scorer, else the
        first one."""
        if isinstance(self.refit, str) and (multimetric or callable(self.scoring)):
            return self.refit
        return next(iter(scorer)) if isinstance(scorer, dict) else "score"

    def _select_best(self, ranking: str) -> None:
        """best_index_, best_score_, best_params_ as scikit-learn sets them: for one metric,
        or for the one `refit` names (a callable `refit` picks the index, and sets no score)."""
        if not self.refit and self.multimetric_:
            return
        metric = "score" if not self.multimetric_ else (
            self.refit if isinstance(self.refit, str) else ranking)
        self.best_index_ = self._select_best_index(self.refit, metric, self.cv_results_)
        if not callable(self.refit):
            self.best_score_ = self.cv_results_[f"mean_test_{metric}"][self.best_index_]
        self.best_params_ = self.cv_results_["params"][self.best_index_]

    def _refit_best(self, X: Any, y: Any, fit_params: Mapping[str, Any]) -> None:
        # the parameters are cloned too: a candidate's values may be estimators themselves
        self.best_estimator_ = clone(self.estimator).set_params(
            **clone(self.best_params_, safe=False))
        start = time.time()
        if y is None:
            self.best_estimator_.fit(X, **fit_params)
        else:
            self.best_estimator_.fit(X, y, **fit_params)
        self.refit_time_ = time.time() - start
        if hasattr(self.best_estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.best_estimator_.feature_names_in_

    def _score_params(self, fit_params: Mapping[str, Any]) -> dict[str, Any]:
        """`sample_weight` for the scorers too, where this scikit-learn's searches pass it
        (1.8 and later, when the scorers accept it; they warn otherwise)."""
        if fit_params.get("sample_weight") is None or not hasattr(
            BaseSearchCV, "_check_scorers_accept_sample_weight"
        ):
            return {}
        if not self._check_scorers_accept_sample_weight():
            return {}
        return {"sample_weight": fit_params["sample_weight"]}

    def _executor(self) -> tuple[Any, int]:
        """Threads of this process for ``n_jobs=None/1``, worker processes for more.

        One trial at a time gains nothing from a worker process: on a thread the data is not
        copied, no interpreter starts, and an estimator's own exception reaches `fit()` as
        it is. Several at once need processes, since fitting holds the GIL.
        """
        from tuner.executors._in_process import InProcessExecutor

        n_jobs = 1 if self.n_jobs is None else self.n_jobs
        if n_jobs < 0:  # joblib's count: -1 all CPUs, -2 all but one, ...
            n_jobs = max(1, _cpus() + 1 + n_jobs)
        if n_jobs == 1:
            return InProcessExecutor(max_concurrent=1), 1
        from tuner.executors._local import LocalExecutor

        return LocalExecutor(num_cpus=n_jobs), n_jobs

    def _storage(self, concurrency: int) -> tuple[str, Callable[[], None]]:
        """Where the experiment's files go, and how to discard them afterwards.

        `local_dir` keeps them. Without it they are only a means to an end: trials on threads
        of this process write to an in-memory filesystem (no disk, no fsync), trials in
        worker processes, which cannot see this process's memory, to a temporary directory.
        """
        if self.local_dir is not None:
            return os.path.expanduser(self.local_dir), lambda: None
        if concurrency == 1:
            import fsspec

            path = f"memory://tuner-sklearn/{uuid.uuid4().hex}"
            memory = fsspec.filesystem("memory")

            def discard() -> None:
                with contextlib.suppress(FileNotFoundError):
                    memory.rm(path, recursive=True)

            return path, discard
        directory = tempfile.mkdtemp(prefix="tuner-sklearn-")
        return directory, lambda: shutil.rmtree(directory, ignore_errors=True)

    def _run(
        self, job: CVJob, plan: Plan, scheduler: TrialScheduler | None
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[int]]:
        from tuner._tuner import Tuner

        executor, concurrency = self._executor()
        storage, discard = self._storage(concurrency)
        named = type(type(self.estimator).__name__, (CrossValidation,),
                     {"__module__": CrossValidation.__module__})
        try:
            grid = Tuner(
                with_parameters(named, job=job),
                param_space=plan.param_space,
                tune_config=TuneConfig(
                    metric=OBJECTIVE, mode="max", num_samples=plan.num_samples,
                    search_alg=plan.searcher, scheduler=scheduler or plan.scheduler,
                    max_concurrent_trials=concurrency, time_budget_s=self.time_budget_s,
                ),
                run_config=RunConfig(
                    storage_path=storage, name=self.name,
                    stop=self.stopper, verbose=max(0, min(self.verbose - 1, 3)),
                ),
                executor=executor,
            ).fit()
        finally:
            discard()
        if grid.errors:
            if job.raised:
                raise job.raised[0]
            first = grid.errors[0]
            raise TrialError(
                f"a candidate's trial failed (error_score={self.error_score!r}): {first}\n"
                f"{first.traceback}", trial_id=first.trial_id, traceback=first.traceback,
            )
        ran = [r for r in grid if r.metrics.get(OBJECTIVE) is not None]
        if not ran:
            raise ValueError(
                "no candidate was evaluated (the time budget or the stopper ended the search "
                "before the first result): raise time_budget_s or loosen the stopper"
            )
        return ([decode_objects(r.config, plan.objects) for r in ran],
                [dict(r.metrics) for r in ran],
                [int(r.metrics["training_iteration"]) for r in ran])


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
