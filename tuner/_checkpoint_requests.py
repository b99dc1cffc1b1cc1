"""Checkpoints a callback asks for (`should_checkpoint`, `trial.checkpoint_now()`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from tuner._trainable import TrainableKind
from tuner.executors._protocol import Control

if TYPE_CHECKING:
    from tuner._trial import Trial
    from tuner.executors._base import Executor

logger = logging.getLogger(__name__)


class CheckpointRequests:
    """Asks a class trainable to save a checkpoint of its latest result; says once, for good,
    when a trial cannot (a function decides itself when it reports a checkpoint)."""

    def __init__(self, kind: TrainableKind, executor: Executor) -> None:
        self.kind = kind
        self.executor = executor
        self._warned = False

    def request(self, trial: Trial) -> None:
        """Make `trial` save a checkpoint of its latest result, before the decision on it."""
        if self.kind is not TrainableKind.CLASS:
            self.cannot(
                trial, "a function trainable checkpoints when it passes checkpoint= to report()"
            )
        elif self.executor.is_active(trial.trial_id):
            self.executor.control(trial.trial_id, Control.CHECKPOINT)

    def cannot(self, trial: Trial, why: str) -> None:
        """Warn (once per experiment) that a requested checkpoint cannot be saved."""
        if not self._warned:
            self._warned = True
            logger.warning(
                "a callback asked trial %s for a checkpoint (should_checkpoint or "
                "checkpoint_now()), which it cannot save: %s; asked again, this is not repeated",
                trial.trial_id, why,
            )
