"""Ray Tune's ``ray.tune.integration.pytorch_lightning``: the callbacks of
`tuner.integrations.lightning` under Ray's module name.

Example:
    >>> from tuner.integration.pytorch_lightning import TuneReportCheckpointCallback
    >>> TuneReportCheckpointCallback(metrics={"loss": "val_loss"}).filename
    'checkpoint'
"""

from tuner.integrations.lightning import (
    TuneCallback,
    TuneReportCallback,
    TuneReportCheckpointCallback,
    checkpoint_path,
)

__all__ = [
    "TuneCallback",
    "TuneReportCallback",
    "TuneReportCheckpointCallback",
    "checkpoint_path",
]
