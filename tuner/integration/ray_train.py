"""`TuneReportCallback`: a `TorchTrainer` run inside a trial reports to that trial.

A Tune trial that trains with a `TorchTrainer` (Ray's train/tune interop pattern) runs the
trainer's own experiment inside the trial. Rank 0's results, and the checkpoints reported with
them, are passed on to the enclosing trial with `tuner.report`, so schedulers judge the trial by
them and `ResultGrid.get_best_result(metric="loss")` ranks such trials. `TorchTrainer.fit()` adds
this callback by itself when it runs inside a trial; passing it (Ray's way) is the same.

Example:
    >>> from tuner import RunConfig
    >>> RunConfig(callbacks=[TuneReportCallback()]).callbacks[0].forwarded
    0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tuner._callback import Callback
from tuner._session import get_context, report
from tuner.experiment import Trial

AUTO_FILLED = frozenset({
    "done", "training_iteration", "time_this_iter_s", "time_total_s", "time_since_restore",
    "iterations_since_restore", "timestamp", "trial_id", "pid", "hostname",
})
"""Keys the enclosing trial fills in itself when its results are reported."""


class TuneReportCallback(Callback):
    """Reports a trainer's results and checkpoints to the trial it runs in (Ray Train's name)."""

    def __init__(self) -> None:
        self.forwarded = 0
        self._last_checkpoint: str | None = None

    def on_trial_result(
        self, iteration: int, trials: Sequence[Trial], trial: Trial, result: dict[str, Any],
        **info: Any,
    ) -> None:
        if get_context().get_trial_id() is None:
            return  # the trainer runs on its own, not inside a trial: nothing to pass on
        checkpoint = trial.checkpoint
        new = None
        if checkpoint is not None and checkpoint.path != self._last_checkpoint:
            new, self._last_checkpoint = checkpoint, checkpoint.path
        metrics = {k: v for k, v in result.items() if k not in AUTO_FILLED}
        self.forwarded += 1
        report(metrics, checkpoint=new)  # may stop this trial: StopTrial ends the trainer too


__all__ = ["TuneReportCallback"]
