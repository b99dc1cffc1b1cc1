"""From a running experiment to its saved state, and from a saved state back to one."""

from __future__ import annotations

import dataclasses
import logging
import os
import posixpath
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from schedulers import FIFOScheduler, TrialScheduler, TrialStatus
from searchers import BasicVariantGenerator, Searcher
from searchers._space_json import NotSerializableError, space_from_json, space_to_json
from tuner._config import CheckpointConfig, FailureConfig, RunConfig, TuneConfig
from tuner._experiment_state import FORMAT, FORMAT_VERSION, trial_from_json
from tuner._storage import join, list_checkpoints, remove_directory, remove_incomplete
from tuner._trainable import TrainableKind, WithResources, trainable_name
from tuner._trial import CheckpointRecord, StatusChange, Trial, TrialTable
from tuner._version import __version__
from tuner.exceptions import RestoreError

if TYPE_CHECKING:
    import fsspec

    from tuner._controller import TuneController

logger = logging.getLogger(__name__)


def _class_name(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def _space_json(space: Mapping[str, Any]) -> tuple[Any, str | None]:
    try:
        return space_to_json(space), None
    except NotSerializableError as exc:
        return None, f"{exc}: pass param_space=... again to Tuner.restore"


def state_header(
    controller: TuneController,
    *,
    trainable_name: str,
    kind: TrainableKind,
    param_space: Mapping[str, Any],
    tune_config: TuneConfig,
    run_config: RunConfig,
    searcher: Searcher,
    scheduler: TrialScheduler,
    stopper: Any,
) -> dict[str, Any]:
    """Everything of the experiment state except the trials (see docs/experiment_state.md)."""
    space, space_note = _space_json(param_space)
    stop = run_config.stop
    stop_json = dict(stop) if isinstance(stop, Mapping) else None
    settings = controller.settings
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "engine_version": __version__,
        "saved_at": time.time(),
        "experiment": {
            "name": settings.name,
            "path": settings.path,
            "experiment_id": controller.experiment_id,
            "trainable_name": trainable_name,
            "trainable_kind": kind.value,
            "elapsed_s": controller.elapsed(),
            "searcher_finished": controller.searcher_finished,
            "status": "interrupted" if controller.stop_reason == "interrupted" else (
                "running" if controller.is_running else "finished"
            ),
            "counts": {s.value: n for s, n in controller.counts().items()},
        },
        "settings": {
            "metric": tune_config.metric,
            "mode": tune_config.mode,
            "num_samples": tune_config.num_samples,
            "max_concurrent_trials": tune_config.max_concurrent_trials,
            "time_budget_s": tune_config.time_budget_s,
            "reuse_actors": tune_config.reuse_actors,
            "seed": tune_config.seed,
            "resources": dict(settings.resources),
            "stop": stop_json,
            "stop_is_json": stop is None or stop_json is not None,
            "checkpoint_config": dataclasses.asdict(run_config.checkpoint_config),
            "failure_config": dataclasses.asdict(run_config.failure_config),
            "verbose": run_config.verbose,
            "experiment_checkpoint_period_s": run_config.experiment_checkpoint_period_s,
        },
        "param_space": space,
        "param_space_note": space_note,
        "searcher": {"class": _class_name(searcher), "state": searcher.state_dict()},
        "scheduler": {"class": _class_name(scheduler), "state": scheduler.state_dict()},
        "stopper": None if stopper is None else {
            "class": _class_name(stopper), "state": stopper.state_dict()
        },
    }


@dataclass(frozen=True)
class Rebuilt:
    param_space: Mapping[str, Any]
    tune_config: TuneConfig
    run_config: RunConfig


def _check_component(kind: str, saved: Mapping[str, Any], given: Any, default: type) -> Any:
    saved_class = saved["class"]
    if given is None:
        if saved_class != f"{default.__module__}.{default.__qualname__}":
            raise RestoreError(
                f"this experiment used the {kind} {saved_class}; it is rebuilt from code, not "
                f"unpickled: pass the same one again, e.g. Tuner.restore(path, trainable, "
                f"tune_config=TuneConfig({'search_alg' if kind == 'searcher' else kind}=...)), "
                "and its saved state is loaded into it"
            )
        return None
    if _class_name(given) != saved_class:
        raise RestoreError(
            f"this experiment used the {kind} {saved_class}, but restore got "
            f"{_class_name(given)}: pass the same {kind} class"
        )
    return given


def rebuild(
    state: Mapping[str, Any],
    *,
    fs: fsspec.AbstractFileSystem,
    exp_path: str,
    trainable: Any,
    param_space: Mapping[str, Any] | None,
    tune_config: TuneConfig | None,
    run_config: RunConfig | None,
    storage_filesystem: Any,
) -> Rebuilt:
    """The Tuner's arguments for continuing `state`, or a RestoreError that says what differs."""
    experiment, settings = state["experiment"], state["settings"]
    inner = trainable.trainable if isinstance(trainable, WithResources) else trainable
    if trainable_name(inner) != experiment["trainable_name"]:
        raise RestoreError(
            f"the experiment at {exp_path} ran the trainable {experiment['trainable_name']!r}, "
            f"but restore got {trainable_name(inner)!r}: pass the original trainable"
        )
    if param_space is None:
        if state.get("param_space") is None:
            raise RestoreError(
                "the search space could not be saved as JSON "
                f"({state.get('param_space_note')})"
            )
        param_space = space_from_json(state["param_space"])
    search_alg = _check_component(
        "searcher", state["searcher"], tune_config and tune_config.search_alg, BasicVariantGenerator
    )
    scheduler = _check_component(
        "scheduler", state["scheduler"], tune_config and tune_config.scheduler, FIFOScheduler
    )
    restored_tune = TuneConfig(
        metric=settings["metric"],
        mode=settings["mode"],
        search_alg=search_alg,
        scheduler=scheduler,
        num_samples=settings["num_samples"],
        max_concurrent_trials=settings["max_concurrent_trials"],
        time_budget_s=settings["time_budget_s"],
        reuse_actors=settings["reuse_actors"],
        seed=settings["seed"],
        trial_name_creator=tune_config.trial_name_creator if tune_config else None,
    )
    if run_config is None:
        if not settings["stop_is_json"]:
            raise RestoreError(
                "this experiment's stop criterion was a function or Stopper, which is not saved "
                "as JSON: pass run_config=RunConfig(stop=...) with the same stop to restore"
            )
        run_config = RunConfig(
            stop=settings["stop"],
            checkpoint_config=CheckpointConfig(**settings["checkpoint_config"]),
            failure_config=FailureConfig(**settings["failure_config"]),
            verbose=settings["verbose"],
            experiment_checkpoint_period_s=settings["experiment_checkpoint_period_s"],
        )
    parent, name = posixpath.split(exp_path.rstrip("/"))
    run_config = dataclasses.replace(
        run_config, name=name, storage_path=parent, storage_filesystem=storage_filesystem
    )
    return Rebuilt(param_space, restored_tune, run_config)


def _rebase(trial: Trial, exp_path: str) -> None:
    """Point the trial's paths into `exp_path` (the experiment may have been moved)."""
    trial.path = join(exp_path, trial.name)
    for record in trial.checkpoints:
        record.path = join(trial.path, posixpath.basename(record.path.rstrip("/")))


def _clear_orphans(fs: fsspec.AbstractFileSystem, trial: Trial) -> None:
    """Remove checkpoints the saved state does not know: half-written, or persisted after it."""
    removed = remove_incomplete(fs, trial.path)
    for index, path, _complete in list_checkpoints(fs, trial.path):
        if index >= trial.next_checkpoint_index:
            remove_directory(fs, path)
            removed.append(path)
    if removed:
        logger.warning("trial %s: removed checkpoints the saved state did not hold: %s",
                       trial.trial_id, removed)


def resume_components(
    state: Mapping[str, Any],
    *,
    searcher: Searcher,
    scheduler: TrialScheduler,
    stopper: Any,
    fs: fsspec.AbstractFileSystem,
    exp_path: str,
    resume_unfinished: bool,
    resume_errored: bool,
    restart_errored: bool,
) -> dict[str, Any]:
    """Load the saved state into the components and rebuild the trials, as the flags ask."""
    remove_incomplete(fs, exp_path)  # a state file half-written when the driver died
    searcher.load_state_dict(state["searcher"]["state"])
    scheduler.load_state_dict(state["scheduler"]["state"])
    if stopper is not None and state.get("stopper"):
        stopper.load_state_dict(state["stopper"]["state"])
    now = time.time()
    table = TrialTable()
    for data in state["trials"]:
        trial = trial_from_json(data)
        _rebase(trial, exp_path)
        status = _resumed_status(trial, resume_unfinished, resume_errored, restart_errored)
        if status is not trial.status:
            trial.status = status
            trial.history.append(StatusChange(status, now))
        if status in (TrialStatus.PENDING, TrialStatus.PAUSED):
            _clear_orphans(fs, trial)
            if restart_errored and data["status"] == TrialStatus.ERROR.value:
                trial.restore_from = None
            else:
                trial.restore_from = _latest(trial)
            if data["status"] == TrialStatus.ERROR.value:
                trial.error = None
                scheduler.on_trial_add(trial.view())
        table.add(trial)
    experiment = state["experiment"]
    return {
        "trials": table,
        "experiment_id": experiment["experiment_id"],
        "elapsed_s": float(experiment["elapsed_s"]),
        "searcher_finished": bool(experiment["searcher_finished"]),
    }


def _latest(trial: Trial) -> CheckpointRecord | None:
    return trial.checkpoints[-1] if trial.checkpoints else None


def _resumed_status(
    trial: Trial, resume_unfinished: bool, resume_errored: bool, restart_errored: bool
) -> TrialStatus:
    if trial.status is TrialStatus.ERROR:
        if restart_errored:
            trial.checkpoints.clear()
            trial.last_result = {}
            trial.num_failures = 0
            return TrialStatus.PENDING
        return TrialStatus.PENDING if resume_errored else TrialStatus.ERROR
    if trial.status.is_finished:
        return trial.status
    if not resume_unfinished:
        return TrialStatus.TERMINATED
    return TrialStatus.PAUSED if trial.status is TrialStatus.PAUSED else TrialStatus.PENDING


STAGED_OUTPUTS = ("result.json", "progress.csv", "error.txt")
"""Trial files the loggers append to; TensorBoard gets a new event file per run instead."""


def stage_trial_outputs(fs: fsspec.AbstractFileSystem, trials: TrialTable, local_root: str) -> None:
    """Download the output files of trials that will run again into the local staging folder.

    With remote storage the loggers write local copies that are uploaded whole; without this, a
    resumed trial's upload would replace the results it reported before the restore.
    """
    for trial in trials.with_status(TrialStatus.PENDING, TrialStatus.PAUSED):
        local_dir = os.path.join(local_root, trial.name)
        for name in STAGED_OUTPUTS:
            remote = join(trial.path, name)
            if fs.exists(remote):
                os.makedirs(local_dir, exist_ok=True)
                fs.get_file(remote, os.path.join(local_dir, name))
