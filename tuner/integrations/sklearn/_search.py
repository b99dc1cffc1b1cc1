"""`TuneSearchCV` and `TuneGridSearchCV`: tune-sklearn's estimators on this engine."""

from __future__ import annotations

from typing import Any

import numpy as np

from schedulers import TrialScheduler
from searchers import BasicVariantGenerator, Searcher
from tuner.integrations.sklearn._base import Plan, TuneBaseSearchCV
from tuner.integrations.sklearn._space import (
    SEARCH_OPTIMIZATIONS,
    grid_candidates,
    has_tuner_domains,
    make_searcher,
    sampled_candidates,
    seed_of,
    spaces_of,
    tuner_space,
)


class TuneSearchCV(TuneBaseSearchCV):
    """Randomized or model-based search over hyperparameters, cross-validated, one trial each.

    A drop-in for scikit-learn's `RandomizedSearchCV` (and tune-sklearn's `TuneSearchCV`): the
    same `fit`, `predict`, `score`, `best_params_`, `best_score_`, `best_index_`,
    `best_estimator_`, `cv_results_` (same keys and layout), `refit` (a scorer name for several
    metrics, a callable, or False), `n_splits_`, `scorer_`, `classes_`. Each candidate is one
    trial of `tuner.Tuner.fit()`.

    Args:
        estimator: A scikit-learn estimator (or Pipeline).
        param_distributions: A dict of parameter names to lists (sampled uniformly), scipy.stats
            distributions or tuner domains (``tuner.uniform(0, 1)``, ``tuner.choice([...])``);
            or a list of such dicts (random search over lists and scipy distributions only).
            For a model-based `search_optimization`, also ``(low, high)`` tuples (integers:
            both ends included) and ``(low, high, "log-uniform")``.
        early_stopping: None/False (fit each candidate once), True (ASHA), a scheduler name
            (``"ASHAScheduler"``, ``"HyperBandScheduler"``, ``"MedianStoppingRule"``, ...) or a
            `TrialScheduler`. Trains candidates an iteration at a time (``partial_fit``, or
            ``warm_start`` with ``max_iter`` / ``n_estimators``), at most `max_iters`, reporting
            the cross-validated score after each, so that the scheduler stops the bad ones.
        n_trials: How many candidates (``n_iter`` is scikit-learn's name for it).
        scoring: None (the estimator's `score`), a scorer name, a callable, or a list / dict of
            them for several metrics.
        n_jobs: Candidates evaluated at once: None or 1 one at a time on a thread of this
            process; more (or -1, all CPUs) in that many worker processes.
        refit: Refit the best candidate on the whole data (`best_estimator_`); with several
            metrics, the scorer name to pick it by, or a callable of `cv_results_`, or False.
        cv: Folds: an int, a splitter, or an iterable of (train, test) indices.
        verbose: 0 silent, 1 prints the number of fits, 2 and more the engine's progress.
        random_state: Seeds the candidates (the same as `RandomizedSearchCV`'s for lists and
            scipy distributions) and the searcher.
        error_score: The score of a fold whose fit failed, or "raise".
        return_train_score: Also score each fold's training data.
        local_dir: Keep the experiment's files (results, checkpoints) under this directory;
            None writes them to a temporary one removed after `fit`.
        name: The experiment's name under `local_dir`.
        max_iters: The most iterations a candidate trains with early stopping.
        search_optimization: ``"random"``, ``"bayesian"`` (GP), ``"hyperopt"`` / ``"tpe"``,
            ``"optuna"``, ``"bohb"`` (with HyperBand for BOHB), or a `Searcher`.
        search_alg: This engine's name for a `Searcher` passed built.
        scheduler: This engine's name for a `TrialScheduler` (implies early stopping).
        n_iter: scikit-learn's name for `n_trials`.
        search_kwargs: Arguments for the searcher `search_optimization` names.
        pipeline_auto_early_stop: tune-sklearn's switch to early-stop a Pipeline's last step
            (not supported here: early stopping needs the estimator itself).
        stopper: A `tuner.Stopper` or stop dict for the trials.
        time_budget_s: Stop the search after this many seconds.

    Example:
        >>> from scipy.stats import loguniform
        >>> from sklearn.datasets import make_classification
        >>> from sklearn.linear_model import LogisticRegression
        >>> X, y = make_classification(n_samples=100, random_state=0)
        >>> search = TuneSearchCV(LogisticRegression(), {"C": loguniform(1e-3, 1e2)},
        ...                       n_trials=4, cv=3, random_state=0).fit(X, y)
        >>> sorted(search.best_params_)
        ['C']
    """

    def __init__(
        self,
        estimator: Any,
        param_distributions: Any,
        early_stopping: bool | str | TrialScheduler | None = None,
        n_trials: int = 10,
        scoring: Any = None,
        n_jobs: int | None = None,
        refit: Any = True,
        cv: Any = 5,
        verbose: int = 0,
        random_state: Any = None,
        error_score: Any = np.nan,
        return_train_score: bool = False,
        local_dir: str | None = None,
        name: str | None = None,
        max_iters: int = 1,
        search_optimization: str | Searcher = "random",
        search_alg: Searcher | None = None,
        scheduler: TrialScheduler | None = None,
        n_iter: int | None = None,
        search_kwargs: dict[str, Any] | None = None,
        pipeline_auto_early_stop: bool = True,
        stopper: Any = None,
        time_budget_s: float | None = None,
    ) -> None:
        self.estimator = estimator
        self.param_distributions = param_distributions
        self.early_stopping = early_stopping
        self.n_trials = n_trials
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.refit = refit
        self.cv = cv
        self.verbose = verbose
        self.random_state = random_state
        self.error_score = error_score
        self.return_train_score = return_train_score
        self.local_dir = local_dir
        self.name = name
        self.max_iters = max_iters
        self.search_optimization = search_optimization
        self.search_alg = search_alg
        self.scheduler = scheduler
        self.n_iter = n_iter
        self.search_kwargs = search_kwargs
        self.pipeline_auto_early_stop = pipeline_auto_early_stop
        self.stopper = stopper
        self.time_budget_s = time_budget_s

    def _tuned_names(self) -> set[str]:
        return {n for s in spaces_of(self.param_distributions, "param_distributions") for n in s}

    def _search(self) -> str | Searcher:
        if self.search_alg is not None:
            if not isinstance(self.search_alg, Searcher):
                raise ValueError(f"search_alg must be a tuner Searcher, got {self.search_alg!r}")
            if self.search_optimization not in ("random", self.search_alg):
                raise ValueError(
                    f"pass the searcher once: search_optimization={self.search_optimization!r} "
                    f"and search_alg={self.search_alg!r} were both given"
                )
            return self.search_alg
        search = self.search_optimization
        if isinstance(search, Searcher):
            return search
        if not isinstance(search, str) or search.lower() not in SEARCH_OPTIMIZATIONS:
            raise ValueError(
                f"search_optimization must be one of {list(SEARCH_OPTIMIZATIONS)} or a tuner "
                f"Searcher, got {search!r}"
            )
        return search.lower()

    def _n_trials(self) -> int:
        n = self.n_trials if self.n_iter is None else self.n_iter
        if self.n_iter is not None and self.n_trials not in (10, self.n_iter):
            raise ValueError(
                f"n_iter is scikit-learn's name for n_trials: pass one, got n_trials="
                f"{self.n_trials!r} and n_iter={self.n_iter!r}"
            )
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"n_trials must be an int >= 1, got {n!r}")
        return int(n)

    def _plan(self, scheduler: TrialScheduler | None) -> Plan:
        search = self._search()
        n_trials = self._n_trials()
        spaces = spaces_of(self.param_distributions, "param_distributions")
        seed = None if self.random_state is None else seed_of(self.random_state)
        if search == "random" and not has_tuner_domains(spaces):
            if self.search_kwargs:
                raise ValueError(
                    f"random search takes no search_kwargs, got {self.search_kwargs!r}")
            # scikit-learn's own sampler: the candidates RandomizedSearchCV would draw
            return Plan.of(sampled_candidates(spaces, n_trials, self.random_state))
        model_based = search != "random" and not (
            isinstance(search, BasicVariantGenerator))
        name = search if isinstance(search, str) else type(search).__name__
        space = tuner_space(spaces, model_based=model_based, search=name)
        searcher = make_searcher(search, seed, self.search_kwargs)
        needs = None
        if search == "bohb":
            from schedulers import HyperBandForBOHB

            if scheduler is not None and not isinstance(scheduler, HyperBandForBOHB):
                raise ValueError(
                    "search_optimization='bohb' runs with HyperBandForBOHB: pass "
                    "early_stopping=True (or a HyperBandForBOHB), not "
                    f"{type(scheduler).__name__}"
                )
            needs = HyperBandForBOHB(time_attr="training_iteration", max_t=self.max_iters)
        return Plan(space, searcher, n_trials, needs)


class TuneGridSearchCV(TuneBaseSearchCV):
    """Exhaustive search over a grid, cross-validated, one trial per candidate.

    A drop-in for scikit-learn's `GridSearchCV` (and tune-sklearn's `TuneGridSearchCV`), with
    the same attributes as `TuneSearchCV`; the candidates are those of scikit-learn's
    `ParameterGrid`, in its order.

    Args:
        estimator: A scikit-learn estimator (or Pipeline).
        param_grid: A dict of parameter names to lists of values (or ``tuner.grid_search``), or
            a list of such dicts.
        early_stopping, scheduler, scoring, n_jobs, cv, refit, verbose, error_score,
        return_train_score, local_dir, name, max_iters, pipeline_auto_early_stop, stopper,
        time_budget_s: As for `TuneSearchCV`.

    Example:
        >>> from sklearn.datasets import make_classification
        >>> from sklearn.linear_model import LogisticRegression
        >>> X, y = make_classification(n_samples=100, random_state=0)
        >>> search = TuneGridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=3).fit(X, y)
        >>> len(search.cv_results_["params"])
        2
    """

    def __init__(
        self,
        estimator: Any,
        param_grid: Any,
        early_stopping: bool | str | TrialScheduler | None = None,
        scoring: Any = None,
        n_jobs: int | None = None,
        cv: Any = 5,
        refit: Any = True,
        verbose: int = 0,
        error_score: Any = np.nan,
        return_train_score: bool = False,
        local_dir: str | None = None,
        name: str | None = None,
        max_iters: int = 1,
        scheduler: TrialScheduler | None = None,
        pipeline_auto_early_stop: bool = True,
        stopper: Any = None,
        time_budget_s: float | None = None,
    ) -> None:
        self.estimator = estimator
        self.param_grid = param_grid
        self.early_stopping = early_stopping
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.cv = cv
        self.refit = refit
        self.verbose = verbose
        self.error_score = error_score
        self.return_train_score = return_train_score
        self.local_dir = local_dir
        self.name = name
        self.max_iters = max_iters
        self.scheduler = scheduler
        self.pipeline_auto_early_stop = pipeline_auto_early_stop
        self.stopper = stopper
        self.time_budget_s = time_budget_s

    def _tuned_names(self) -> set[str]:
        return {n for s in spaces_of(self.param_grid, "param_grid") for n in s}

    def _plan(self, scheduler: TrialScheduler | None) -> Plan:
        return Plan.of(grid_candidates(self.param_grid))
