"""The driver's book of trial checkpoints: recording, retention, resume points and copies."""

from __future__ import annotations

import concurrent.futures
import logging
from typing import TYPE_CHECKING, Any

from schedulers import TrialStatus
from tuner._config import CheckpointConfig
from tuner._trial import CheckpointRecord, Trial, TrialTable
from tuner.executors._protocol import CheckpointRef
from tuner.storage._filesystem import (
    checkpoint_dir_name,
    copy_checkpoint,
    is_complete,
    is_local,
    join,
)
from tuner.storage._retention import CheckpointJanitor, choose_evictions, unscored_warning

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
        self,
        fs: fsspec.AbstractFileSystem,
        config: CheckpointConfig,
        trials: TrialTable,
        *,
        copy_in_background: bool = True,
    ) -> None:
        """`copy_in_background=False` copies between trials at once even on remote storage:
        in a simulation, where a copy running in real time would make runs differ."""
        self._fs = fs
        self._copy_in_background = copy_in_background
        self._config = config
        self._trials = trials
        self._janitor = CheckpointJanitor(fs)
        # Copies between trials (PBT) on remote storage run here, off the event loop: a large
        # checkpoint on an object store takes a while. Local copies are quick and done at once.
        self._copier: concurrent.futures.ThreadPoolExecutor | None = None
        self._copying: dict[str, tuple[str, concurrent.futures.Future[None]]] = {}
        """Destination path -> (source path, the copy under way)."""
        self._warned_unscored = False

    def record(self, trial: Trial, ref: CheckpointRef, metrics: dict[str, Any]) -> None:
        """A checkpoint `trial` persisted, reported with `metrics` (its latest result)."""
        trial.checkpoints.append(
            CheckpointRecord(ref.index, ref.path, metrics, num_results=trial.num_results)
        )
        if not self._warned_unscored:
            warning = unscored_warning(trial, trial.checkpoints[-1], self._config)
            if warning is not None:
                logger.warning(warning)
                self._warned_unscored = True
        trial.next_checkpoint_index = max(trial.next_checkpoint_index, ref.index + 1)
        for record in choose_evictions(trial, self._config, self._needed):
            trial.checkpoints.remove(record)
            self._janitor.delete(record.path)
        trial.touch()

    def discard(self, trial: Trial, ref: CheckpointRef) -> None:
        """Delete a checkpoint that came with a result the trial's history does not hold.

        A trial told to stop may still send what it had under way: its results are dropped, so
        a checkpoint of theirs would be newer than any result on record.
        """
        self._janitor.delete(ref.path)

    def _needed(self, record: CheckpointRecord) -> bool:
        if any(source == record.path for source, _ in self._copying.values()):
            return True  # being copied into another trial right now
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
                trial.touch()
            record = fallback
        trial.restore_from = record
        return record

    def copy_into(self, record: CheckpointRecord, into: Trial) -> CheckpointRecord:
        """Copy another trial's checkpoint into `into`'s directory, as `into`'s newest.

        On remote storage the copy runs in the background: `ready(into)` says when it is done.
        """
        dest = join(into.path, checkpoint_dir_name(into.next_checkpoint_index))
        if is_local(self._fs) or not self._copy_in_background:
            copy_checkpoint(self._fs, record.path, dest)
        else:
            if self._copier is None:
                self._copier = concurrent.futures.ThreadPoolExecutor(
                    1, thread_name_prefix="tuner-copier"
                )
            future = self._copier.submit(copy_checkpoint, self._fs, record.path, dest)
            self._copying[dest] = (record.path, future)
        # The recipient goes on from here: its own results so far stay, none are written twice.
        copied = CheckpointRecord(
            into.next_checkpoint_index, dest, dict(record.metrics), num_results=into.num_results
        )
        into.checkpoints.append(copied)
        into.next_checkpoint_index += 1
        return copied

    @property
    def copying(self) -> bool:
        """Whether a copy between trials is still under way."""
        return any(not future.done() for _, future in self._copying.values())

    def ready(self, trial: Trial) -> bool:
        """Whether `trial` can start: its restore checkpoint is not still being copied."""
        record = trial.restore_from
        if record is None or record.path not in self._copying:
            return True
        source, future = self._copying[record.path]
        if not future.done():
            return False
        del self._copying[record.path]
        if future.exception() is not None:
            # `resume_point` finds the copy incomplete and falls back to the trial's own.
            logger.warning("copying checkpoint %s into trial %s failed: %s", source,
                           trial.trial_id, future.exception())
        return True

    def close(self) -> None:
        """Wait for pending copies and deletions."""
        if self._copier is not None:
            self._copier.shutdown(wait=True)
        self._janitor.close()
