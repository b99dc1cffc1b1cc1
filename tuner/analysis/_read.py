"""Reading finished (or crashed) experiments from storage, without the script that ran them.

An experiment directory is found by its experiment state (`experiment_state-a.json` / `-b.json`);
the state holds every trial's config, status, last result and checkpoints, and each trial
directory holds its full history (`result.json`). Nothing here imports the trainable.
"""

from __future__ import annotations

import json
import os
import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from schedulers import TrialStatus
from tuner.analysis._result import Result, flatten, metric_value
from tuner.exceptions import ConfigError, RestoreError, TrialError, WorkerDiedError
from tuner.state._experiment import SLOTS, has_state, load_state, trial_from_json
from tuner.storage._checkpoint import Checkpoint
from tuner.storage._filesystem import is_local, join, list_checkpoints, protocol_of, resolve_storage
from tuner.storage._retention import best_first

if TYPE_CHECKING:
    import fsspec

    from tuner._trial import Trial


@dataclass(frozen=True)
class SavedExperiment:
    """An experiment as its saved state describes it.

    Attributes:
        url: The experiment directory as a user would type it (`s3://b/runs/exp`, `/tmp/exp`).
        filesystem: The filesystem it is on.
        path: The directory on `filesystem`.
        state: The newest valid experiment state (see docs/experiment_state.md).
    """

    url: str
    filesystem: fsspec.AbstractFileSystem
    path: str
    state: Mapping[str, Any]

    @property
    def name(self) -> str:
        return str(self.state["experiment"]["name"])

    @property
    def status(self) -> str:
        """"finished", "interrupted", or "running" (also what a crashed run leaves behind)."""
        return str(self.state["experiment"]["status"])

    @property
    def counts(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.state["experiment"]["counts"].items()}

    @property
    def metric(self) -> str | list[str] | None:
        """`TuneConfig(metric)`: one objective, a list of them, or None."""
        return self.state["settings"].get("metric")

    @property
    def mode(self) -> str | list[str] | None:
        """`TuneConfig(mode)`: one mode, one per objective, or None."""
        return self.state["settings"].get("mode")

    @property
    def constraints(self) -> list[str] | None:
        """`TuneConfig(constraints)` as given; None without (and for states saved before
        constraints existed)."""
        return self.state["settings"].get("constraints")

    @property
    def trainable_name(self) -> str:
        return str(self.state["experiment"]["trainable_name"])

    @property
    def restore_hint(self) -> str:
        """The line that continues this experiment."""
        return f"Tuner.restore({self.url!r}, trainable={self.trainable_name}).fit()"

    def trials(self) -> list[Trial]:
        """The saved trials, their paths pointed into this directory (it may have been moved)."""
        trials = []
        for data in self.state["trials"]:
            trial = trial_from_json(data)
            trial.path = join(self.path, trial.name)
            for record in trial.checkpoints:
                record.path = join(trial.path, posixpath.basename(record.path.rstrip("/")))
            trials.append(trial)
        return trials

    def results(self) -> list[Result]:
        """One `Result` per trial, as `fit()` returns them.

        Like `fit()`, it leaves out trials that ended before they ever started (a time budget or
        a stopper ended the experiment first): they have no results.
        """
        checkpoint_config = self.state["settings"].get("checkpoint_config") or {}
        return [
            result_from_trial(t, self.filesystem, checkpoint_config)
            for t in self.trials()
            if not (t.never_started and t.status is TrialStatus.TERMINATED)
        ]


def user_url(fs: fsspec.AbstractFileSystem, path: str) -> str:
    """`path` on `fs` as a URL: a plain path for the local disk, `proto://...` otherwise."""
    if is_local(fs):
        return path
    return f"{protocol_of(fs)}://{path.lstrip('/')}"


def open_experiment(
    url: str | os.PathLike[str], storage_filesystem: fsspec.AbstractFileSystem | None = None
) -> SavedExperiment:
    """The experiment saved at `url` (`<storage_path>/<name>`).

    Raises:
        RestoreError: No experiment state there, or none that can be read.
    """
    fs, path = resolve_storage(url, storage_filesystem)
    return SavedExperiment(user_url(fs, path), fs, path, load_state(fs, path))


def find_experiments(
    url: str | os.PathLike[str],
    storage_filesystem: fsspec.AbstractFileSystem | None = None,
    *,
    on_unreadable: Callable[[str, RestoreError], None] | None = None,
) -> list[SavedExperiment]:
    """The experiments at `url`: the directory itself if it is one, else its subdirectories that are.

    Args:
        on_unreadable: Called with the URL and the error of each subdirectory whose state cannot
            be read; that experiment is then left out instead of failing the whole listing.
    """
    fs, root = resolve_storage(url, storage_filesystem)
    if has_state(fs, root):
        return [SavedExperiment(user_url(fs, root), fs, root, load_state(fs, root))]
    if not fs.isdir(root):
        return []
    found = []
    for entry in sorted(fs.ls(root, detail=True), key=lambda e: str(e["name"])):
        if entry.get("type") != "directory":
            continue
        path = str(entry["name"]).rstrip("/")
        if any(fs.exists(join(path, slot)) for slot in SLOTS):
            try:
                state = load_state(fs, path)
            except RestoreError as exc:
                if on_unreadable is None:
                    raise
                on_unreadable(user_url(fs, path), exc)
                continue
            found.append(SavedExperiment(user_url(fs, path), fs, path, state))
    return found


def result_from_trial_dir(
    url: str | os.PathLike[str], storage_filesystem: fsspec.AbstractFileSystem | None = None
) -> Result:
    """The `Result` of the trial whose directory is `url` (`Result.from_path`, as in Ray).

    With the experiment state in the parent directory, the result is the one `fit()` gave.
    Without it (a trial directory copied on its own), it is rebuilt from the files: the config
    from params.json, the last line of result.json, the complete checkpoints (without the
    metrics they were reported with, which only the state holds) and error.txt; the status is
    then unknown ("").

    Raises:
        RestoreError: There is no trial directory at `url`.
    """
    fs, path = resolve_storage(url, storage_filesystem)
    path = path.rstrip("/")
    parent = posixpath.dirname(path)
    if has_state(fs, parent):
        experiment = SavedExperiment(user_url(fs, parent), fs, parent, load_state(fs, parent))
        for result in experiment.results():
            if result.path.rstrip("/") == path:
                return result
    if not fs.isdir(path):
        raise RestoreError(f"no trial directory at {url}: pass <storage_path>/<name>/<trial>")
    params = join(path, "params.json")
    config = json.loads(fs.cat_file(params)) if fs.exists(params) else {}
    history = Result(metrics={}, config={}, path=path, filesystem=fs)._history()
    checkpoints = [Checkpoint(p, fs) for _, p, complete in list_checkpoints(fs, path) if complete]
    error = None
    if fs.exists(join(path, "error.txt")):
        text = fs.cat_file(join(path, "error.txt")).decode("utf-8", errors="replace").strip()
        error = TrialError(text.splitlines()[-1] if text else "failed", traceback=text)
    metrics = history[-1] if history else {}
    return Result(
        metrics=metrics,
        config=config if isinstance(config, dict) else {},
        path=path,
        filesystem=fs,
        error=error,
        checkpoint=checkpoints[-1] if checkpoints else None,
        best_checkpoints=[(c, {}) for c in reversed(checkpoints)],
        trial_id=str(metrics.get("trial_id", "")),
        status="",
    )


def result_from_trial(
    trial: Trial, fs: fsspec.AbstractFileSystem, checkpoint_config: Mapping[str, Any]
) -> Result:
    """A trial's `Result`, as `Tuner.fit()` returns it."""
    error = None
    if trial.error is not None and trial.status is TrialStatus.ERROR:
        text = trial.error.strip()
        last_line = text.splitlines()[-1] if text else "failed"
        prefix = f"trial {trial.trial_id} "
        # The error text is a traceback ("...\nValueError: boom") or the cause of a worker's
        # death ("WorkerDiedError: its worker process ..."); states saved by older versions
        # may hold a whole message already: it is not prefixed twice.
        message = last_line if last_line.startswith(prefix) else f"{prefix}failed: {last_line}"
        kind = WorkerDiedError if last_line.startswith("WorkerDiedError:") else TrialError
        error = kind(message, trial_id=trial.trial_id, traceback=trial.error)
    ranked = best_first(
        trial.checkpoints,
        checkpoint_config.get("checkpoint_score_attribute"),
        checkpoint_config.get("checkpoint_score_order", "max"),
    )
    best = [(Checkpoint(c.path, fs), c.metrics) for c in ranked]
    latest = trial.latest_checkpoint
    return Result(
        metrics=dict(trial.last_result),
        config=dict(trial.config),
        path=trial.path,
        filesystem=fs,
        error=error,
        checkpoint=Checkpoint(latest.path, fs) if latest is not None else None,
        best_checkpoints=best,
        trial_id=trial.trial_id,
        status=trial.status.value,
    )


def reported_keys(results: list[Result]) -> list[str]:
    """Every key (flattened) that some trial's last result holds, sorted."""
    keys: set[str] = set()
    for result in results:
        keys.update(flatten(result.metrics))
    return sorted(keys)


def check_metric(results: list[Result], metric: str, where: str) -> None:
    """Raise `ConfigError` naming the reported keys if no trial reported a number for `metric`."""
    if any(metric_value(r.metrics, metric) is not None for r in results):
        return
    if not results:
        raise ConfigError(f"{where} has no trials yet")
    keys = [k for k in reported_keys(results) if k not in ("hostname", "pid", "trial_id")]
    raise ConfigError(
        f"metric '{metric}' is not a number any trial of {where} reported; reported keys: "
        f"{', '.join(keys) or 'none'}"
    )
