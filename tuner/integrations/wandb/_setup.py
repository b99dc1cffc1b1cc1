"""`setup_wandb`: a W&B run opened from inside a trial, finished with it."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tuner._session import get_context
from tuner.integrations._trial_end import at_trial_end
from tuner.integrations.wandb._common import (
    INIT_LOCK,
    WANDB_GROUP_ENV_VAR,
    WANDB_PROJECT_ENV_VAR,
    clean,
    import_wandb,
    set_api_key,
)

if TYPE_CHECKING:
    pass


logger = logging.getLogger(__name__)


def setup_wandb(
    config: Mapping[str, Any] | None = None,
    api_key: str | None = None,
    api_key_file: str | None = None,
    rank_zero_only: bool = True,
    **kwargs: Any,
) -> Any:
    """Start a W&B run for this trial and return it: log with ``run.log({...})``.

    Call it inside a trainable. The run's id is the trial's id, its name the trial's name, its
    group the experiment's name and its config `config` (a ``"wandb"`` entry of `config` is
    taken as ``wandb.init`` arguments instead, with ``api_key`` / ``api_key_file``); `kwargs`
    win over all of them. The run is created with ``reinit="create_new"``, so trials running
    at once in one process (``InProcessExecutor``) each log to their own: use the returned
    run, not the global ``wandb.log``. tuner finishes it when the trial ends (exit code 0) if
    you did not (``run.finish()``, or ``with setup_wandb(config) as run:``). With
    ``rank_zero_only`` a data-parallel rank other than 0 gets a disabled run.

    Args:
        config: The trial's config, logged as the run's config.
        api_key: The W&B API key (else WANDB_API_KEY, ``wandb login``'s; none needed offline).
        api_key_file: A file whose first line is the key.
        rank_zero_only: Only rank 0 of a data-parallel group logs.
        **kwargs: Passed to ``wandb.init`` (``project``, ``mode``, ``dir``, ...).

    Returns:
        The ``wandb.Run``.

    Example:
        >>> def train_fn(config):
        ...     run = setup_wandb(config, project="tuning")
        ...     for step in range(3):
        ...         run.log({"loss": 1 / (step + 1)})
    """
    wandb = import_wandb()
    context = get_context()
    if rank_zero_only and context.get_world_rank() not in (None, 0):
        return wandb.init(mode="disabled", reinit="create_new")
    given = dict(config or {})
    wandb_config = dict(given.pop("wandb", None) or {})
    api_key = api_key or wandb_config.pop("api_key", None)
    api_key_file = api_key_file or wandb_config.pop("api_key_file", None)
    set_api_key(api_key_file, api_key, kwargs.get("mode") or wandb_config.get("mode"))
    init: dict[str, Any] = {
        "id": context.get_trial_id(), "name": context.get_trial_name(),
        "group": os.environ.get(WANDB_GROUP_ENV_VAR) or context.get_experiment_name(),
        "project": os.environ.get(WANDB_PROJECT_ENV_VAR),
        "config": clean(given), "reinit": "create_new", "allow_val_change": True,
        "resume": "allow",  # a trial resumed after a pause or a failure goes on in its run
        # Read now: wandb reads them once per process.
        "dir": os.environ.get("WANDB_DIR"), "mode": os.environ.get("WANDB_MODE"),
    }
    init = {key: value for key, value in init.items() if value is not None}
    init.update(wandb_config)
    init.update(kwargs)
    with INIT_LOCK:
        run = wandb.init(**init)
    if context.get_trial_id() is not None:
        at_trial_end(lambda: _finish(run))
    return run


def _finish(run: Any) -> None:
    try:
        run.finish()
    except Exception:
        logger.exception("could not finish W&B run %s at the end of its trial", run.id)
