"""MLflow tracking: one MLflow run per trial (`MLflowLoggerCallback`), or a run opened from
inside a trial (`setup_mlflow`). Ray's ``ray.air.integrations.mlflow``, under tuner.

`MLflowLoggerCallback` runs on the driver: each trial gets a run named after it (tagged
``trial_name`` and ``trial_id``) with the trial's flattened config as params, every result's
numbers as metrics at ``step = training_iteration`` (``timesteps_total`` when reported), and at
the end status FINISHED or FAILED; with ``save_artifact=True`` the trial's directory (result
files and, on local storage, its checkpoints) and its latest checkpoint become the run's
artifacts. `setup_mlflow` is for logging yourself from a trainable: it returns the ``mlflow``
module with an active run for the trial, which tuner ends when the trial ends if you do not.

Needs the MLflow client (``pip install 'tuner[mlflow]'``); importing this module does not
import it. Tracking stores: a server (``http://...``), ``sqlite:///path.db`` (needs SQLAlchemy
and alembic), or, as MLflow 3 allows only with ``MLFLOW_ALLOW_FILE_STORE=true``, a directory.

Example:
    >>> callback = MLflowLoggerCallback("sqlite:///mlflow.db", experiment_name="tuning")
    >>> callback.experiment_name
    'tuning'
"""

from tuner.integrations.mlflow._callback import MLflowLoggerCallback
from tuner.integrations.mlflow._setup import setup_mlflow

__all__ = ["MLflowLoggerCallback", "setup_mlflow"]
