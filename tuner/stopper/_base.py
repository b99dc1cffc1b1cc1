"""`Stopper`: the interface the event loop asks whether a trial, or the experiment, stops."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tuner._clock import Clock


class Stopper(abc.ABC):
    """Decides when trials and the experiment stop.

    Life cycle: `on_experiment_start` once when the event loop starts, then ``stopper(trial_id,
    result)`` for every result a trial reports (True stops that trial) and `stop_all` after the
    results are processed (True ends the experiment). Subclasses implement `__call__` and
    `stop_all`; stateful ones also override `state_dict` and `load_state_dict` (plain JSON
    data) so a restored experiment resumes where it left off.

    Example:
        >>> class LossBelow(Stopper):
        ...     def __call__(self, trial_id, result):
        ...         return result["loss"] < 0.1
        ...     def stop_all(self):
        ...         return False
        >>> LossBelow()("t0", {"loss": 0.05})
        True
    """

    @abc.abstractmethod
    def __call__(self, trial_id: str, result: Mapping[str, Any]) -> bool:
        """Whether the trial that reported ``result`` should stop."""

    @abc.abstractmethod
    def stop_all(self) -> bool:
        """Whether the whole experiment should stop."""

    def state_dict(self) -> dict[str, Any]:
        """The stopper's progress as plain JSON data."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:  # noqa: B027 (optional hook)
        """Restore progress saved by `state_dict`."""

    def on_experiment_start(self, clock: Clock) -> None:  # noqa: B027 (optional hook)
        """The event loop starts now, on `clock`: the real one, or a `SimulatedExecutor`'s
        virtual one. A stopper that measures time reads this one (the default does nothing)."""
