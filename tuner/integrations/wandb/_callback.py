"""`WandbLoggerCallback`: one W&B run per trial, each owned by a thread of the driver."""

from __future__ import annotations

import enum
import logging
import os
import queue
import threading
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

from tuner._callback import LoggerCallback
from tuner.integrations.wandb._common import (
    DEFAULT_UPLOAD_TIMEOUT_S,
    INIT_LOCK,
    WANDB_GROUP_ENV_VAR,
    WANDB_PROJECT_ENV_VAR,
    clean,
    import_wandb,
    is_loggable,
    set_api_key,
)
from tuner.output._encode import flatten

if TYPE_CHECKING:
    from tuner.experiment import Trial
    from tuner.stopper import Stopper

logger = logging.getLogger(__name__)


class _Item(enum.Enum):
    RESULT = enum.auto()
    CONFIG = enum.auto()
    CHECKPOINT = enum.auto()
    END = enum.auto()


class _TrialRun(threading.Thread):
    """Owns one trial's W&B run: starts it, logs what the queue brings, finishes it."""

    def __init__(self, init_kwargs: dict[str, Any], name: str) -> None:
        super().__init__(name=f"tuner-wandb-{name}", daemon=True)
        self.init_kwargs = init_kwargs
        self.queue: queue.SimpleQueue[tuple[_Item, Any]] = queue.SimpleQueue()
        self.error: BaseException | None = None
        self._artifact_name = f"checkpoint_{name}"

    def run(self) -> None:
        wandb = import_wandb()
        try:
            with INIT_LOCK:
                run = wandb.init(**self.init_kwargs)
        except Exception as exc:
            self.error = exc
            logger.exception("W&B run %s could not start", self.init_kwargs.get("name"))
            while self.queue.get()[0] is not _Item.END:
                pass
            return
        exit_code = 0
        try:
            while True:
                kind, content = self.queue.get()
                if kind is _Item.END:
                    exit_code = content
                    break
                if kind is _Item.RESULT:
                    run.log(content)
                elif kind is _Item.CONFIG:
                    run.config.update(content, allow_val_change=True)
                else:
                    self._log_checkpoint(wandb, run, content)
        except Exception as exc:
            self.error = exc
            logger.exception("W&B run %s failed to log", self.init_kwargs.get("name"))
            exit_code = 1
        finally:
            run.finish(exit_code=exit_code)

    def _log_checkpoint(self, wandb: ModuleType, run: Any, location: tuple[str, bool]) -> None:
        from tuner.storage._filesystem import COMPLETE_MARKER

        path, local = location
        artifact = wandb.Artifact(name=self._artifact_name, type="model")
        if not local:
            artifact.add_reference(path)
        elif not os.path.isdir(path):
            # Removed meanwhile (CheckpointConfig(num_to_keep=...) keeps only the newest).
            logger.warning("checkpoint %s was deleted before W&B could upload it", path)
            return
        else:
            for folder, _, files in os.walk(path):
                for name in sorted(files):
                    if name != COMPLETE_MARKER:  # the engine's marker, not the user's data
                        full = os.path.join(folder, name)
                        artifact.add_file(full, name=os.path.relpath(full, path).replace(os.sep, "/"))
        run.log_artifact(artifact)


class WandbLoggerCallback(LoggerCallback):
    """Log every trial to Weights & Biases as a run of its own: config, history, summary.

    Each result becomes one ``run.log`` call (one history row) with the result's numbers,
    nested keys joined with "/"; ``trial_id``, ``hostname``, ``pid``, ... go to the run's
    config instead, and ``done``, ``should_checkpoint`` and `excludes` are left out. The run
    ends (exit code 1 for a trial that failed) when the trial does; the driver waits for the
    runs to finish when the experiment ends, at most ``upload_timeout`` seconds.

    Args:
        project: The W&B project (else WANDB_PROJECT_NAME, else WANDB_PROJECT).
        group: The runs' group (else WANDB_GROUP_NAME, else the experiment's name).
        api_key_file: A file whose first line is the W&B API key.
        api_key: The API key (else WANDB_API_KEY or ``wandb login``'s; none needed offline).
        excludes: Result keys not to log (a key excludes the keys nested below it).
        log_config: Log the trial's config (``config/<key>``) with every result: with PBT,
            which changes a trial's config, the history shows when.
        upload_checkpoints: Log each checkpoint the trial persists as a ``model`` artifact.
        save_checkpoints: Ray's older name of ``upload_checkpoints``.
        upload_timeout: Seconds to wait, at the end, for the runs to finish.
        **kwargs: Passed to ``wandb.init`` (``mode="offline"``, ``entity``, ``tags``,
            ``dir``, ``settings``, ...): they win over the values above.

    Example:
        >>> import tuner
        >>> run_config = tuner.RunConfig(callbacks=[WandbLoggerCallback(project="tuning")])
    """

    _exclude_results = ("done", "should_checkpoint")
    _config_results = (
        "trial_id", "experiment_tag", "node_ip", "experiment_id", "hostname", "pid", "date",
    )

    def __init__(
        self,
        project: str | None = None,
        group: str | None = None,
        api_key_file: str | None = None,
        api_key: str | None = None,
        excludes: Sequence[str] | None = None,
        log_config: bool = False,
        upload_checkpoints: bool = False,
        save_checkpoints: bool = False,
        upload_timeout: float = DEFAULT_UPLOAD_TIMEOUT_S,
        **kwargs: Any,
    ) -> None:
        if isinstance(excludes, str):
            raise TypeError(f"`excludes` must be a list of result keys, got {excludes!r}")
        if not isinstance(upload_timeout, (int, float)) or upload_timeout < 0:
            raise ValueError(f"`upload_timeout` must be >= 0 seconds, got {upload_timeout!r}")
        self.project = project
        self.group = group
        self.api_key_file = api_key_file
        self.api_key = api_key
        self.excludes = list(excludes or [])
        self.log_config = bool(log_config)
        self.upload_checkpoints = bool(upload_checkpoints or save_checkpoints)
        self.upload_timeout = float(upload_timeout)
        self.kwargs = kwargs
        self._runs: dict[str, _TrialRun] = {}
        self._ended: list[_TrialRun] = []
        self._configs: dict[str, dict[str, Any]] = {}
        self._config_sent: dict[str, dict[str, Any]] = {}

    def setup(
        self,
        stop: Stopper | None = None,
        num_samples: int | None = None,
        total_num_samples: int | None = None,
        **info: Any,
    ) -> None:
        import_wandb()
        set_api_key(self.api_key_file, self.api_key, self.kwargs.get("mode"))
        self.project = (self.project or os.environ.get(WANDB_PROJECT_ENV_VAR)
                        or os.environ.get("WANDB_PROJECT"))
        if not self.project:
            raise ValueError(
                "WandbLoggerCallback needs a W&B project: pass project='...' or set "
                f"{WANDB_PROJECT_ENV_VAR}"
            )
        self.group = self.group or os.environ.get(WANDB_GROUP_ENV_VAR)

    def _init_kwargs(self, trial: Trial) -> dict[str, Any]:
        wandb = import_wandb()
        experiment = os.path.basename(os.path.dirname(trial.local_path.rstrip(os.sep)))
        config = clean({k: v for k, v in trial.config.items() if k != "callbacks"})
        kwargs: dict[str, Any] = {
            "id": trial.trial_id, "name": str(trial), "project": self.project,
            "group": self.group or experiment, "config": config, "reinit": "create_new",
            "allow_val_change": True,
            "resume": "allow",  # after Tuner.restore, a trial goes on in its run
            # The driver's console output is no trial's: leave it out of the runs.
            "settings": wandb.Settings(console="off"),
        }
        # WANDB_DIR, read now (wandb reads it once per process), else the trial's directory,
        # as with Ray, which runs each trial's logger there.
        kwargs["dir"] = os.environ.get("WANDB_DIR") or trial.local_path
        if os.environ.get("WANDB_MODE"):
            kwargs["mode"] = os.environ["WANDB_MODE"]  # the same: read now
        kwargs.update(self.kwargs)
        return kwargs

    def log_trial_start(self, trial: Trial) -> None:
        if trial.trial_id in self._runs:
            return  # resumed after a pause: the same run goes on
        os.makedirs(trial.local_path, exist_ok=True)
        run = _TrialRun(self._init_kwargs(trial), str(trial))
        self._runs[trial.trial_id] = run
        self._configs[trial.trial_id] = dict(trial.config)
        run.start()

    def log_trial_result(self, iteration: int, trial: Trial, result: dict[str, Any]) -> None:
        if trial.trial_id not in self._runs:
            self.log_trial_start(trial)
        run = self._runs[trial.trial_id]
        config = dict(trial.config)
        full = dict(result)
        if self.log_config:
            full["config"] = config
        log, config_update = self._split(full)
        if config != self._configs[trial.trial_id]:  # PBT changed it
            self._configs[trial.trial_id] = config
            config_update.update(clean(config))
        if config_update and config_update != self._config_sent.get(trial.trial_id):
            self._config_sent[trial.trial_id] = config_update
            run.queue.put((_Item.CONFIG, config_update))
        run.queue.put((_Item.RESULT, log))

    def _split(self, result: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The values to log, and those that go to the run's config."""
        excluded = (*self._exclude_results, *self.excludes)
        log: dict[str, Any] = {}
        config: dict[str, Any] = {}
        for key, value in flatten(result).items():
            if _matches(key, self._config_results):
                config[key] = clean(value)
            elif not _matches(key, excluded) and is_loggable(value):
                log[key] = value
        return log, config

    def log_trial_save(self, trial: Trial) -> None:
        checkpoint = trial.checkpoint
        run = self._runs.get(trial.trial_id)
        if not self.upload_checkpoints or checkpoint is None or run is None:
            return
        from tuner.storage._filesystem import is_local

        local = is_local(checkpoint.filesystem)
        run.queue.put((_Item.CHECKPOINT, (checkpoint.path if local else checkpoint.uri, local)))

    def log_trial_end(self, trial: Trial, failed: bool = False) -> None:
        run = self._runs.pop(trial.trial_id, None)
        if run is None:
            return
        run.queue.put((_Item.END, 1 if failed else 0))
        self._ended.append(run)  # waited for in on_experiment_end, not here: the loop goes on

    def on_experiment_end(self, trials: Sequence[Trial], **info: Any) -> None:
        for trial_id in list(self._runs):  # interrupted: the trials still running end too
            run = self._runs.pop(trial_id)
            run.queue.put((_Item.END, 1))
            self._ended.append(run)
        ended, self._ended = self._ended, []
        for run in ended:
            run.join(self.upload_timeout)
            if run.is_alive():
                logger.warning(
                    "W&B run %s did not finish within upload_timeout=%s s; it goes on in the "
                    "background until this process exits", run.init_kwargs.get("name"),
                    self.upload_timeout,
                )


def _matches(key: str, names: Sequence[str]) -> bool:
    return any(key == name or key.startswith(name + "/") for name in names)
