"""The driver's book of trial checkpoints: recording, retention, resume points and copies."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from schedulers import TrialStatus
from tuner._config import CheckpointConfig
from tuner._protocol import CheckpointRef
from tuner._retention import CheckpointJanitor, choose_evictions
from tuner._storage import checkpoint_dir_name, copy_checkpoint, is_complete, join
from tuner._trial import CheckpointRecord, Trial, TrialTable

if TYPE_CHECKING:
    import fsspec

logger = logging.getLogger(__name__)


class CheckpointBook:
    """Keeps each trial's list of checkpoints in step with storage.

    Checkpoints are written by the trials themselves; the book records them as they are
    reported, evicts what `CheckpointConfig` does not keep (deleting on a background thread),
    and never evicts a checkpoint some trial will resume from.
    """

    def __init__(
        self, fs: fsspec.AbstractFileSystem, config: CheckpointConfig, trials: TrialTable
    ) -> None:
        self._fs = fs
        self._config = config
        self._trials = trials
        self._janitor = CheckpointJanitor(fs)

    def record(self, trial: Trial, ref: CheckpointRef, metrics: dict[str, Any]) -> None:
        """A checkpoint `trial` persisted, reported with `metrics`."""
        trial.checkpoints.append(CheckpointRecord(ref.index, ref.path, metrics))
        trial.next_checkpoint_index = max(trial.next_checkpoint_index, ref.index + 1)
        for record in choose_evictions(trial, self._config, self._needed):
            trial.checkpoints.remove(record)
            self._janitor.delete(record.path)

    def _needed(self, record: CheckpointRecord) -> bool:
        waiting = self._trials.with_status(TrialStatus.PENDING, TrialStatus.PAUSED)
        return any(t.restore_from is record for t in waiting)

    def resume_point(self, trial: Trial) -> CheckpointRecord | None:
        """`trial.restore_from` if it is whole on storage, else the newest earlier one that is."""
        record = trial.restore_from
        while record is not None and not is_complete(self._fs, record.path):
            earlier = [c for c in trial.checkpoints if c.index < record.index]
            fallback = earlier[-1] if earlier else None
            logger.warning(
                "checkpoint %s of trial %s is incomplete or unreadable; resuming from %s instead",
                record.path,
                trial.trial_id,
                fallback.path if fallback is not None else "the beginning",
            )
            if record in trial.checkpoints:
                trial.checkpoints.remove(record)
            record = fallback
        trial.restore_from = record
        return record

    def copy_into(self, record: CheckpointRecord, into: Trial) -> CheckpointRecord:
        """Copy another trial's checkpoint into `into`'s directory, as `into`'s newest."""
        dest = join(into.path, checkpoint_dir_name(into.next_checkpoint_index))
        copy_checkpoint(self._fs, record.path, dest)
        copied = CheckpointRecord(into.next_checkpoint_index, dest, dict(record.metrics))
        into.checkpoints.append(copied)
        into.next_checkpoint_index += 1
        return copied

    def close(self) -> None:
        """Wait for pending deletions."""
        self._janitor.close()
