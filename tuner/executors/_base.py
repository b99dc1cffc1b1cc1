"""The executor interface: where and how trials run, hidden from the event loop."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any

from tuner._clock import Clock
from tuner._trainable import TrainableKind
from tuner.executors._protocol import Control, Event, TrialSpec


class Executor(abc.ABC):
    """Runs trials and reports their results, ends and failures as events.

    Life cycle, as driven by the event loop:

    1. `setup(trainable, kind, clock, reuse)` once: remember the trainable, start workers.
    2. `check_resources(resources)` before the first trial: raise `ConfigError` if no worker could
       ever run a trial that needs them (instead of leaving trials PENDING forever).
    3. `can_start(resources)` whenever the loop wants to start a trial; then `start_trial(spec)`.
    4. `wait(timeout)` blocks until events arrive (never busy-waits) and returns them. An
       executor with its own `clock` (a simulation) instead moves that clock to the next event.
    5. After a trial's result, `control(trial_id, Control.CONTINUE | PAUSE | STOP)`. A trial
       stays active (holding its worker) until its `EndEvent` or `ErrorEvent`; one that ignores
       STOP/PAUSE longer than the grace period is killed and ended by the executor.
    6. `shutdown()` once: stop what still runs and release workers.
    """

    @abc.abstractmethod
    def setup(self, trainable: Any, kind: TrainableKind, clock: Clock, *, reuse: bool) -> None:
        """Prepare to run trials of `trainable`."""

    def check_resources(self, resources: Mapping[str, float]) -> None:  # noqa: B027 - optional
        """Raise ConfigError if a trial needing `resources` could never be started."""

    @abc.abstractmethod
    def can_start(self, resources: Mapping[str, float]) -> bool:
        """Whether a trial needing `resources` can start now."""

    @abc.abstractmethod
    def start_trial(self, spec: TrialSpec) -> None:
        """Start (or resume) a trial."""

    @abc.abstractmethod
    def control(self, trial_id: str, control: Control) -> None:
        """Answer a trial's last result: continue, pause or stop."""

    @abc.abstractmethod
    def wait(self, timeout: float | None) -> list[Event]:
        """Block up to `timeout` seconds for events; return those that arrived (maybe none)."""

    @abc.abstractmethod
    def is_active(self, trial_id: str) -> bool:
        """Whether the trial still holds a worker (running, or stopping)."""

    @property
    @abc.abstractmethod
    def num_active(self) -> int:
        """How many trials hold a worker."""

    @property
    def clock(self) -> Clock | None:
        """The clock the whole engine must read, for an executor that simulates time; else None.

        The Tuner then runs on it (`SimulatedExecutor`'s virtual clock): results, the time
        budget, stoppers and state saves all see the executor's time.
        """
        return None

    @property
    def runs_remotely(self) -> bool:
        """Whether trials may run on other machines (then storage must be shared)."""
        return False

    def check_storage(self, fs: Any, path: str) -> None:  # noqa: B027 - an optional hook
        """Raise ConfigError if trials could not write to the experiment's storage `path`."""

    @property
    def shares_driver_memory(self) -> bool:
        """Whether trials run inside the driver process (so `memory://` storage works)."""
        return False

    @abc.abstractmethod
    def shutdown(self) -> None:
        """Stop all trials and release all workers."""
