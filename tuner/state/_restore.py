"""From a running experiment to its saved state, and from a saved state back to one."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from schedulers import FIFOScheduler, TrialScheduler, TrialStatus
from searchers import BasicVariantGenerator, Searcher
from searchers._paths import Path, as_grid, path_str
from searchers._space import Categorical, Domain
from searchers._space_json import NotSerializableError, space_from_json, space_to_json
from tuner._clock import Clock, SystemClock
from tuner._config import CheckpointConfig, FailureConfig, RunConfig, TuneConfig
from tuner._lifecycle import StopReason, TrialEvent, move_restored
from tuner._trainable import TrainableKind, WithResources, trainable_name
from tuner._trial import CheckpointRecord, Trial, TrialTable
from tuner._version import __version__
from tuner.exceptions import ConfigError, RestoreError
from tuner.output._rewind import EVENT_FILE_PREFIX
from tuner.state._experiment import (
    FORMAT,
    FORMAT_VERSION,
    decode_value,
    encode_value,
    trial_from_json,
)
from tuner.state._schema import not_json_repr
from tuner.storage._filesystem import (
    _list_names,
    join,
    list_checkpoints,
    remove_directory,
    remove_incomplete,
)
from tuner.storage._names import name_problem

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
        "saved_at": controller.clock.time(),
        "experiment": {
            "name": settings.name,
            "path": settings.path,
            "experiment_id": controller.experiment_id,
            "trainable_name": trainable_name,
            "trainable_kind": kind.value,
            "elapsed_s": controller.elapsed(),
            "searcher_finished": controller.searcher_finished,
            "status": "interrupted" if controller.stop_reason is StopReason.INTERRUPTED else (
                "running" if controller.is_running else "finished"
            ),
            "counts": {s.value: n for s, n in controller.counts().items()},
            "policy_records": controller.policy.records,
        },
        "settings": {
            "metric": tune_config.metric,
            "mode": tune_config.mode,
            "constraints": tune_config.constraints,
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


_MISSING = object()
"""What `param_space` holds where it has no value."""


def restore_not_json(trials: list[dict[str, Any]], param_space: Mapping[str, Any] | None) -> None:
    """Put back, in place, the config values that the state holds only as their repr.

    JSON cannot carry them (objects, tuples), so the state holds `{"__not_json__": repr}` and
    never a pickle. At the same key path, a constant in `param_space` is taken as it is, and a
    choice or grid gives the value whose repr is the stored one.

    Raises:
        RestoreError: Naming the trial, the key path and the repr, when `param_space` is None
            or gives no such value.
    """
    for data in trials:
        if _holds_not_json(data["config"]):
            data["config"] = _value_for(
                data["config"], _MISSING if param_space is None else param_space, (),
                trial_id=data["trial_id"], passed=param_space is not None,
            )


def _holds_not_json(data: Any) -> bool:
    if not_json_repr(data) is not None:
        return True
    if isinstance(data, dict):
        return any(_holds_not_json(v) for v in data.values())
    return isinstance(data, list) and any(_holds_not_json(v) for v in data)


def _choices(space: Any) -> tuple[Any, ...] | None:
    """The values a choice or a grid at this place of the space picks from, or None."""
    if isinstance(space, Categorical):
        return space.categories
    try:
        grid = as_grid(space)
    except ValueError:  # {"grid_search": <not a list>}: not a grid the searcher could have run
        return None
    return None if grid is None else grid.values


def _value_for(stored: Any, space: Any, path: Path, *, trial_id: str, passed: bool) -> Any:
    """The config value that `stored` (state JSON) stands for, `space` being its part of the
    param_space (`_MISSING` where it has none)."""
    if not _holds_not_json(stored):
        return decode_value(stored)
    choices = _choices(space)
    if choices is not None:
        for choice in choices:
            if encode_value(choice, warn=False) == stored:
                return choice
        shown = ", ".join(repr(c) for c in choices[:5]) + (", ..." if len(choices) > 5 else "")
        raise _unrestorable(trial_id, path, stored,
                            f"none of the values of the choice or grid there is that ({shown})")
    text = not_json_repr(stored)
    if text is not None:
        if not passed:
            raise _unrestorable(trial_id, path, stored, "no param_space was passed")
        if space is _MISSING:
            raise _unrestorable(trial_id, path, stored, "the param_space passed has no value there")
        if isinstance(space, Domain):
            raise _unrestorable(trial_id, path, stored, f"the param_space passed has a "
                                f"{type(space).__name__} there, which cannot give it back")
        return space
    if isinstance(stored, dict):
        inner = space if isinstance(space, Mapping) else {}
        return {k: _value_for(v, inner.get(k, _MISSING), (*path, k), trial_id=trial_id,
                              passed=passed) for k, v in stored.items()}
    inner_list = space if isinstance(space, list) else []
    return [_value_for(v, inner_list[i] if i < len(inner_list) else _MISSING, (*path, i),
                       trial_id=trial_id, passed=passed) for i, v in enumerate(stored)]


def _unrestorable(trial_id: str, path: Path, stored: Any, why: str) -> RestoreError:
    text = not_json_repr(stored) or json.dumps(decode_value(stored))[:200]
    hint = ""
    if " at 0x" in text:
        hint = (" (that repr holds a memory address, which differs in every process: give the "
                "class a __repr__ that tells its values apart)")
    return RestoreError(
        f"trial {trial_id}: config key {path_str(path)!r} holds {text}, which JSON cannot "
        f"carry, so the experiment state kept only that repr; {why}: pass param_space=... "
        f"with that value to Tuner.restore{hint}"
    )


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
    """The Tuner's arguments for continuing `state`, or a RestoreError that says what differs.

    Config values the state holds only as their repr are put back into `state` from
    `param_space` first (`restore_not_json`).
    """
    experiment = state["experiment"]
    inner = trainable.trainable if isinstance(trainable, WithResources) else trainable
    if trainable_name(inner) != experiment["trainable_name"]:
        raise RestoreError(
            f"the experiment at {exp_path} ran the trainable {experiment['trainable_name']!r}, "
            f"but restore got {trainable_name(inner)!r}: pass the original trainable"
        )
    restore_not_json(state["trials"], param_space)
    if param_space is None:
        if state.get("param_space") is None:
            raise RestoreError(
                "the search space could not be saved as JSON "
                f"({state.get('param_space_note')})"
            )
        try:
            param_space = space_from_json(state["param_space"])
        except (KeyError, TypeError, ValueError) as exc:  # ValueError: a domain's own checks too
            raise RestoreError(
                f"the search space saved in the experiment state at {exp_path} is malformed "
                f"({type(exc).__name__}: {exc}): pass param_space=... to Tuner.restore"
            ) from exc
    try:
        return _rebuilt(state, exp_path, param_space, tune_config, run_config, storage_filesystem)
    except (TypeError, ConfigError) as exc:  # settings a TuneConfig/RunConfig refuses
        raise RestoreError(
            f"the settings saved in the experiment state at {exp_path} are invalid ({exc}): "
            "something other than tuner changed them; restore the experiment folder from a copy"
        ) from exc


def _rebuilt(
    state: Mapping[str, Any],
    exp_path: str,
    param_space: Mapping[str, Any],
    tune_config: TuneConfig | None,
    run_config: RunConfig | None,
    storage_filesystem: Any,
) -> Rebuilt:
    settings = state["settings"]
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
        trial_dirname_creator=tune_config.trial_dirname_creator if tune_config else None,
        constraints=settings.get("constraints"),
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
    problem = name_problem(trial.name)  # checked on load too: this writes and deletes there
    if problem is not None:
        raise RestoreError(f"trial {trial.trial_id}: its name is a directory name and {problem}, "
                           f"got {trial.name!r}: restore the experiment folder from a copy")
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
    clock: Clock | None = None,
) -> dict[str, Any]:
    """Load the saved state into the components and rebuild the trials, as the flags ask.

    `clock` (the experiment's; real time by default) stamps the status changes of the trials
    that resume.
    """
    remove_incomplete(fs, exp_path)  # a state file half-written when the driver died
    _load_component("searcher", searcher, state["searcher"]["state"])
    _load_component("scheduler", scheduler, state["scheduler"]["state"])
    if stopper is not None and state.get("stopper"):
        _load_component("stopper", stopper, state["stopper"]["state"])
    now = (clock if clock is not None else SystemClock()).time()
    table = TrialTable()
    for data in state["trials"]:
        trial = trial_from_json(data)
        _rebase(trial, exp_path)
        event = _restore_event(trial, resume_unfinished, resume_errored, restart_errored)
        if event is not None:
            move_restored(trial, event, now)
        if trial.status in (TrialStatus.PENDING, TrialStatus.PAUSED):
            _clear_orphans(fs, trial)
            if restart_errored and data["status"] == TrialStatus.ERROR.value:
                trial.restore_from = None
            else:
                trial.restore_from = _latest(trial)
            # Its files may hold results written after the state was saved: cut back at start.
            trial.outputs_unknown = True
            if data["status"] == TrialStatus.ERROR.value:
                trial.error = None
                scheduler.on_trial_add(trial.view())
            else:
                # The saved scheduler state knows the statuses of the last save: a trial that
                # ran then waits now.
                scheduler.on_trial_status(trial.view())
        elif event is TrialEvent.DROP:
            scheduler.on_trial_remove(trial.view())
        table.add(trial)
    experiment = state["experiment"]
    return {
        "trials": table,
        "experiment_id": experiment["experiment_id"],
        "elapsed_s": float(experiment["elapsed_s"]),
        "searcher_finished": bool(experiment["searcher_finished"]),
        # None in a state saved before the policy log's records were counted.
        "policy_records": experiment.get("policy_records"),
    }


def _load_component(kind: str, component: Any, saved: Mapping[str, Any]) -> None:
    try:
        component.load_state_dict(saved)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise RestoreError(
            f"the saved state of the {kind} {_class_name(component)} does not load into it "
            f"({type(exc).__name__}: {exc}): the experiment state was changed by something other "
            "than tuner; restore the experiment folder from a copy"
        ) from exc


def _latest(trial: Trial) -> CheckpointRecord | None:
    return trial.checkpoints[-1] if trial.checkpoints else None


def _restore_event(
    trial: Trial, resume_unfinished: bool, resume_errored: bool, restart_errored: bool
) -> TrialEvent | None:
    """How a saved trial moves on restore (see `tuner._lifecycle`), or None to stay as it is."""
    if trial.status is TrialStatus.ERROR:
        if restart_errored:
            trial.checkpoints.clear()
            trial.last_result = {}
            trial.num_failures = 0
            return TrialEvent.RESUME
        return TrialEvent.RESUME if resume_errored else None
    if trial.status.is_finished:
        return None
    if not resume_unfinished:
        return TrialEvent.DROP
    return TrialEvent.RESUME if trial.status is TrialStatus.RUNNING else None


STAGED_OUTPUTS = ("result.json", "progress.csv", "error.txt")
"""Trial files the loggers append to (TensorBoard event files are staged as well: a resumed
trial may have to cut them back, see `tuner.output._rewind`)."""


def stage_trial_outputs(fs: fsspec.AbstractFileSystem, trials: TrialTable, local_root: str) -> None:
    """Download the output files of trials that will run again into the local staging folder.

    With remote storage the loggers write local copies that are uploaded whole; without this, a
    resumed trial's upload would replace the results it reported before the restore.
    """
    for trial in trials.with_status(TrialStatus.PENDING, TrialStatus.PAUSED):
        local_dir = os.path.join(local_root, trial.name)
        for name, kind in _list_names(fs, trial.path):
            if kind == "file" and (name in STAGED_OUTPUTS or name.startswith(EVENT_FILE_PREFIX)):
                os.makedirs(local_dir, exist_ok=True)
                fs.get_file(join(trial.path, name), os.path.join(local_dir, name))

