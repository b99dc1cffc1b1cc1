"""`TimeoutStopper`: the experiment stops after a time budget, on the experiment's clock."""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Mapping
from typing import Any

from tuner._clock import Clock, wake_at
from tuner.exceptions import ConfigError
from tuner.stopper._base import Stopper
from tuner.stopper._values import number


class TimeoutStopper(Stopper):
    """Stops the experiment after ``timeout`` seconds of running it.

    The clock starts when the event loop does (`on_experiment_start`), or at the first call, so
    time spent before the experiment runs does not count. The elapsed time is saved in
    `state_dict`: a restored experiment keeps only the budget that was left.

    Args:
        timeout: Seconds, or a `datetime.timedelta`.
        clock: Monotonic seconds. By default the experiment's clock (real time, or a
            `SimulatedExecutor`'s virtual time; `time.monotonic` outside a Tuner).

    Example:
        >>> now = [0.0]
        >>> stopper = TimeoutStopper(60, clock=lambda: now[0])
        >>> stopper.stop_all()
        False
        >>> now[0] = 61.0
        >>> stopper.stop_all()
        True
    """

    def __init__(
        self,
        timeout: float | datetime.timedelta,
        *,
        clock: Callable[[], float] | None = None,
    ):
        if isinstance(timeout, datetime.timedelta):
            timeout = timeout.total_seconds()
        if number(timeout, "timeout") <= 0:
            raise ConfigError(
                f"timeout must be > 0 seconds (a number or datetime.timedelta), got {timeout!r}"
            )
        self._budget_s = float(timeout)
        self._own_clock = clock is not None
        self._clock: Callable[[], float] = clock if clock is not None else time.monotonic
        self._engine_clock: Clock | None = None
        self._start: float | None = None
        self._elapsed_before = 0.0

    def on_experiment_start(self, clock: Clock) -> None:
        if not self._own_clock:  # a clock passed in explicitly wins
            self._clock, self._engine_clock = clock.monotonic, clock
        # Count from here: in virtual time the loop's first check may come an event later.
        self._elapsed()

    def _elapsed(self) -> float:
        now = self._clock()
        if self._start is None:
            self._start = start = now
            if self._engine_clock is not None:
                # A clock that jumps over idle time (a simulation's) must stop at the timeout.
                wake_at(self._engine_clock, start + self._budget_s - self._elapsed_before,
                        reached=lambda t: self._elapsed_before + t - start >= self._budget_s)
        return self._elapsed_before + now - self._start

    def __call__(self, trial_id: str, result: Mapping[str, Any]) -> bool:
        self._elapsed()
        return False

    def stop_all(self) -> bool:
        return self._elapsed() >= self._budget_s

    def state_dict(self) -> dict[str, Any]:
        elapsed = self._elapsed_before if self._start is None else self._elapsed()
        return {"elapsed_s": elapsed}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self._elapsed_before = float(state.get("elapsed_s", 0.0))
        self._start = None
