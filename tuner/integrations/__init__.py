"""Integrations with the libraries people train and track with, one module each, each an
optional extra: `tuner.integrations.lightning`, `.xgboost`, `.lightgbm`, `.sklearn`, `.mlflow`,
`.wandb`. Importing this package imports none of those libraries.

Ray's module names work too: `ray.tune.integration.xgboost` is `tuner.integration.xgboost`,
`ray.air.integrations.mlflow` is `tuner.integrations.mlflow` (see docs/migrating.md).
"""
