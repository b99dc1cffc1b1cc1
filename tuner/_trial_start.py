"""What starting a trial needs: its `TrialSpec`, and its output files cut back to where it resumes."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from tuner.executors._protocol import TrialSpec
from tuner.output._rewind import KeepPoint, rewind_trial_outputs

if TYPE_CHECKING:
    from tuner._settings import ExperimentSettings
    from tuner._trial import CheckpointRecord, Trial


def start_spec(
    settings: ExperimentSettings,
    trial: Trial,
    *,
    trial_name: str,
    local_dir: str,
    restore: CheckpointRecord | None,
    synchronous: bool,
) -> TrialSpec:
    """The spec an executor starts `trial` from (resuming from `restore`, if any)."""
    metrics = restore.metrics if restore is not None else {}
    names = settings.log_files
    log_files = None
    if names is not None:
        log_files = (os.path.join(local_dir, names[0]), os.path.join(local_dir, names[1]))
    return TrialSpec(
        trial_id=trial.trial_id,
        trial_name=trial_name,
        trainable_key="",
        config=trial.config,
        trial_path=trial.path,
        filesystem=settings.filesystem,
        restore_path=restore.path if restore is not None else None,
        start_iteration=int(metrics.get("training_iteration", 0)),
        time_total_s=float(metrics.get("time_total_s", 0.0)),
        next_checkpoint_index=trial.next_checkpoint_index,
        checkpoint_frequency=settings.checkpoint_config.checkpoint_frequency,
        checkpoint_at_end=bool(settings.checkpoint_config.checkpoint_at_end),
        resources=trial.resources,
        experiment_name=settings.name,
        synchronous=synchronous,
        log_files=log_files,
    )


def rewind_outputs(trial: Trial, restore: CheckpointRecord | None, local_dir: str) -> None:
    """Cut the trial's output files back to the result it resumes from (see
    `tuner.output._rewind`): every result it reports again is then written once."""
    keep = KeepPoint(
        results=0 if restore is None else restore.num_results,
        iteration=0 if restore is None else int(restore.metrics.get("training_iteration", 0)),
    )
    if not trial.outputs_unknown and keep.results is not None and (
        trial.num_results <= keep.results
    ):
        return  # the usual case: nothing was written after the resume point
    trial.num_results = rewind_trial_outputs(local_dir, keep)
    trial.outputs_unknown = False
