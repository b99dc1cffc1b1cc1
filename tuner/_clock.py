"""Clocks: the real one, a fake one that tests advance by hand, and the hooks of virtual time."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable


class Clock(Protocol):
    """Where the engine reads time. `monotonic()` measures intervals; `time()` stamps results."""

    def monotonic(self) -> float: ...

    def time(self) -> float: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()


class FakeClock:
    """A clock that moves only when told, so timed behaviour is tested without sleeping.

    Example:
        >>> clock = FakeClock()
        >>> clock.advance(5.0)
        >>> clock.monotonic()
        5.0
    """

    def __init__(self, start: float = 0.0, *, wall_start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._wall_offset = wall_start - start

    def monotonic(self) -> float:
        return self._now

    def time(self) -> float:
        return self._now + self._wall_offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"a clock cannot go back: advance() got seconds={seconds}")
        self._now += seconds


@runtime_checkable
class WakeableClock(Clock, Protocol):
    """A clock that jumps over idle time (`SimulatedExecutor`'s virtual clock).

    Such a clock moves from one trial event to the next, so a deadline that is no event (the
    time budget, a `TimeoutStopper`) must be announced with `wake_at`, or it would be jumped over.
    """

    def wake_at(self, at: float) -> None:
        """Stop at monotonic time `at` on the way to a later event, so that the loop wakes then."""
        ...


def wake_at(
    clock: Clock, at: float, *, reached: Callable[[float], bool] | None = None
) -> None:
    """Make sure the event loop wakes at monotonic time `at` of `clock`.

    A no-op for clocks that run by themselves (the real one, a `FakeClock`): the loop's own
    timeout wakes it then.

    Args:
        clock: The engine's clock.
        at: The deadline, in `clock.monotonic()` seconds.
        reached: Whether the deadline is met at a time, when `at` is a floating-point sum that
            may fall an ulp short of it: `at` then moves up to the first time that meets it.
    """
    if not isinstance(clock, WakeableClock):
        return
    if reached is not None:
        for _ in range(64):
            if reached(at):
                break
            at = math.nextafter(at, math.inf)
    clock.wake_at(at)


def wake_after(clock: Clock, started: float, seconds: float) -> None:
    """Make sure the event loop wakes once `clock.monotonic() - started >= seconds`."""
    wake_at(clock, started + seconds, reached=lambda t: t - started >= seconds)


class ClockedTask:
    """A periodic task of the event loop (`due_in(now)`, `run(now)`) kept to a clock of its own.

    The loop hands its tasks its own time; this hands `task` `clock.monotonic()` instead: for
    what the world outside a simulated run paces (the lock's heartbeat, flushing output files).
    """

    def __init__(self, task: Any, clock: Clock) -> None:
        self._task, self._clock = task, clock

    def due_in(self, now: float) -> float:
        return float(self._task.due_in(self._clock.monotonic()))

    def run(self, now: float) -> None:
        self._task.run(self._clock.monotonic())


@runtime_checkable
class StepClock(Clock, Protocol):
    """A trial's clock that its results move (`SimulatedExecutor`'s): no real time is measured.

    `report()` (and a class trainable's step) calls `take_step(metrics)` before it fills in
    `time_this_iter_s`, `time_total_s` and `timestamp`, which are then read from this clock.
    """

    def take_step(self, metrics: Mapping[str, Any]) -> None:
        """Advance by the seconds `metrics` says its step took (ConfigError if it does not say)."""
        ...
