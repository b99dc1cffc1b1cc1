"""The trial life cycle: one table from (status, event) to (new status, effects), and its applier.

Every status change of a trial goes through `LifeCycle.apply`, which checks the table, moves the
trial and then runs the effects of that move in one fixed order: the executor first (stop or
pause what runs), then the scheduler, the searcher, and last the callbacks. The legal moves of
`Trial.transition` are derived from the same table (`TRANSITIONS`), so the two cannot disagree.

    status      event      new status   effects
    PENDING     START      RUNNING      callbacks: on_trial_start
    PAUSED      START      RUNNING      callbacks: on_trial_start
    RUNNING     PAUSE      PAUSED       executor: pause; callbacks: on_trial_pause
    RUNNING     INTERRUPT  PAUSED       executor: pause; scheduler: on_trial_status (the experiment
                                        ends; restore resumes it)
    RUNNING     COMPLETE   TERMINATED   executor: stop; scheduler: on_trial_complete;
                                        searcher: on_trial_complete; callbacks: on_trial_complete
    RUNNING,    REMOVE     TERMINATED   executor: stop; scheduler: on_trial_remove;
    PAUSED,                             searcher: on_trial_complete; callbacks: on_trial_complete
    PENDING
    RUNNING,    RETRY      PENDING      scheduler: on_trial_status; callbacks: on_trial_recover
    PAUSED
    RUNNING,    FAIL       ERROR        scheduler: on_trial_error; searcher: on_trial_complete
    PAUSED                              (error=True); callbacks: on_trial_error
    PENDING,    ABANDON    TERMINATED   callbacks: on_trial_complete (the experiment ended first)
    PAUSED
    RUNNING,    RESUME     PENDING      none (restore: a trial that ran, or failed, runs again)
    ERROR
    RUNNING,    DROP       TERMINATED   none (restore with resume_unfinished=False)
    PENDING,
    PAUSED
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from schedulers import TrialStatus
from tuner.executors._protocol import Control

if TYPE_CHECKING:
    from schedulers import TrialScheduler
    from searchers import Searcher
    from tuner._callback_hooks import CallbackHooks
    from tuner._clock import Clock
    from tuner._trial import Trial
    from tuner.exceptions import TrialError
    from tuner.executors._base import Executor

PENDING, RUNNING, PAUSED = TrialStatus.PENDING, TrialStatus.RUNNING, TrialStatus.PAUSED
TERMINATED, ERROR = TrialStatus.TERMINATED, TrialStatus.ERROR


class TrialEvent(enum.Enum):
    """What happens to a trial (see the module's table)."""

    START = "start"
    """The loop starts or resumes it on a worker."""
    PAUSE = "pause"
    """The scheduler paused it; it resumes from its latest checkpoint."""
    INTERRUPT = "interrupt"
    """The experiment is interrupted (Ctrl-C, a lost lock) while it runs."""
    COMPLETE = "complete"
    """It ended: its trainable returned, it reported done, a stop criterion or the experiment's
    end stopped it."""
    REMOVE = "remove"
    """The scheduler stopped it (early stopping, a lost halving)."""
    RETRY = "retry"
    """It failed with retries left: it runs again from its latest checkpoint."""
    FAIL = "fail"
    """It failed for good."""
    ABANDON = "abandon"
    """The experiment ended before it ran (again)."""
    RESUME = "resume"
    """Restore: a trial that was running (or failed, when asked) waits to run again."""
    DROP = "drop"
    """Restore with ``resume_unfinished=False``: an unfinished trial is ended as it stands."""


class Effect(enum.Enum):
    """A notification or action that follows a move, in the order `LifeCycle.apply` runs them."""

    EXECUTOR_PAUSE = "executor.pause"
    EXECUTOR_STOP = "executor.stop"
    SCHEDULER_STATUS = "scheduler.on_trial_status"
    SCHEDULER_COMPLETE = "scheduler.on_trial_complete"
    SCHEDULER_REMOVE = "scheduler.on_trial_remove"
    SCHEDULER_ERROR = "scheduler.on_trial_error"
    SEARCHER_COMPLETE = "searcher.on_trial_complete"
    SEARCHER_ERROR = "searcher.on_trial_complete(error=True)"
    CALLBACK_START = "callbacks.on_trial_start"
    CALLBACK_PAUSE = "callbacks.on_trial_pause"
    CALLBACK_COMPLETE = "callbacks.on_trial_complete"
    CALLBACK_RECOVER = "callbacks.on_trial_recover"
    CALLBACK_ERROR = "callbacks.on_trial_error"


EFFECT_ORDER: tuple[Effect, ...] = tuple(Effect)
"""Executor, then scheduler, then searcher, then callbacks: the order of the enum."""

_E = Effect
_ENDED = (_E.SEARCHER_COMPLETE, _E.CALLBACK_COMPLETE)

TABLE: Mapping[tuple[TrialStatus, TrialEvent], tuple[TrialStatus, tuple[Effect, ...]]] = {
    (PENDING, TrialEvent.START): (RUNNING, (_E.CALLBACK_START,)),
    (PAUSED, TrialEvent.START): (RUNNING, (_E.CALLBACK_START,)),
    (RUNNING, TrialEvent.PAUSE): (PAUSED, (_E.EXECUTOR_PAUSE, _E.CALLBACK_PAUSE)),
    (RUNNING, TrialEvent.INTERRUPT): (PAUSED, (_E.EXECUTOR_PAUSE, _E.SCHEDULER_STATUS)),
    (RUNNING, TrialEvent.COMPLETE): (
        TERMINATED, (_E.EXECUTOR_STOP, _E.SCHEDULER_COMPLETE, *_ENDED)
    ),
    **{
        (status, TrialEvent.REMOVE): (
            TERMINATED, (_E.EXECUTOR_STOP, _E.SCHEDULER_REMOVE, *_ENDED)
        )
        for status in (RUNNING, PAUSED, PENDING)
    },
    **{
        (status, TrialEvent.RETRY): (PENDING, (_E.SCHEDULER_STATUS, _E.CALLBACK_RECOVER))
        for status in (RUNNING, PAUSED)
    },
    **{
        (status, TrialEvent.FAIL): (
            ERROR, (_E.SCHEDULER_ERROR, _E.SEARCHER_ERROR, _E.CALLBACK_ERROR)
        )
        for status in (RUNNING, PAUSED)
    },
    **{
        (status, TrialEvent.ABANDON): (TERMINATED, (_E.CALLBACK_COMPLETE,))
        for status in (PENDING, PAUSED)
    },
    **{(status, TrialEvent.RESUME): (PENDING, ()) for status in (RUNNING, ERROR)},
    **{(status, TrialEvent.DROP): (TERMINATED, ()) for status in (RUNNING, PENDING, PAUSED)},
}
"""The life cycle: every legal move, and what follows it."""


def _transitions() -> dict[TrialStatus, frozenset[TrialStatus]]:
    moves: dict[TrialStatus, set[TrialStatus]] = {status: set() for status in TrialStatus}
    for (status, _event), (new, _effects) in TABLE.items():
        moves[status].add(new)
    return {status: frozenset(new) for status, new in moves.items()}


TRANSITIONS: Mapping[TrialStatus, frozenset[TrialStatus]] = _transitions()
"""Every legal status change (derived from `TABLE`); `Trial.transition` raises on any other."""


class StopReason(enum.Enum):
    """Why the experiment ended before every trial did."""

    INTERRUPTED = "interrupted"
    """Ctrl-C or a lost lock: running trials were paused, and a restore resumes them."""
    TIME_BUDGET = "time budget"
    """`TuneConfig(time_budget_s)` ran out."""
    STOPPER = "stopper"
    """A `Stopper`'s `stop_all()` said so."""
    FAIL_FAST = "fail_fast"
    """A trial failed with `FailureConfig(fail_fast=...)`."""


class IllegalEvent(RuntimeError):
    """An event the life cycle has no move for in the trial's status (a bug in the loop)."""


class LifeCycle:
    """Applies `TABLE`: moves a trial and runs the effects of the move in `EFFECT_ORDER`.

    Args:
        executor, scheduler, searcher, hooks, clock: What the effects act on.
    """

    def __init__(
        self,
        *,
        executor: Executor,
        scheduler: TrialScheduler,
        searcher: Searcher,
        hooks: CallbackHooks,
        clock: Clock,
    ) -> None:
        self.executor = executor
        self.scheduler = scheduler
        self.searcher = searcher
        self.hooks = hooks
        self.clock = clock

    @staticmethod
    def move(status: TrialStatus, event: TrialEvent) -> tuple[TrialStatus, tuple[Effect, ...]]:
        """The new status and effects of `event` in `status`, or `IllegalEvent`."""
        try:
            return TABLE[(status, event)]
        except KeyError:
            allowed = sorted(e.value for (s, e) in TABLE if s is status)
            raise IllegalEvent(
                f"a {status.value} trial has no move for {event.value!r} (allowed: "
                f"{allowed or 'none, it is final'}): a bug in the event loop"
            ) from None

    def apply(
        self,
        trial: Trial,
        event: TrialEvent,
        *,
        error: TrialError | None = None,
        restored: bool = False,
    ) -> None:
        """Move `trial` on `event` and run the move's effects.

        Args:
            error: The failure, for RETRY and FAIL.
            restored: For START: whether it resumes from a checkpoint (`on_trial_restore`).
        """
        new, effects = self.move(trial.status, event)
        trial.transition(new, self.clock.time())
        for effect in effects:
            self._run(effect, trial, error, restored)

    def _run(
        self,
        effect: Effect,
        trial: Trial,
        error: TrialError | None,
        restored: bool,
    ) -> None:
        """Run one effect."""
        trial_id = trial.trial_id
        if effect is Effect.EXECUTOR_PAUSE or effect is Effect.EXECUTOR_STOP:
            if self.executor.is_active(trial_id):
                control = Control.PAUSE if effect is Effect.EXECUTOR_PAUSE else Control.STOP
                self.executor.control(trial_id, control)
        elif effect is Effect.SCHEDULER_STATUS:
            self.scheduler.on_trial_status(trial.view())
        elif effect is Effect.SCHEDULER_COMPLETE:
            self.scheduler.on_trial_complete(trial.view(), trial.last_result)
        elif effect is Effect.SCHEDULER_REMOVE:
            self.scheduler.on_trial_remove(trial.view())
        elif effect is Effect.SCHEDULER_ERROR:
            self.scheduler.on_trial_error(trial.view())
        elif effect is Effect.SEARCHER_COMPLETE:
            self.searcher.on_trial_complete(trial_id, trial.last_result or None)
        elif effect is Effect.SEARCHER_ERROR:
            self.searcher.on_trial_complete(trial_id, trial.last_result or None, error=True)
        else:
            self._callback(effect, trial_id, error, restored)

    def _callback(
        self, effect: Effect, trial_id: str, error: TrialError | None, restored: bool
    ) -> None:
        hooks = self.hooks
        if effect is Effect.CALLBACK_START:
            hooks.started(trial_id, restored=restored)
        elif effect is Effect.CALLBACK_PAUSE:
            hooks.paused(trial_id)
        elif effect is Effect.CALLBACK_COMPLETE:
            hooks.completed(trial_id)
        elif error is None:
            raise ValueError(f"{effect.value} needs the trial's error (a bug in the event loop)")
        elif effect is Effect.CALLBACK_RECOVER:
            hooks.recovering(trial_id, error)
        else:
            hooks.errored(trial_id, error)


def move_restored(trial: Trial, event: TrialEvent, now: float) -> None:
    """Move a trial read from a saved state (RESUME or DROP: moves without effects, made
    before any loop, scheduler or callback exists)."""
    new, effects = LifeCycle.move(trial.status, event)
    if effects:
        raise IllegalEvent(f"{event.value!r} has effects {effects}: it needs a running loop")
    trial.transition(new, now)


def describe_table() -> list[dict[str, Any]]:
    """The table as rows of plain data (for docs/architecture.md and its test)."""
    return [
        {
            "status": status.value,
            "event": event.value,
            "new_status": new.value,
            "effects": [effect.value for effect in effects],
        }
        for (status, event), (new, effects) in TABLE.items()
    ]
