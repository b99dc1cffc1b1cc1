"""`CombinedStopper`: several stoppers as one; any of them stops."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tuner.exceptions import ConfigError
from tuner.stopper._base import Stopper

if TYPE_CHECKING:
    from tuner._clock import Clock


class CombinedStopper(Stopper):
    """Stops when any of its stoppers says so; every stopper sees every result.

    Example:
        >>> from tuner.stopper import DictStopper, MaximumIterationStopper
        >>> stopper = CombinedStopper(MaximumIterationStopper(2), DictStopper({"loss": 9}))
        >>> [stopper("t0", {"loss": 1}) for _ in range(2)]
        [False, True]
    """

    def __init__(self, *stoppers: Stopper):
        for stopper in stoppers:
            if not isinstance(stopper, Stopper):
                raise ConfigError(
                    f"CombinedStopper takes Stopper instances, got {type(stopper).__name__} "
                    f"{stopper!r}: wrap callables with FunctionStopper"
                )
        self._stoppers = list(stoppers)

    @property
    def stoppers(self) -> tuple[Stopper, ...]:
        """The combined stoppers, in the order they see each result."""
        return tuple(self._stoppers)

    def __call__(self, trial_id: str, result: Mapping[str, Any]) -> bool:
        # No short-circuit: stateful stoppers must count every result.
        decisions = [stopper(trial_id, result) for stopper in self._stoppers]
        return any(decisions)

    def stop_all(self) -> bool:
        return any([stopper.stop_all() for stopper in self._stoppers])

    def on_experiment_start(self, clock: Clock) -> None:
        for stopper in self._stoppers:
            stopper.on_experiment_start(clock)

    def state_dict(self) -> dict[str, Any]:
        return {"stoppers": [stopper.state_dict() for stopper in self._stoppers]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        states = state.get("stoppers", [])
        if len(states) != len(self._stoppers):
            raise ConfigError(
                f"a CombinedStopper's saved state must match its stoppers, got {len(states)} "
                f"states for {len(self._stoppers)} stoppers: restore with the same stoppers"
            )
        for stopper, sub_state in zip(self._stoppers, states, strict=True):
            stopper.load_state_dict(sub_state)
