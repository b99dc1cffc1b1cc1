"""Early stopping: how an estimator trains one iteration more, and which scheduler stops it.

An iteration is one call per fold: ``partial_fit`` (SGD, naive Bayes, MLP, ...), or ``fit``
again with ``warm_start=True`` on an estimator that grows by ``max_iter`` (logistic regression,
MLP) or by ``n_estimators`` (random forests, gradient boosting), as tune-sklearn does. After
each iteration the trial reports its cross-validated score, so that the scheduler (ASHA by
default) stops the trials that fall behind, at most `max_iters` iterations each.
"""

from __future__ import annotations

import enum
from typing import Any

from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from schedulers import TrialScheduler

SCHEDULERS = (
    "ASHAScheduler", "AsyncHyperBandScheduler", "HyperBandScheduler", "HyperBandForBOHB",
    "MedianStoppingRule", "PopulationBasedTraining",
)
"""tune-sklearn's `early_stopping` names."""


class EarlyStopping(enum.Enum):
    """How a trial trains one more iteration."""

    NONE = "none"
    PARTIAL_FIT = "partial_fit"
    WARM_START_ITER = "warm_start_iter"
    WARM_START_ENSEMBLE = "warm_start_ensemble"


def _is_ensemble(estimator: Any) -> bool:
    from sklearn.ensemble import BaseEnsemble

    return isinstance(estimator, BaseEnsemble)


def early_stopping_kind(estimator: BaseEstimator) -> EarlyStopping:
    """How `estimator` can be trained an iteration at a time, or a clear error."""
    if isinstance(estimator, Pipeline):
        raise ValueError(
            "early stopping trains the estimator one iteration at a time, which a Pipeline "
            "does not do: tune the Pipeline without early_stopping, or put the transformers "
            "before the search"
        )
    if callable(getattr(estimator, "partial_fit", None)):
        return EarlyStopping.PARTIAL_FIT
    params = estimator.get_params(deep=False)
    if "warm_start" in params:
        if "max_iter" in params and not _is_ensemble(estimator):
            return EarlyStopping.WARM_START_ITER
        if "n_estimators" in params and _is_ensemble(estimator):
            return EarlyStopping.WARM_START_ENSEMBLE
    raise ValueError(
        f"early stopping needs an estimator with partial_fit, or with warm_start and max_iter "
        f"or n_estimators; {type(estimator).__name__} has neither: set early_stopping=None"
    )


def resolve_scheduler(
    early_stopping: bool | str | TrialScheduler | None,
    scheduler: TrialScheduler | None,
    max_iters: int,
) -> TrialScheduler | None:
    """The scheduler `early_stopping` (tune-sklearn's argument) or `scheduler` stands for."""
    if scheduler is not None:
        if not isinstance(scheduler, TrialScheduler):
            raise ValueError(
                f"scheduler must be a TrialScheduler such as ASHAScheduler(max_t=...), got "
                f"{scheduler!r}"
            )
        if early_stopping not in (None, False, True):
            raise ValueError(
                f"pass the scheduler once: early_stopping={early_stopping!r} and "
                f"scheduler={scheduler!r} were both given"
            )
        return scheduler
    if early_stopping is None or early_stopping is False:
        return None
    if isinstance(early_stopping, TrialScheduler):
        return early_stopping
    name = "ASHAScheduler" if early_stopping is True else early_stopping
    if name not in SCHEDULERS:
        raise ValueError(
            f"early_stopping must be None, a bool, a TrialScheduler or one of {list(SCHEDULERS)}, "
            f"got {early_stopping!r}"
        )
    import schedulers

    if name == "MedianStoppingRule":
        return schedulers.MedianStoppingRule(time_attr="training_iteration", grace_period=1)
    if name == "PopulationBasedTraining":
        raise ValueError(
            "early_stopping='PopulationBasedTraining' needs the mutations to explore: pass "
            "early_stopping=PopulationBasedTraining(hyperparam_mutations={...}) instead"
        )
    built: TrialScheduler = getattr(schedulers, name)(
        time_attr="training_iteration", max_t=max_iters
    )
    return built


def incremental_params(kind: EarlyStopping, estimator: BaseEstimator, max_iters: int) -> dict[
    str, Any
]:
    """Parameters that make a warm-started estimator grow by one step per iteration."""
    params = estimator.get_params(deep=False)
    if kind is EarlyStopping.WARM_START_ITER:
        return {"warm_start": True, "max_iter": max(1, int(params["max_iter"]) // max_iters)}
    if kind is EarlyStopping.WARM_START_ENSEMBLE:
        return {"warm_start": True, "n_estimators": 0}
    return {}


def ensemble_step(estimator: BaseEstimator, max_iters: int) -> int:
    """How many estimators a warm-started ensemble adds per iteration."""
    return max(1, int(estimator.get_params(deep=False)["n_estimators"]) // max_iters)
