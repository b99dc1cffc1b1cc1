"""Weights & Biases tracking: one W&B run per trial (`WandbLoggerCallback`), or a run opened from
inside a trial (`setup_wandb`). Ray's ``ray.air.integrations.wandb``, under tuner.

`WandbLoggerCallback` runs on the driver. Each trial's run (id = the trial's id, name = its
name, group = the experiment's name, config = its config) is owned by a thread of its own that
takes the trial's results from a queue, so the event loop never waits for W&B: Ray uses a
process (an actor) per trial for the same reason. Several runs live in one process through
``wandb.init(reinit="create_new")``, and wandb-core's service process does the writing and
uploading; ``WANDB_MODE=offline`` writes the runs to disk only (``wandb sync`` uploads them).

`setup_wandb` is for logging yourself from a trainable: it returns the trial's run (log with
``run.log``), which tuner finishes when the trial ends if you do not.

Needs ``pip install 'tuner[wandb]'``; importing this module does not import wandb.

Example:
    >>> callback = WandbLoggerCallback(project="tuning", log_config=True)
    >>> callback.project
    'tuning'
"""

from tuner.integrations.wandb._callback import WandbLoggerCallback
from tuner.integrations.wandb._common import DEFAULT_UPLOAD_TIMEOUT_S
from tuner.integrations.wandb._setup import setup_wandb

__all__ = [
    "DEFAULT_UPLOAD_TIMEOUT_S",
    "WandbLoggerCallback",
    "setup_wandb",
]
