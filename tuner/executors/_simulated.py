"""An executor that runs trials in virtual time: a cluster of n workers, simulated in-process."""

from __future__ import annotations

import collections
import dataclasses
import enum
import functools
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from tuner._clock import Clock
from tuner._trainable import TrainableKind
from tuner.exceptions import ConfigError, TuneError
from tuner.executors._base import Executor
from tuner.executors._in_process import _own_containers
from tuner.executors._protocol import (
    Control,
    EndEvent,
    EndReason,
    ErrorEvent,
    Event,
    ResultEvent,
    TrialSpec,
)
from tuner.executors._runner import InstancePool, run_class, run_function
from tuner.executors._virtual_time import EventQueue, Scheduled, TrialClock, VirtualClock

logger = logging.getLogger(__name__)

_IDLE_YIELD_S = 0.001
"""Real seconds `wait` gives up when no trial can make virtual time pass (the loop then waits
for real work of its own, e.g. a checkpoint copy), so that it does not spin."""
_KILLED_EXIT_S = 10.0
"""Real seconds a cut-short trial's thread gets to unwind before it is left behind."""


class _State(enum.Enum):
    NEW = "new"  # started; its thread has not run yet
    RUNNING = "running"  # its thread runs, the driver waits for it
    AT_RESULT = "at result"  # parked in report(): its result is queued, not yet delivered
    AT_CONTROL = "at control"  # parked until the driver answers its last result
    DONE = "done"  # its thread ended


class _Killed(BaseException):
    """Raised in a trial's thread when its worker is cut short (it ignored a stop too long)."""


class _SimTrial:
    """One trial holding a simulated worker: its thread, clock, controls and where it waits."""

    def __init__(self, spec: TrialSpec, order: int, worker: int, clock: TrialClock) -> None:
        self.spec = spec
        self.order = order
        self.worker = worker
        self.clock = clock
        self.state = _State.NEW
        self.controls: collections.deque[Control] = collections.deque()
        # Two locks held while the other side runs (raw locks: cheaper than semaphores).
        self.resume = threading.Lock()  # released by the driver: the trial's turn
        self.yielded = threading.Lock()  # released by the trial: it parked, or ended
        self.resume.acquire()
        self.yielded.acquire()
        self.pending: Scheduled | None = None  # its queued, undelivered result
        self.stopping: Control | None = None
        self.stop_deadline: float | None = None
        self.killed = False


class _Channel:
    """A simulated trial's side of the executor: each call that would wait hands the turn back."""

    def __init__(self, trial: _SimTrial, queue: EventQueue) -> None:
        self._trial, self._queue = trial, queue

    def send(self, event: Event) -> None:
        trial = self._trial
        if trial.killed:
            if isinstance(event, EndEvent | ErrorEvent):
                return  # the executor ended it already
            raise _Killed
        item = self._queue.push(trial.clock.now, event)
        if isinstance(event, ResultEvent):
            trial.pending = item
            self._park(_State.AT_RESULT)

    def poll_control(self) -> Control | None:
        self._check_killed()
        latest = None
        while self._trial.controls:
            latest = self._trial.controls.popleft()
        return latest

    def wait_control(self) -> Control:
        self._check_killed()
        if not self._trial.controls:
            self._park(_State.AT_CONTROL)
        return self._trial.controls.popleft()

    def _park(self, state: _State) -> None:
        trial = self._trial
        trial.state = state
        trial.yielded.release()
        trial.resume.acquire()
        self._check_killed()

    def _check_killed(self) -> None:
        if self._trial.killed:
            raise _Killed


def _thread_body(trial: _SimTrial, target: Callable[..., None], args: tuple[Any, ...]) -> None:
    trial.resume.acquire()
    try:
        if not trial.killed:
            target(*args)
    except _Killed:
        pass
    finally:
        trial.state = _State.DONE
        trial.yielded.release()


class SimulatedExecutor(Executor):
    """Runs trials in virtual time, as a cluster of `n_workers` would, without waiting.

    Each trial runs in this process (like `InProcessExecutor`), but no real time counts: every
    result says how many seconds its step took (`result["time_this_iter_s"]`, or the key
    `time_attr` names), and that trial's virtual clock moves by as much. The event loop sees the
    results of all trials in virtual-time order, exactly as a cluster of `n_workers` workers
    would deliver them: a trial started at virtual time t whose steps take 3 s and 5 s reports
    at t+3 and t+8, at most `n_workers` trials hold a worker at once, and `wait()` jumps the
    clock to the next event instead of sleeping. The Tuner runs on this executor's `clock`, so
    `TuneConfig(time_budget_s)`, `TimeoutStopper`, result timestamps and experiment-state saves
    all see virtual time. Thousands of GPU hours replay in seconds: use it to compare schedulers
    and searchers on recorded learning curves (a benchmark's table), or to test an experiment
    setup before it spends GPU hours.

    Runs are deterministic: trial threads take turns (one runs at a time), and events at the
    same virtual time arrive in the order they were made (so trials started first come first).
    With seeded searchers and schedulers, two runs make the same decisions. (One exception: on
    remote or `memory://` storage, PBT copies checkpoints between trials in the background, in
    real time; a local `storage_path` copies them at once.)

    As on a real cluster, a decision reaches a trial at its next `report()` (a function trainable
    that runs ahead of the loop trains one more step before it sees a STOP); one that is
    asked to stop or pause and does not report within `stop_grace_s` virtual seconds is cut
    short then, as `LocalExecutor` kills its worker: its unfinished step is discarded. Errors
    in a trainable fail its trial (an `ErrorEvent`) as with any executor. Resources are not
    simulated: each trial takes one worker.

    Args:
        n_workers: How many trials run at once.
        time_attr: The result key holding the seconds each step took. A result without it
            raises `ConfigError` from `fit()`.
        start_time: The Unix time virtual time starts at (what `timestamp` and the saved state
            show); None for the real time when the executor is made. Fix it for the same
            timestamps in every run.
        stop_grace_s: Virtual seconds a trial asked to stop or pause may take to reach its next
            report before it is cut short; None to always let it finish its step.

    Example:
        >>> from tuner import SimulatedExecutor, TuneConfig, Tuner, report, uniform
        >>> def train_fn(config):
        ...     for epoch in range(10):  # each epoch would take an hour on a GPU
        ...         report({"loss": config["lr"] / (epoch + 1), "time_this_iter_s": 3600.0})
        >>> grid = Tuner(
        ...     train_fn,
        ...     param_space={"lr": uniform(0.001, 0.1)},
        ...     tune_config=TuneConfig(metric="loss", mode="min", num_samples=16,
        ...                            time_budget_s=24 * 3600),
        ...     executor=SimulatedExecutor(n_workers=4),
        ... ).fit()  # doctest: +SKIP
    """

    def __init__(
        self,
        n_workers: int = 8,
        *,
        time_attr: str = "time_this_iter_s",
        start_time: float | None = None,
        stop_grace_s: float | None = 10.0,
    ) -> None:
        if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
            raise ConfigError(f"n_workers must be an int >= 1, got {n_workers!r}")
        if not isinstance(time_attr, str) or not time_attr:
            raise ConfigError(
                f"time_attr must name the result key holding each step's seconds, got "
                f"{time_attr!r}: e.g. SimulatedExecutor(time_attr='time_this_iter_s')"
            )
        if stop_grace_s is not None and not stop_grace_s >= 0:
            raise ConfigError(f"stop_grace_s must be >= 0 seconds or None, got {stop_grace_s!r}")
        self._n_workers = n_workers
        self._time_attr = time_attr
        self._stop_grace_s = stop_grace_s
        # The one real-time read: where virtual time starts, unless the caller fixes it.
        self._clock = VirtualClock(wall_start=time.time() if start_time is None else start_time)
        self._queue = EventQueue()
        self._trials: dict[str, _SimTrial] = {}
        self._runnable: set[str] = set()
        self._stopping: set[str] = set()  # trials with a stop deadline
        self._free = list(range(n_workers))
        self._pools = [InstancePool() for _ in range(n_workers)]
        self._order = itertools.count()
        self._config_error: ConfigError | None = None
        self._trainable: Any = None
        self._kind = TrainableKind.FUNCTION
        self._reuse = True

    @property
    def clock(self) -> VirtualClock:
        """The virtual clock; the Tuner runs on it."""
        return self._clock

    @property
    def n_workers(self) -> int:
        return self._n_workers

    def setup(self, trainable: Any, kind: TrainableKind, clock: Clock, *, reuse: bool) -> None:
        if clock is not self._clock:
            raise ConfigError(
                "SimulatedExecutor runs on its own virtual clock: set it up with "
                "executor.clock (the Tuner does so itself; do not pass Tuner(clock=...))"
            )
        self._trainable, self._kind, self._reuse = trainable, kind, reuse

    def can_start(self, resources: Mapping[str, float]) -> bool:
        return len(self._trials) < self._n_workers

    @property
    def num_active(self) -> int:
        return len(self._trials)

    def is_active(self, trial_id: str) -> bool:
        return trial_id in self._trials

    @property
    def shares_driver_memory(self) -> bool:
        return True

    # ----------------------------------------------------------------- starting and answering
    def start_trial(self, spec: TrialSpec) -> None:
        if not self._free:
            raise TuneError(
                f"start_trial({spec.trial_id!r}) while all {self._n_workers} simulated workers "
                "are busy: ask can_start() first"
            )
        # The trial's own copy of its config, as InProcessExecutor gives it.
        spec = dataclasses.replace(spec, config=_own_containers(spec.config))
        worker = heapq.heappop(self._free)
        clock = TrialClock(
            self._clock.monotonic(),
            wall_offset=self._clock.wall_start,
            time_attr=self._time_attr,
            trial_id=spec.trial_id,
        )
        trial = _SimTrial(spec, next(self._order), worker, clock)
        channel = _Channel(trial, self._queue)
        if self._kind is TrainableKind.FUNCTION:
            target: Callable[..., None] = run_function
            args: tuple[Any, ...] = (spec, self._trainable, channel, clock)
        else:
            # Each worker keeps its last instance, for reuse_actors as on a real cluster.
            target = functools.partial(run_class, reuse=self._reuse)
            args = (spec, self._trainable, channel, clock, self._pools[worker])
        thread = threading.Thread(
            target=_thread_body, args=(trial, target, args), name=f"sim-trial-{spec.trial_id}"
        )
        thread.daemon = True
        thread.start()  # it waits for its first turn, in wait()
        self._trials[spec.trial_id] = trial
        self._runnable.add(spec.trial_id)

    def control(self, trial_id: str, control: Control) -> None:
        trial = self._trials.get(trial_id)
        if trial is None or trial.killed:
            return
        trial.controls.append(control)
        if control.ends_trial and trial.stopping is None:
            trial.stopping = control
            if self._stop_grace_s is not None:
                trial.stop_deadline = self._clock.monotonic() + self._stop_grace_s
                self._stopping.add(trial_id)
        if trial.state is _State.AT_CONTROL:
            self._runnable.add(trial_id)

    # ----------------------------------------------------------------- virtual time
    def wait(self, timeout: float | None) -> list[Event]:
        """The next events in virtual time, after moving the clock to them.

        Trials that got their answer first run (one at a time, in start order) up to their next
        report. Then events already due are returned, or with none and `timeout` 0, nothing.
        Otherwise the clock jumps to the earliest of: the next event, a trial's stop deadline,
        a deadline announced with `clock.wake_at` (the time budget, a `TimeoutStopper`); and the
        events of that instant are returned. The loop's other wake-ups (flushing output, saving
        state, its idle bound) do not stop the jump: they change no decision, and run when the
        loop next turns. `timeout` is thus no bound on the virtual time that passes, and no real
        time passes at all, except a millisecond when no trial can move the clock (nothing
        runs, and the loop waits for work of its own, e.g. copying a checkpoint).

        Raises:
            ConfigError: A trial's result did not say how long its step took.
        """
        self._settle()
        if self._config_error is not None:
            error, self._config_error = self._config_error, None
            raise error
        now = self._clock.monotonic()
        self._cut_short_due(now)
        due = self._queue.pop_until(now)
        if due or timeout == 0:
            return self._deliver(due)
        ahead = [t for t in (self._queue.next_time(), self._next_cut()) if t is not None]
        if not ahead:
            time.sleep(_IDLE_YIELD_S)
            return []
        deadline = self._clock.next_deadline()
        target = min(ahead) if deadline is None else min(min(ahead), deadline)
        self._clock.advance_to(target)
        self._cut_short_due(target)
        return self._deliver(self._queue.pop_until(target))

    def _settle(self) -> None:
        """Run every trial that may go on (started, or answered) until it parks or ends."""
        ready = sorted((self._trials[i] for i in self._runnable), key=lambda t: t.order)
        self._runnable.clear()
        for trial in ready:
            if trial.state is _State.NEW or (trial.state is _State.AT_CONTROL and trial.controls):
                self._run(trial)

    def _run(self, trial: _SimTrial) -> None:
        """Give `trial` the turn until it parks or ends (its thread runs; this one waits)."""
        # A trial that waited for the loop's answer waited in virtual time too.
        trial.clock.now = max(trial.clock.now, self._clock.monotonic())
        trial.state = _State.RUNNING
        if trial.resume.locked():  # else its turn was given already (a Ctrl-C cut this short)
            trial.resume.release()
        if not trial.killed:
            trial.yielded.acquire()
        elif not trial.yielded.acquire(timeout=_KILLED_EXIT_S):
            logger.warning(
                "trial %s did not end when cut short (its trainable catches BaseException?); "
                "leaving its thread behind", trial.spec.trial_id,
            )
        if trial.clock.error is not None and self._config_error is None:
            self._config_error = trial.clock.error

    def _deliver(self, due: list[Scheduled]) -> list[Event]:
        events: list[Event] = []
        for item in due:
            event = item.event
            events.append(event)
            trial = self._trials.get(event.trial_id)
            if trial is None:
                continue
            if isinstance(event, EndEvent | ErrorEvent):
                self._release(trial)
            elif trial.pending is item:
                # The trial now reads the answers sent before this result (a function trainable
                # running ahead polls for them), then trains its next step: the answer to this
                # result reaches it at its next report, as on a real worker.
                trial.pending = None
                self._run(trial)
        return events

    def _next_cut(self) -> float | None:
        cuts = [
            t.stop_deadline
            for t in map(self._trials.__getitem__, self._stopping)
            if self._must_cut(t) and t.stop_deadline is not None
        ]
        return min(cuts, default=None)

    @staticmethod
    def _must_cut(trial: _SimTrial) -> bool:
        """Whether the trial will not reach its next report before its stop deadline."""
        if trial.stop_deadline is None or trial.state is _State.DONE or trial.killed:
            return False
        return trial.pending is None or trial.pending.at > trial.stop_deadline

    def _cut_short_due(self, now: float) -> None:
        if not self._stopping:
            return
        for trial in sorted(map(self._trials.__getitem__, self._stopping), key=lambda t: t.order):
            deadline = trial.stop_deadline
            if self._must_cut(trial) and deadline is not None and deadline <= now:
                self._cut_short(trial, deadline)

    def _cut_short(self, trial: _SimTrial, at: float) -> None:
        """End a trial at its stop deadline, as a killed worker: its unfinished step is lost."""
        logger.info(
            "trial %s did not reach its next report within %g virtual seconds of being asked to "
            "%s; cutting it short", trial.spec.trial_id, self._stop_grace_s,
            "pause" if trial.stopping is Control.PAUSE else "stop",
        )
        self._discard_pending(trial)
        trial.killed = True
        if trial.state is not _State.DONE:
            self._run(trial)
        reason = EndReason.PAUSED if trial.stopping is Control.PAUSE else EndReason.STOPPED
        self._queue.push(at, EndEvent(trial.spec.trial_id, reason))

    def _discard_pending(self, trial: _SimTrial) -> None:
        item, trial.pending = trial.pending, None
        if item is None:
            return
        self._queue.cancel(item)
        checkpoint = item.event.checkpoint if isinstance(item.event, ResultEvent) else None
        if checkpoint is not None:
            # Written by a step that never ended: no result will ever name it.
            from tuner.storage._filesystem import remove_directory

            remove_directory(trial.spec.filesystem, checkpoint.path)

    def _release(self, trial: _SimTrial) -> None:
        del self._trials[trial.spec.trial_id]
        self._runnable.discard(trial.spec.trial_id)
        self._stopping.discard(trial.spec.trial_id)
        heapq.heappush(self._free, trial.worker)

    def shutdown(self) -> None:
        for trial in sorted(self._trials.values(), key=lambda t: t.order):
            if trial.killed:
                continue  # cut short already
            self._discard_pending(trial)
            trial.killed = True
            if trial.state is not _State.DONE:
                self._run(trial)
        self._trials.clear()
        self._runnable.clear()
        self._stopping.clear()
        self._queue.clear()
        self._free = list(range(self._n_workers))
        for pool in self._pools:
            pool.clear()
        self._config_error = None
