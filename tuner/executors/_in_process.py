"""An executor that runs trials on threads of the driver process: cheap, and debugger-friendly."""

from __future__ import annotations

import dataclasses
import functools
import queue
import threading
from collections.abc import Mapping
from typing import Any

from tuner._clock import Clock, SystemClock
from tuner._trainable import TrainableKind
from tuner.exceptions import ConfigError
from tuner.executors._base import Executor
from tuner.executors._event_queue import EventQueue
from tuner.executors._protocol import Control, EndEvent, ErrorEvent, Event, TrialSpec
from tuner.executors._resources import ResourcePool
from tuner.executors._runner import InstancePool, run_class, run_function

_MAX_QUEUED_EVENTS = 1024  # a trial that outruns the event loop blocks instead of filling memory


class _QueueChannel:
    def __init__(self, events: EventQueue) -> None:
        self._events = events
        self.controls: queue.SimpleQueue[Control] = queue.SimpleQueue()

    def send(self, event: Event) -> None:
        self._events.put(event)

    def poll_control(self) -> Control | None:
        if self.controls.empty():  # asked after every result; mostly there is none
            return None
        latest = None
        while True:
            try:
                latest = self.controls.get_nowait()
            except queue.Empty:
                return latest

    def wait_control(self) -> Control:
        return self.controls.get()


class InProcessExecutor(Executor):
    """Runs each trial on a thread of this process.

    For cheap objectives (no process start, no pickling) and for stepping through a trainable
    with a debugger. Trials share the interpreter: a crash or a leak in one affects all, and CPU
    work does not run in parallel. A trial that ignores a stop is abandoned, not killed.

    Args:
        max_concurrent: How many trials run at once (default 1, which also makes runs
            deterministic).
    """

    def __init__(self, *, max_concurrent: int = 1) -> None:
        if max_concurrent < 1:
            raise ConfigError(f"max_concurrent must be >= 1, got {max_concurrent}")
        self._max_concurrent = max_concurrent
        self._events = EventQueue(limit=_MAX_QUEUED_EVENTS)
        self._channels: dict[str, _QueueChannel] = {}
        self._trainable: Any = None
        self._kind = TrainableKind.FUNCTION
        self._reuse = True
        self._clock: Clock = SystemClock()
        self._instances = InstancePool()
        self._gpus = ResourcePool()

    def setup(self, trainable: Any, kind: TrainableKind, clock: Clock, *, reuse: bool) -> None:
        self._trainable, self._kind, self._clock, self._reuse = trainable, kind, clock, reuse

    def check_resources(self, resources: Mapping[str, float]) -> None:
        if resources.get("gpu", 0):
            problem = self._gpus.check({"cpu": 0.0, "gpu": resources["gpu"]})
            if problem is not None:
                raise ConfigError(problem)

    def can_start(self, resources: Mapping[str, float]) -> bool:
        return len(self._channels) < self._max_concurrent

    @property
    def num_active(self) -> int:
        return len(self._channels)

    def is_active(self, trial_id: str) -> bool:
        return trial_id in self._channels

    @property
    def shares_driver_memory(self) -> bool:
        return True

    def start_trial(self, spec: TrialSpec) -> None:
        # The trial's own copy, as a worker process gets by unpickling: a trainable that
        # changes its config (nested dicts included) must not change the trial's record of it.
        spec = dataclasses.replace(spec, config=_own_containers(spec.config))
        channel = _QueueChannel(self._events)
        self._channels[spec.trial_id] = channel
        if self._kind is TrainableKind.FUNCTION:
            target: Any = run_function
            args: tuple[Any, ...] = (spec, self._trainable, channel, self._clock)
        else:
            # Instances are only reused when trials run one after another.
            target = functools.partial(run_class, reuse=self._reuse)
            pool = self._instances if self._max_concurrent == 1 else InstancePool()
            args = (spec, self._trainable, channel, self._clock, pool)
        thread = threading.Thread(target=target, args=args, name=f"trial-{spec.trial_id}")
        thread.daemon = True
        thread.start()

    def control(self, trial_id: str, control: Control) -> None:
        channel = self._channels.get(trial_id)
        if channel is not None:
            channel.controls.put(control)

    def wait(self, timeout: float | None) -> list[Event]:
        """Events the trial threads sent, blocking up to `timeout` real seconds for the first.

        Trials run on real threads, so their events come in real time whatever the clock. On a
        clock other than the real one (a `FakeClock`), `timeout` is in that clock's seconds,
        which do not pass while this blocks: it still returns as soon as an event arrives, and
        returns at once when no trial runs (no event can come); otherwise it may block up to
        `timeout` real seconds. For runs that must not wait at all, use `SimulatedExecutor`.
        """
        if (
            not self._channels
            and self._events.empty()
            and not isinstance(self._clock, SystemClock)
        ):
            return []
        events = self._events.take(timeout)
        for event in events:
            if isinstance(event, EndEvent | ErrorEvent):
                self._channels.pop(event.trial_id, None)
        return events

    def shutdown(self) -> None:
        for channel in self._channels.values():
            channel.controls.put(Control.STOP)
        self._channels.clear()
        self._instances.clear()


def _own_containers(value: Any) -> Any:
    """`value` with its dicts, lists and tuples copied (at every depth), other objects shared.

    Unlike `copy.deepcopy`, this works for configs that hold what cannot be copied (open files,
    locks: what this executor exists to run).
    """
    if isinstance(value, Mapping):
        return {key: _own_containers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_own_containers(item) for item in value]
    if type(value) is tuple:
        return tuple(_own_containers(item) for item in value)
    return value
