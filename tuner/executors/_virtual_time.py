"""Virtual time for `SimulatedExecutor`: the run's clock, each trial's clock, and the event queue.

Nothing here sleeps or reads the real clock. The run's `VirtualClock` moves only when the
executor jumps to the next event; a `TrialClock` moves only by the seconds a trial's results say
their steps took; the `EventQueue` orders the events those steps produce by virtual time.
"""

from __future__ import annotations

import heapq
import itertools
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tuner.exceptions import ConfigError
from tuner.executors._protocol import Event


class VirtualClock:
    """The clock of a simulated run: it moves only when `SimulatedExecutor.wait` jumps ahead.

    `monotonic()` starts at 0; `time()` is `wall_start` plus the same seconds. Deadlines that no
    trial event marks (`TuneConfig(time_budget_s)`, `TimeoutStopper`) are announced with
    `wake_at`, so that a jump stops there and the event loop acts at that very time.

    Example:
        >>> clock = VirtualClock(wall_start=1_700_000_000.0)
        >>> clock.wake_at(30.0)
        >>> clock.next_deadline()
        30.0
        >>> clock.advance_to(30.0)
        >>> clock.time()
        1700000030.0
    """

    def __init__(self, *, wall_start: float) -> None:
        self._now = 0.0
        self._wall_start = wall_start
        self._deadlines: list[float] = []

    @property
    def wall_start(self) -> float:
        """The Unix time at virtual time 0."""
        return self._wall_start

    def monotonic(self) -> float:
        return self._now

    def time(self) -> float:
        return self._wall_start + self._now

    def wake_at(self, at: float) -> None:
        if at > self._now:
            heapq.heappush(self._deadlines, at)

    def next_deadline(self) -> float | None:
        """The earliest announced deadline still ahead, or None."""
        while self._deadlines and self._deadlines[0] <= self._now:
            heapq.heappop(self._deadlines)
        return self._deadlines[0] if self._deadlines else None

    def advance_to(self, at: float) -> None:
        if at < self._now:
            raise ValueError(f"virtual time cannot go back: at={at} < now={self._now}")
        self._now = at


class TrialClock:
    """One simulated trial's clock (a `StepClock`): each result moves it by the seconds it names.

    Args:
        now: The virtual time the trial starts (or resumes) at.
        wall_offset: Added to `monotonic()` for `time()` (the run's `wall_start`).
        time_attr: The result key that holds a step's seconds.
        trial_id: For error messages.
    """

    def __init__(self, now: float, *, wall_offset: float, time_attr: str, trial_id: str) -> None:
        self.now = now
        self._wall_offset = wall_offset
        self._time_attr = time_attr
        self._trial_id = trial_id
        self.error: ConfigError | None = None
        """The first result that named no time: the executor raises it in the driver."""

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self._wall_offset + self.now

    def take_step(self, metrics: Mapping[str, Any]) -> None:
        try:
            self.now += step_seconds(metrics, self._time_attr, self._trial_id)
        except ConfigError as exc:
            if self.error is None:
                self.error = exc
            raise


def step_seconds(metrics: Mapping[str, Any], time_attr: str, trial_id: str) -> float:
    """The seconds a result says its step took, from `metrics[time_attr]`.

    Raises:
        ConfigError: The key is missing, or its value is not a finite number >= 0.
    """
    if time_attr not in metrics:
        shown = sorted(str(key) for key in metrics)
        raise ConfigError(
            f"SimulatedExecutor moves each trial's virtual clock by the seconds its results say "
            f"their steps took, but trial {trial_id} reported {shown} without {time_attr!r}: "
            f"report it with every result (report({{..., {time_attr!r}: 3.0}}), or return it "
            f"from step()), or name the key that holds the seconds with "
            f"SimulatedExecutor(time_attr=...)"
        )
    value = metrics[time_attr]
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ConfigError(
            f"result[{time_attr!r}] must be the seconds the step took, a finite number >= 0, but "
            f"trial {trial_id} reported {value!r}: report the step's duration in seconds"
        )
    return float(value)


@dataclass(frozen=True, order=True)
class Scheduled:
    """An event and the virtual time it happens at; `seq` breaks ties in creation order."""

    at: float
    seq: int
    event: Event = field(compare=False)


class EventQueue:
    """Events ordered by virtual time, then by the order they were made (deterministic ties)."""

    def __init__(self) -> None:
        self._heap: list[Scheduled] = []
        self._seq = itertools.count()
        self._cancelled: set[int] = set()

    def push(self, at: float, event: Event) -> Scheduled:
        item = Scheduled(at, next(self._seq), event)
        heapq.heappush(self._heap, item)
        return item

    def cancel(self, item: Scheduled) -> None:
        """Drop an event that will not happen (its trial was cut short first)."""
        self._cancelled.add(item.seq)

    def next_time(self) -> float | None:
        self._skip_cancelled()
        return self._heap[0].at if self._heap else None

    def pop_until(self, at: float) -> list[Scheduled]:
        """The events at virtual time `at` or before, in order, taken off the queue."""
        due: list[Scheduled] = []
        while True:
            self._skip_cancelled()
            if not self._heap or self._heap[0].at > at:
                return due
            due.append(heapq.heappop(self._heap))

    def clear(self) -> None:
        self._heap.clear()
        self._cancelled.clear()

    def _skip_cancelled(self) -> None:
        while self._heap and self._heap[0].seq in self._cancelled:
            self._cancelled.discard(heapq.heappop(self._heap).seq)
