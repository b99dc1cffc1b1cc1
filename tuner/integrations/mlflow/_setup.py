"""`setup_mlflow`: an MLflow run opened from inside a trial, ended with it."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tuner._session import get_context
from tuner.integrations._trial_end import at_trial_end
from tuner.integrations.mlflow._common import (
    as_params,
    find_experiment,
    import_mlflow,
    log_batch,
    make_client,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient

logger = logging.getLogger(__name__)


class _NoopModule:
    """What `setup_mlflow` returns on ranks other than 0: every call does nothing."""

    def __getattr__(self, name: str) -> _NoopModule:
        return _NoopModule()

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        return None


def setup_mlflow(
    config: Mapping[str, Any] | None = None,
    tracking_uri: str | None = None,
    registry_uri: str | None = None,
    experiment_id: str | None = None,
    experiment_name: str | None = None,
    tracking_token: str | None = None,
    artifact_location: str | None = None,
    run_name: str | None = None,
    create_experiment_if_not_exists: bool = False,
    tags: Mapping[str, Any] | None = None,
    rank_zero_only: bool = True,
) -> Any:
    """Start an MLflow run for this trial and return the ``mlflow`` module to log with.

    Call it inside a trainable: the run is the active run of this thread (``mlflow.log_metric``
    and the rest log to it), named after the trial (``run_name`` overrides), tagged with
    ``trial_name`` and ``trial_id``, with `config` logged as params. The run ends FINISHED when
    the trial ends (its function returns, raises or is stopped) if you did not end it
    (``mlflow.end_run()``). With ``rank_zero_only`` a data-parallel rank other than 0 gets an
    object whose every call does nothing. Outside a trial it starts an ordinary run.

    Args:
        config: Logged as the run's params (flattened; a ``"mlflow"`` entry is left out).
        tracking_uri: MLflow's tracking URI (MLflow's default when None). Trials may run in
            other processes: use a server or a shared ``sqlite:///`` file.
        registry_uri: MLflow's model registry URI.
        experiment_id: An existing experiment's id (MLFLOW_EXPERIMENT_ID when None); it is
            tried first.
        experiment_name: The experiment's name; MLFLOW_EXPERIMENT_NAME, else the tuner
            experiment's name, when None.
        tracking_token: Token for a server's HTTP authentication (sets MLFLOW_TRACKING_TOKEN).
        artifact_location: Where a newly created experiment keeps its artifacts.
        run_name: The run's name (default: the trial's name).
        create_experiment_if_not_exists: Create the named experiment if it does not exist
            (otherwise a missing experiment is a ValueError).
        tags: Tags set on the run.
        rank_zero_only: Only rank 0 of a data-parallel group logs.

    Returns:
        The ``mlflow`` module, or a no-op stand-in on ranks other than 0.

    Example:
        >>> def train_fn(config):
        ...     mlflow = setup_mlflow(config, tracking_uri="sqlite:///mlflow.db",
        ...                           create_experiment_if_not_exists=True)
        ...     for step in range(3):
        ...         mlflow.log_metric("loss", 1 / (step + 1), step=step)
    """
    mlflow = import_mlflow()
    context = get_context()
    if rank_zero_only and context.get_world_rank() not in (None, 0):
        return _NoopModule()
    client = make_client(tracking_uri, registry_uri, tracking_token)
    mlflow.set_tracking_uri(client.tracking_uri)
    if registry_uri is not None:
        mlflow.set_registry_uri(registry_uri)
    trial_id, trial_name = context.get_trial_id(), context.get_trial_name()
    exp_id = find_experiment(
        client,
        experiment_id=experiment_id,
        experiment_name=experiment_name or os.environ.get("MLFLOW_EXPERIMENT_NAME")
        or context.get_experiment_name(),
        artifact_location=artifact_location,
        create=create_experiment_if_not_exists,
    )
    active = mlflow.active_run()
    if active is not None:
        if trial_id is not None and active.data.tags.get("trial_id") == trial_id:
            return mlflow  # this trial's run already: setup_mlflow was called twice
        mlflow.end_run()  # a run of an earlier trial in this thread, left open
    run_tags = {str(key): str(value) for key, value in (tags or {}).items()}
    if trial_id is not None:
        run_tags.update(trial_name=str(trial_name), trial_id=trial_id)
    run = mlflow.start_run(experiment_id=exp_id, run_name=run_name or trial_name, tags=run_tags)
    if config:
        log_batch(client, run.info.run_id, params=as_params(
            {key: value for key, value in config.items() if key != "mlflow"}))
    if trial_id is not None:
        at_trial_end(lambda: _end_if_open(client, run.info.run_id))
    return mlflow


def _end_if_open(client: MlflowClient, run_id: str) -> None:
    try:
        import mlflow

        active = mlflow.active_run()
        if active is not None and active.info.run_id == run_id:
            mlflow.end_run()
        elif client.get_run(run_id).info.status == "RUNNING":
            client.set_terminated(run_id, status="FINISHED")
    except Exception:
        logger.exception("could not end MLflow run %s at the end of its trial", run_id)
