"""XGBoost: report each boosting round to the trial, and checkpoint the booster.

`TuneReportCheckpointCallback` is Ray's callback of the same name
(`ray.tune.integration.xgboost`, `ray.train.xgboost.RayTrainReportCallback`): pass it to
``xgboost.train(..., callbacks=[...])`` inside a trainable. After every round it reports the
evaluation results, named ``<dataset>-<metric>`` (``"eval-logloss"``), with
`tuner.report`; every `frequency` rounds, and at the end, the booster goes with the result as
a checkpoint (``model.ubj``), which `get_model` loads back. `TuneReportCallback` reports only.

A trial resumed by a scheduler (PBT, HyperBand), retried after a failure or restored gets its
latest checkpoint from `tuner.get_checkpoint()`; continue training from that booster::

    checkpoint = tuner.get_checkpoint()
    booster = None if checkpoint is None else TuneReportCheckpointCallback.get_model(checkpoint)
    done = 0 if booster is None else booster.num_boosted_rounds()
    xgboost.train(config, dtrain, num_boost_round=ROUNDS - done, xgb_model=booster,
                  evals=[(deval, "eval")],
                  callbacks=[TuneReportCheckpointCallback(metrics={"loss": "eval-logloss"},
                                                          frequency=1)])

Example:
    >>> TuneReportCheckpointCallback(metrics={"loss": "eval-logloss"}, frequency=1).frequency
    1
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tuner._session import report
from tuner.integrations._boosting import (
    Metrics,
    PostProcess,
    ReportsMetrics,
    SavesBoosters,
    model_file,
)
from tuner.storage._checkpoint import Checkpoint

try:
    import xgboost
    from xgboost.callback import TrainingCallback
except ImportError as error:  # pragma: no cover - the extra is installed where this is tested
    raise ImportError(
        "tuner.integrations.xgboost needs XGBoost: pip install 'tuner[xgboost]'"
    ) from error


def evaluation_results(evals_log: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """The latest round's results as ``{"<dataset>-<metric>": value}``.

    ``xgboost.cv`` logs a (mean, std) pair per round: it becomes ``-mean`` and ``-std``, the
    names of the columns of the DataFrame ``xgboost.cv`` returns.
    """
    flat: dict[str, float] = {}
    for dataset, metrics in evals_log.items():
        for metric, history in metrics.items():
            if not history:
                continue
            latest = history[-1]
            name = f"{dataset}-{metric}"
            if isinstance(latest, tuple):
                flat[f"{name}-mean"], flat[f"{name}-std"] = float(latest[0]), float(latest[1])
            else:
                flat[name] = float(latest)
    return flat


class TuneReportCallback(ReportsMetrics, TrainingCallback):
    """Reports the evaluation results of every boosting round to the trial (no checkpoints).

    Args:
        metrics: Which results to report: None for all of them, a name or a list of names
            (``"eval-logloss"``), or ``{report_as: name}`` to rename them
            (``{"loss": "eval-logloss"}``).
        results_postprocessing_fn: Called with the metrics about to be reported; returns the
            metrics to report instead (e.g. averaged over the folds of ``xgboost.cv``).

    Raises:
        ConfigError: `metrics` is not one of those forms, or names a result the booster did not
            evaluate (at the first round).
    """

    def __init__(
        self,
        metrics: Metrics = None,
        results_postprocessing_fn: PostProcess | None = None,
    ) -> None:
        super().__init__()
        self._set_metrics(metrics, results_postprocessing_fn)
        self._last: dict[str, float] | None = None

    def _metrics(self, evals_log: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
        return self._chosen(evaluation_results(evals_log))

    def after_iteration(
        self, model: Any, epoch: int, evals_log: Mapping[str, Mapping[str, Any]]
    ) -> bool:
        self._last = self._metrics(evals_log)
        report(self._last)
        return False  # never asks XGBoost to stop: a stopped trial ends inside report()


class TuneReportCheckpointCallback(TuneReportCallback, SavesBoosters):
    """Reports every boosting round and checkpoints the booster (Ray Tune's callback).

    Args:
        metrics: As for `TuneReportCallback`.
        filename: The booster's file in the checkpoint; its suffix picks XGBoost's format
            (``.ubj`` binary JSON, ``.json``).
        frequency: Send the booster with the result every `frequency` rounds, counted over the
            booster's whole life (``booster.num_boosted_rounds()``, so a resumed trial keeps
            the same rhythm); 0 for only at the end. Schedulers that pause trials (PBT,
            HyperBand) resume them from the latest checkpoint: use ``frequency=1`` with them.
        checkpoint_at_end: Checkpoint the final booster when training ends. XGBoost does not
            tell a callback which round is the last, so unless that round was checkpointed
            already, its metrics are reported once more, with the checkpoint (as in Ray).
        results_postprocessing_fn: As for `TuneReportCallback`.

    ``xgboost.cv`` trains one booster per fold: its rounds are reported, never checkpointed.

    Example:
        >>> callback = TuneReportCheckpointCallback(metrics=["eval-logloss"], frequency=5)
        >>> callback.filename
        'model.ubj'
    """

    CHECKPOINT_NAME = "model.ubj"

    def __init__(
        self,
        metrics: Metrics = None,
        filename: str = CHECKPOINT_NAME,
        frequency: int = 0,
        checkpoint_at_end: bool = True,
        results_postprocessing_fn: PostProcess | None = None,
    ) -> None:
        super().__init__(metrics, results_postprocessing_fn)
        self._set_checkpointing(filename, frequency, checkpoint_at_end)
        self._checkpointed_round: int | None = None

    @classmethod
    def get_model(cls, checkpoint: Checkpoint, filename: str = CHECKPOINT_NAME) -> Any:
        """The `xgboost.Booster` saved in a checkpoint this callback reported.

        Args:
            checkpoint: ``result.checkpoint``, ``tuner.get_checkpoint()``, ...
            filename: The `filename` the callback was built with.
        """
        booster = xgboost.Booster()
        with model_file(checkpoint, filename, cls.__name__) as path:
            booster.load_model(path)
        return booster

    def after_iteration(
        self, model: Any, epoch: int, evals_log: Mapping[str, Mapping[str, Any]]
    ) -> bool:
        self._last = self._metrics(evals_log)
        rounds = _rounds(model)
        if rounds is not None and self.frequency and rounds % self.frequency == 0:
            self._checkpointed_round = rounds
            self._report_with_booster(self._last, model.save_model)
        else:
            report(self._last)
        return False

    def before_training(self, model: Any) -> Any:
        self._last, self._checkpointed_round = None, None  # the callback may be used again
        return model

    def after_training(self, model: Any) -> Any:
        rounds = _rounds(model)
        # A run with no round to train (resumed from a booster that has them all) reports
        # nothing: the trial reported those rounds before.
        if (self.checkpoint_at_end and rounds is not None and self._last is not None
                and rounds != self._checkpointed_round):
            self._checkpointed_round = rounds
            self._report_with_booster(self._last, model.save_model)
        return model


def _rounds(model: Any) -> int | None:
    """Rounds the booster holds; None for the boosters of ``xgboost.cv`` (not checkpointed)."""
    return model.num_boosted_rounds() if isinstance(model, xgboost.Booster) else None


__all__ = ["TuneReportCallback", "TuneReportCheckpointCallback"]
