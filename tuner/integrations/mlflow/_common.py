"""What the MLflow callback and `setup_mlflow` share: the client, the experiment, batches."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

from tuner.output._encode import flatten

if TYPE_CHECKING:
    from mlflow import MlflowClient

logger = logging.getLogger(__name__)

_MAX_PARAM_LENGTH = 6000  # MLflow refuses longer param values
_BATCH = 100  # MLflow's most params, and a safe number of metrics, per log_batch call


def import_mlflow() -> ModuleType:
    try:
        import mlflow
    except ImportError as exc:
        raise ImportError(
            "tuner.integrations.mlflow needs the MLflow client: pip install 'tuner[mlflow]' "
            "(or pip install mlflow-skinny)"
        ) from exc
    return mlflow


def make_client(tracking_uri: str | None, registry_uri: str | None,
            tracking_token: str | None) -> MlflowClient:
    mlflow = import_mlflow()
    if tracking_token:
        os.environ["MLFLOW_TRACKING_TOKEN"] = tracking_token  # MLflow's HTTP auth reads it
    return mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=registry_uri)


def find_experiment(
    client: MlflowClient,
    *,
    experiment_id: str | None,
    experiment_name: str | None,
    artifact_location: str | None,
    create: bool,
) -> str:
    """The id of the experiment to log to: `experiment_id` (or MLFLOW_EXPERIMENT_ID) if it
    exists, else the one named `experiment_name` (or MLFLOW_EXPERIMENT_NAME), created if
    `create`."""
    from mlflow.exceptions import MlflowException

    wanted_id = experiment_id if experiment_id is not None else os.environ.get(
        "MLFLOW_EXPERIMENT_ID")
    if wanted_id is not None:
        try:
            return str(client.get_experiment(str(wanted_id)).experiment_id)
        except MlflowException:
            logger.debug("no MLflow experiment with id %r: trying by name", wanted_id)
    name = experiment_name or os.environ.get("MLFLOW_EXPERIMENT_NAME")
    if name:
        found = client.get_experiment_by_name(name)
        if found is not None:
            return str(found.experiment_id)
        if create:
            try:
                return str(client.create_experiment(name, artifact_location=artifact_location))
            except MlflowException:
                # Another trial (or process) may have created it meanwhile.
                found = client.get_experiment_by_name(name)
                if found is None:
                    raise
                return str(found.experiment_id)
    raise ValueError(
        f"no MLflow experiment with experiment_id={wanted_id!r} or experiment_name={name!r} "
        f"exists in {client.tracking_uri}: pass the name or id of an existing experiment, or "
        "create_experiment_if_not_exists=True to create it"
    )


def as_params(config: Mapping[str, Any]) -> dict[str, str]:
    return {key: str(value)[:_MAX_PARAM_LENGTH] for key, value in flatten(config).items()}


def numbers_of(result: Mapping[str, Any]) -> dict[str, float]:
    """The result's values that are numbers (nested ones flattened with "/"), as floats."""
    numbers: dict[str, float] = {}
    for key, value in flatten(result).items():
        if isinstance(value, str):
            continue  # float("1") would pass, but a string is not a metric
        try:
            numbers[key] = float(value)
        except (TypeError, ValueError):
            continue
    return numbers


def log_batch(client: MlflowClient, run_id: str, *, params: Mapping[str, str] | None = None,
               metrics: Mapping[str, float] | None = None, step: int = 0) -> None:
    from mlflow.entities import Metric, Param

    if params:
        items = [Param(key, value) for key, value in params.items()]
        for start in range(0, len(items), _BATCH):
            client.log_batch(run_id, params=items[start:start + _BATCH])
    if metrics:
        now = int(time.time() * 1000)
        entries = [Metric(key, value, now, step) for key, value in metrics.items()]
        for start in range(0, len(entries), _BATCH):
            client.log_batch(run_id, metrics=entries[start:start + _BATCH])


def log_directory(client: MlflowClient, run_id: str, directory: str, under: str | None) -> None:
    """Log a directory's files as artifacts (below `under`), but the engine's own markers."""
    from tuner.storage._filesystem import COMPLETE_MARKER

    for folder, _, files in os.walk(directory):
        relative = os.path.relpath(folder, directory)
        parts = [p for p in (under, None if relative == "." else relative) if p]
        artifact_path = "/".join(parts).replace(os.sep, "/") or None
        for name in sorted(files):
            if name != COMPLETE_MARKER:
                client.log_artifact(run_id, os.path.join(folder, name), artifact_path)
