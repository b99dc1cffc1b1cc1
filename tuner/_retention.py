"""Checkpoint retention: which of a trial's checkpoints to delete when a new one arrives."""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from tuner._config import CheckpointConfig
from tuner._result import flatten, numeric
from tuner._storage import remove_directory
from tuner._trial import CheckpointRecord, Trial
from tuner.exceptions import ConfigError

if TYPE_CHECKING:
    import fsspec

logger = logging.getLogger(__name__)


def choose_evictions(
    trial: Trial,
    config: CheckpointConfig,
    protected: Callable[[CheckpointRecord], bool] = lambda record: False,
) -> list[CheckpointRecord]:
    """The checkpoints of `trial` to delete so that at most `num_to_keep` remain.

    The lowest-scoring go first (by `checkpoint_score_attribute` and order), or the oldest
    without a score attribute. Never chosen: the trial's newest checkpoint (it may resume from
    it), and any checkpoint `protected` says another trial still needs.
    """
    keep = config.num_to_keep
    if keep is None or len(trial.checkpoints) <= keep:
        return []
    *older, _newest = trial.checkpoints
    candidates = [record for record in older if not protected(record)]
    attribute = config.checkpoint_score_attribute
    if attribute is not None:
        sign = 1.0 if config.checkpoint_score_order == "max" else -1.0
        candidates.sort(key=lambda record: sign * _score(trial, record, attribute))
    # Oldest first without a score; worst first with one (a stable sort keeps age as tie-break).
    excess = len(trial.checkpoints) - keep
    return candidates[:excess]


def _score(trial: Trial, record: CheckpointRecord, attribute: str) -> float:
    metrics = flatten(record.metrics)
    value = numeric(metrics.get(attribute))
    if value is None:
        shown = sorted(k for k in metrics if k not in ("pid", "hostname"))
        raise ConfigError(
            f"checkpoint_score_attribute '{attribute}' is not a number in the result reported "
            f"with checkpoint {record.index} of trial {trial.trial_id} (its keys: {shown}, value: "
            f"{metrics.get(attribute)!r}): report it with every checkpoint or change "
            "CheckpointConfig(checkpoint_score_attribute=...)"
        )
    return value


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
