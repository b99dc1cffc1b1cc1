"""LightGBM: report each boosting round to the trial, and checkpoint the booster.

`TuneReportCheckpointCallback` is Ray's callback of the same name
(`ray.tune.integration.lightgbm`, `ray.train.lightgbm.RayTrainReportCallback`): pass it to
``lightgbm.train(..., callbacks=[...])`` inside a trainable. After every round it reports the
evaluation results, named ``<dataset>-<metric>`` (``"eval-binary_logloss"``, the dataset as
named in ``valid_names``), with `tuner.report`; every `frequency` rounds, and on the last
round, the booster goes with the result as a checkpoint (``model.txt``), which `get_model`
loads back. `TuneReportCallback` reports only.

A trial resumed by a scheduler, retried or restored continues from its latest booster::

    checkpoint = tuner.get_checkpoint()
    booster = None if checkpoint is None else TuneReportCheckpointCallback.get_model(checkpoint)
    done = 0 if booster is None else booster.current_iteration()
    lightgbm.train(config, dtrain, num_boost_round=ROUNDS - done, init_model=booster,
                   valid_sets=[deval], valid_names=["eval"],
                   callbacks=[TuneReportCheckpointCallback(frequency=1)])

Example:
    >>> TuneReportCheckpointCallback(metrics={"loss": "eval-binary_logloss"}).filename
    'model.txt'
"""

from __future__ import annotations

from collections.abc import Sequence
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
    import lightgbm
except ImportError as error:  # pragma: no cover - the extra is installed where this is tested
    raise ImportError(
        "tuner.integrations.lightgbm needs LightGBM: pip install 'tuner[lightgbm]'"
    ) from error


def evaluation_results(evaluation_result_list: Sequence[Sequence[Any]]) -> dict[str, float]:
    """One round's results as ``{"<dataset>-<metric>": value}``.

    ``lightgbm.cv`` gives a mean and a standard deviation per metric: they become
    ``-mean`` and ``-stdv`` (Ray's names, after LightGBM's own ``"valid auc-stdv"``).
    """
    flat: dict[str, float] = {}
    for entry in evaluation_result_list:
        dataset, metric, value = entry[0], entry[1], entry[2]
        std = entry[4] if len(entry) > 4 else None
        name = f"{dataset}-{metric}"
        if std is None:
            flat[name] = float(value)
        else:
            flat[f"{name}-mean"], flat[f"{name}-stdv"] = float(value), float(std)
    return flat


class TuneReportCallback(ReportsMetrics):
    """Reports the evaluation results of every boosting round to the trial (no checkpoints).

    Args:
        metrics: Which results to report: None for all of them, a name or a list of names
            (``"eval-binary_logloss"``), or ``{report_as: name}`` to rename them.
        results_postprocessing_fn: Called with the metrics about to be reported; returns the
            metrics to report instead.

    Raises:
        ConfigError: `metrics` is not one of those forms, or names a result the booster did not
            evaluate (at the first round).
    """

    def __init__(
        self,
        metrics: Metrics = None,
        results_postprocessing_fn: PostProcess | None = None,
    ) -> None:
        self._set_metrics(metrics, results_postprocessing_fn)

    def _metrics(self, env: Any) -> dict[str, float]:
        return self._chosen(evaluation_results(env.evaluation_result_list))

    def __call__(self, env: Any) -> None:
        report(self._metrics(env))


class TuneReportCheckpointCallback(TuneReportCallback, SavesBoosters):
    """Reports every boosting round and checkpoints the booster (Ray Tune's callback).

    Args:
        metrics: As for `TuneReportCallback`.
        filename: The booster's file in the checkpoint (LightGBM's text format).
        frequency: Send the booster with the result every `frequency` rounds (counted over the
            booster's whole life: a booster resumed from round 10 checkpoints at 12, 14, ...
            with ``frequency=2``); 0 for only at the end. Schedulers that pause trials (PBT,
            HyperBand) resume them from the latest checkpoint: use ``frequency=1`` with them.
        checkpoint_at_end: Checkpoint the booster on the last round of ``num_boost_round``.
            A run that early stopping ends sooner has no such round: use `frequency` too.
        results_postprocessing_fn: As for `TuneReportCallback`.

    ``lightgbm.cv`` trains one booster per fold: its rounds are reported, never checkpointed.

    Example:
        >>> TuneReportCheckpointCallback(frequency=5).frequency
        5
    """

    CHECKPOINT_NAME = "model.txt"

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

    @classmethod
    def get_model(cls, checkpoint: Checkpoint, filename: str = CHECKPOINT_NAME) -> Any:
        """The `lightgbm.Booster` saved in a checkpoint this callback reported.

        Args:
            checkpoint: ``result.checkpoint``, ``tuner.get_checkpoint()``, ...
            filename: The `filename` the callback was built with.
        """
        with model_file(checkpoint, filename, cls.__name__) as path:
            return lightgbm.Booster(model_file=path)

    def __call__(self, env: Any) -> None:
        metrics = self._metrics(env)
        rounds = env.iteration + 1
        due = (self.frequency and rounds % self.frequency == 0) or (
            self.checkpoint_at_end and env.iteration == env.end_iteration - 1
        )
        if due and isinstance(env.model, lightgbm.Booster):
            self._report_with_booster(metrics, env.model.save_model)
        else:
            report(metrics)


__all__ = ["TuneReportCallback", "TuneReportCheckpointCallback"]
