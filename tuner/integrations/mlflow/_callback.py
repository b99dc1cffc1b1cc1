"""`MLflowLoggerCallback`: one MLflow run per trial, written from the driver."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tuner._callback import LoggerCallback
from tuner.integrations.mlflow._common import (
    as_params,
    find_experiment,
    log_batch,
    log_directory,
    make_client,
    numbers_of,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from tuner.experiment import Trial
    from tuner.stopper import Stopper

logger = logging.getLogger(__name__)


class MLflowLoggerCallback(LoggerCallback):
    """Log every trial to MLflow as a run of its own: params, metrics per step, status, files.

    Args:
        tracking_uri: Where the runs go: a tracking server, ``sqlite:///file.db``, ...; MLflow's
            default (``MLFLOW_TRACKING_URI``) when None. Trials' runs are written by the
            driver, so a local store works with any executor.
        registry_uri: MLflow's model registry URI.
        experiment_name: The MLflow experiment (created if missing); MLFLOW_EXPERIMENT_NAME,
            else the tuner experiment's name, when None (MLFLOW_EXPERIMENT_ID is used first if
            set).
        tags: Tags set on every trial's run (``trial_name`` and ``trial_id`` are added).
        tracking_token: Token for a server's HTTP authentication (sets MLFLOW_TRACKING_TOKEN).
        save_artifact: Log the trial's directory, and its latest checkpoint, as the run's
            artifacts when the trial ends.
        log_params_on_trial_end: Log the config when the trial ends instead of when it starts:
            with PBT, whose exploits change a trial's config, the run records the final one
            (MLflow params cannot change once logged).

    Example:
        >>> import tuner
        >>> run_config = tuner.RunConfig(callbacks=[MLflowLoggerCallback(
        ...     "sqlite:///mlflow.db", experiment_name="tuning", save_artifact=True)])
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        *,
        registry_uri: str | None = None,
        experiment_name: str | None = None,
        tags: Mapping[str, Any] | None = None,
        tracking_token: str | None = None,
        save_artifact: bool = False,
        log_params_on_trial_end: bool = False,
    ) -> None:
        if tags is not None and not isinstance(tags, Mapping):
            raise TypeError(f"`tags` must be a dict of tag names to values, got {tags!r}")
        self.tracking_uri = tracking_uri
        self.registry_uri = registry_uri
        self.experiment_name = experiment_name
        self.tags = {str(key): str(value) for key, value in (tags or {}).items()}
        self.tracking_token = tracking_token
        self.should_save_artifact = bool(save_artifact)
        self.log_params_on_trial_end = bool(log_params_on_trial_end)
        self._client: MlflowClient | None = None
        self._experiment_id: str | None = None
        self._runs: dict[str, str] = {}
        """trial id -> MLflow run id."""
        self._logged_params: dict[str, dict[str, str]] = {}
        self._ending: list[tuple[Trial, str, bool]] = []
        """Trials that ended, to close after this turn of the loop (see `log_trial_end`)."""

    def setup(
        self,
        stop: Stopper | None = None,
        num_samples: int | None = None,
        total_num_samples: int | None = None,
        **info: Any,
    ) -> None:
        self._client = make_client(self.tracking_uri, self.registry_uri, self.tracking_token)

    @property
    def client(self) -> MlflowClient:
        """The `MlflowClient` the runs are written with."""
        if self._client is None:
            self._client = make_client(self.tracking_uri, self.registry_uri, self.tracking_token)
        return self._client

    def run_id(self, trial: Trial) -> str | None:
        """The MLflow run id of `trial`, or None before it started."""
        return self._runs.get(trial.trial_id)

    def _experiment(self, trial: Trial) -> str:
        if self._experiment_id is None:
            # The tuner experiment's name is its directory's, the parent of the trial's.
            default = os.path.basename(os.path.dirname(trial.local_path.rstrip(os.sep)))
            self._experiment_id = find_experiment(
                self.client, experiment_id=None,
                experiment_name=self.experiment_name or os.environ.get(
                    "MLFLOW_EXPERIMENT_NAME") or default,
                artifact_location=None, create=True,
            )
        return self._experiment_id

    def log_trial_start(self, trial: Trial) -> None:
        run_id = self._runs.get(trial.trial_id) or self._existing_run(trial)
        if run_id is None:
            tags = {**self.tags, "trial_name": str(trial), "trial_id": trial.trial_id}
            run = self.client.create_run(self._experiment(trial), run_name=str(trial), tags=tags)
            run_id = run.info.run_id
        else:
            self.client.update_run(run_id, status="RUNNING")  # resumed: a pause, a restore
        self._runs[trial.trial_id] = run_id
        if not self.log_params_on_trial_end:
            self._log_params(trial, run_id)

    def _existing_run(self, trial: Trial) -> str | None:
        """The run of `trial` from before a `Tuner.restore`, found by its tags."""
        found = self.client.search_runs(
            [self._experiment(trial)], max_results=1,
            filter_string=f"tags.trial_id = '{trial.trial_id}' and "
                          f"tags.trial_name = '{trial}'",
        )
        if not found:
            return None
        self._logged_params[trial.trial_id] = dict(found[0].data.params)
        return str(found[0].info.run_id)

    def _log_params(self, trial: Trial, run_id: str) -> None:
        logged = self._logged_params.setdefault(trial.trial_id, {})
        params = as_params(trial.config)
        new = {key: value for key, value in params.items() if key not in logged}
        changed = sorted(key for key, value in params.items() if logged.get(key, value) != value)
        if changed:
            logger.info(
                "trial %s: MLflow params cannot change, so %s keep(s) the first value logged; "
                "MLflowLoggerCallback(log_params_on_trial_end=True) logs the final config",
                trial, changed,
            )
        log_batch(self.client, run_id, params=new)
        logged.update(new)

    def log_trial_result(self, iteration: int, trial: Trial, result: dict[str, Any]) -> None:
        run_id = self._runs.get(trial.trial_id)
        if run_id is None:
            self.log_trial_start(trial)
            run_id = self._runs[trial.trial_id]
        step = result.get("timesteps_total") or result.get("training_iteration") or 0
        log_batch(self.client, run_id, metrics=numbers_of(result), step=int(step))

    def log_trial_end(self, trial: Trial, failed: bool = False) -> None:
        run_id = self._runs.get(trial.trial_id)
        if run_id is None:
            return
        # The built-in loggers close the trial's files after this callback: its files are
        # complete once this turn of the loop is over (`on_step_end`).
        self._ending.append((trial, run_id, failed))

    def on_step_end(self, iteration: int, trials: Sequence[Trial], **info: Any) -> None:
        self._close_ended()

    def on_experiment_end(self, trials: Sequence[Trial], **info: Any) -> None:
        self._close_ended()
        for trial in trials:  # interrupted: trials that did not end get their run ended too
            run_id = self._runs.pop(trial.trial_id, None)
            if run_id is not None and not trial.is_finished():
                self.client.set_terminated(run_id, status="KILLED")

    def _close_ended(self) -> None:
        ending, self._ending = self._ending, []
        for trial, run_id, failed in ending:
            if self.log_params_on_trial_end:
                self._log_params(trial, run_id)
            if self.should_save_artifact:
                self._save_artifacts(trial, run_id)
            self.client.set_terminated(run_id, status="FAILED" if failed else "FINISHED")
            self._runs.pop(trial.trial_id, None)

    def _save_artifacts(self, trial: Trial, run_id: str) -> None:
        local = trial.local_path
        if os.path.isdir(local):
            log_directory(self.client, run_id, local, None)
        checkpoint = trial.checkpoint
        if checkpoint is None:
            return
        inside = os.path.realpath(checkpoint.path).startswith(os.path.realpath(local) + os.sep)
        if inside and os.path.isdir(local):
            return  # already logged with the trial's directory
        name = os.path.basename(checkpoint.path.rstrip("/"))
        with checkpoint.as_directory() as directory:
            log_directory(self.client, run_id, directory, name)
