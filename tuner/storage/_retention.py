"""Checkpoint retention: which of a trial's checkpoints to delete when a new one arrives."""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from searchers._objective import rank_by
from tuner._config import CheckpointConfig
from tuner._trial import CheckpointRecord, Trial
from tuner.analysis._result import flatten, metric_value
from tuner.storage._filesystem import remove_directory

if TYPE_CHECKING:
    import fsspec

logger = logging.getLogger(__name__)


def best_first(
    records: Sequence[CheckpointRecord], attribute: str | None, order: str
) -> list[CheckpointRecord]:
    """`records` (oldest first, as a trial keeps them) ranked best first.

    With a score attribute: by score in `order`, then those without a score (the attribute
    missing, not a number, NaN or infinite), newest first; ties go to the newer. Without one:
    newest first. `Result.best_checkpoints` lists them so, and retention deletes from the end.

    Example:
        >>> records = [CheckpointRecord(i, f"c{i}", m) for i, m in
        ...            enumerate([{"acc": 0.5}, {}, {"acc": 0.9}, {"acc": 0.5}])]
        >>> [r.index for r in best_first(records, "acc", "max")]
        [2, 3, 0, 1]
    """
    newest_first = list(reversed(records))
    if attribute is None:
        return newest_first
    # The score: `attribute` of the result the checkpoint came with, if a finite number. The
    # sort is stable, so ties go to the newer.
    return rank_by(newest_first, lambda record: metric_value(record.metrics, attribute), order)


def choose_evictions(
    trial: Trial,
    config: CheckpointConfig,
    protected: Callable[[CheckpointRecord], bool] = lambda record: False,
) -> list[CheckpointRecord]:
    """The checkpoints of `trial` to delete so that at most `num_to_keep` remain.

    The worst go first as `best_first` ranks them: without a score attribute the oldest, with
    one those without a score (oldest first), then the lowest-scoring. Never chosen: the
    trial's newest checkpoint (it may resume from it), and any checkpoint `protected` says
    another trial still needs.
    """
    keep = config.num_to_keep
    if keep is None or len(trial.checkpoints) <= keep:
        return []
    newest = trial.checkpoints[-1]
    ranked = best_first(
        trial.checkpoints, config.checkpoint_score_attribute, config.checkpoint_score_order
    )
    worst_first = [r for r in reversed(ranked) if r is not newest and not protected(r)]
    return worst_first[: len(trial.checkpoints) - keep]


def unscored_warning(trial: Trial, record: CheckpointRecord, config: CheckpointConfig) -> str | None:
    """What to tell the user when `record` has no score by the configured attribute, or None."""
    attribute = config.checkpoint_score_attribute
    if attribute is None or metric_value(record.metrics, attribute) is not None:
        return None
    metrics = flatten(record.metrics)
    value = f"value {metrics[attribute]!r}" if attribute in metrics else "not reported"
    shown = sorted(k for k in metrics if k not in ("pid", "hostname", "date", "timestamp"))
    what = "deleted first" if config.num_to_keep is not None else "listed last"
    return (
        f"checkpoint_score_attribute '{attribute}' is not a finite number in the result reported "
        f"with checkpoint {record.index} of trial {trial.trial_id} ({value}; the result's keys: "
        f"{shown}): checkpoints without a score rank after every scored one ({what}, newest "
        f"first in Result.best_checkpoints). Report '{attribute}' with every checkpoint, or "
        "change CheckpointConfig(checkpoint_score_attribute=...). (Said once per experiment.)"
    )


class CheckpointJanitor:
    """Deletes evicted checkpoint directories on a background thread, off the event loop."""

    def __init__(self, fs: fsspec.AbstractFileSystem) -> None:
        self._fs = fs
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="tuner-janitor")
        self._pending: list[concurrent.futures.Future[None]] = []

    def delete(self, path: str) -> None:
        self._pending = [f for f in self._pending if not f.done()]
        self._pending.append(self._pool.submit(self._remove, path))

    def _remove(self, path: str) -> None:
        try:
            remove_directory(self._fs, path)
        except OSError as exc:
            logger.warning("could not delete evicted checkpoint %s: %s", path, exc)

    def close(self) -> None:
        """Wait for pending deletions and stop the thread."""
        self._pool.shutdown(wait=True)
