"""The event loop: creates trials, starts them, and acts on what schedulers and stoppers decide."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Sequence
from typing import Any

from schedulers import Decision, SuggestionKind, TrialScheduler, TrialSuggestion
from searchers import Searcher
from tuner._callback import Callback
from tuner._callback_hooks import CallbackHooks
from tuner._candidates import Candidates
from tuner._checkpoint_requests import CheckpointRequests
from tuner._clock import Clock, wake_after
from tuner._component_errors import component_error
from tuner._exploits import ExploitBook
from tuner._lifecycle import LifeCycle, StopReason, TrialEvent
from tuner._metric_check import MetricCheck
from tuner._settings import ExperimentSettings
from tuner._trainable import TrainableKind
from tuner._trial import (
    ERROR,
    PAUSED,
    PENDING,
    RUNNING,
    TERMINATED,
    Trial,
    TrialTable,
)
from tuner._trial_factory import TrialFactory
from tuner._trial_infos import TrialInfos
from tuner._trial_start import rewind_outputs, start_spec
from tuner.exceptions import TrialError
from tuner.executors._base import Executor
from tuner.executors._protocol import (
    CheckpointEvent,
    CheckpointRef,
    Control,
    EndEvent,
    EndReason,
    Event,
    ResultEvent,
)
from tuner.experiment._trial import ExperimentFacts
from tuner.experiment._views import TrialViews
from tuner.output._experiment_files import append_error
from tuner.output._policy_log import PolicyLog
from tuner.output._progress import BestTracker, StatusReporter
from tuner.stopper import Stopper
from tuner.storage._checkpoint_book import CheckpointBook

logger = logging.getLogger(__name__)

_COPY_POLL_S = 0.05  # how often to look whether a background checkpoint copy finished
_IDLE_WAIT_S = 1.0  # longest wait for events when nothing else is due (a bound, not a poll rate)


class TuneController:
    """Drives trials through their life cycle until the experiment ends.

    One thread, no busy-waiting: each turn it creates and starts trials while there is room,
    blocks in `executor.wait()` until events arrive or a periodic task is due, then hands each
    result to the stopper and scheduler and acts on their decisions.
    """

    def __init__(
        self,
        settings: ExperimentSettings,
        *,
        executor: Executor,
        searcher: Searcher,
        scheduler: TrialScheduler,
        stopper: Stopper | None,
        callbacks: Sequence[Callback],
        clock: Clock,
        reporter: StatusReporter,
        experiment_id: str,
        trials: TrialTable | None = None,
        elapsed_before: float = 0.0,
        searcher_finished: bool = False,
        restored: bool = False,
        policy_records: int = 0,
    ) -> None:
        self.settings = settings
        self.executor = executor
        self.searcher = searcher
        self.scheduler = scheduler
        self.stopper = stopper
        from tuner.output._loggers import calling_order  # the loggers' modules load on first use

        self.callbacks = calling_order(callbacks)
        self.clock = clock
        self.reporter = reporter
        self.trials = trials if trials is not None else TrialTable()
        self.best = BestTracker(settings.metric, settings.mode, settings.ranking)
        self._experiment_id = experiment_id
        self._running = False
        self._stop_reason: StopReason | None = None
        self._started_at = clock.monotonic() - elapsed_before
        self._check_metric = MetricCheck(settings.ranked_metrics)
        self.checkpoints = CheckpointBook(
            settings.filesystem, settings.checkpoint_config, self.trials,
            copy_in_background=executor.clock is None,  # no real-time races in a simulation
        )
        self.policy = PolicyLog(settings.local_path, policy_records)
        self.exploits = ExploitBook(
            self.trials, self.checkpoints, self.policy, clock, type(scheduler).__name__
        )
        self.info = TrialInfos(self.local_dir)
        self.views = TrialViews(
            ExperimentFacts(settings.trainable_name, settings.local_path, settings.filesystem)
        )
        self.factory = TrialFactory(
            settings, experiment_id=experiment_id, searcher=searcher, scheduler=scheduler,
            executor=executor, trials=self.trials, views=self.views, clock=clock,
            restored=restored, searcher_finished=searcher_finished,
        )
        self.hooks = CallbackHooks(
            self.callbacks, views=self.views, info_of=lambda view: self.info(view._trial),
            local_path=settings.local_path, filesystem=settings.filesystem,
        )
        self.life = LifeCycle(
            executor=executor, scheduler=scheduler, searcher=searcher, hooks=self.hooks,
            clock=clock,
        )
        self.checkpoint_requests = CheckpointRequests(settings.kind, executor)
        # Trials wait for the decision on each result when a decision may pause them at that
        # very result (class trainables always do); otherwise functions run ahead.
        self._synchronous = settings.kind is TrainableKind.CLASS or scheduler.pauses_trials
        self.periodic: list[Any] = []
        """Objects with `due_in(now) -> seconds` and `run(now)`, e.g. the experiment saver."""

    # ----------------------------------------------------------------- the loop
    def elapsed(self) -> float:
        return self.clock.monotonic() - self._started_at

    def run(self) -> None:
        """Run until every trial ended, a stop criterion or the budget ends it, or an error."""
        self.hooks.setup(
            stop=self.stopper,
            num_samples=self.settings.num_samples,
            total_num_samples=self.reporter.total_trials,
            time_budget_s=self.settings.time_budget_s,
            clock=self.clock,
        )
        self.executor.check_resources(self.settings.resources)
        budget = self.settings.time_budget_s
        if budget is not None:  # a virtual clock must not jump over the deadline
            wake_after(self.clock, self._started_at, budget)
        if self.stopper is not None:
            self.stopper.on_experiment_start(self.clock)
        self._running = True
        try:
            # Tasks due at once run before any trial starts: the first state save among them,
            # so that even a crash before the first result leaves an experiment to restore.
            self._run_periodic()
            while self._stop_reason is None:
                self.hooks.step_begin()
                self._fill_slots()
                finished = self._is_finished()
                if not finished:
                    events = self.executor.wait(self._wait_timeout())
                    for event in events:
                        self._handle(event)
                        self._check_experiment_stop()
                        if self._stop_reason is not None:
                            break
                    self._run_periodic()
                    self._check_experiment_stop()
                self.hooks.step_end()
                if finished:
                    break
        except KeyboardInterrupt:
            # A second Ctrl-C: leave at once; the state saved last stays valid. The callbacks
            # still close their files (the loggers'), so that nothing is left open.
            self.executor.shutdown()
            self.checkpoints.close()
            with contextlib.suppress(Exception):
                self.hooks.experiment_end()
            raise
        except BaseException as exc:
            # An error in the loop itself: pause what runs, so that a restore resumes it.
            self._wind_down(pause=True)
            wrapped = component_error(exc, scheduler=self.scheduler, searcher=self.searcher)
            if wrapped is not None:
                raise wrapped from exc
            raise
        self._wind_down(pause=self._stop_reason is StopReason.INTERRUPTED)
        self._running = False
        self.reporter.final(self.elapsed(), self.counts(), self.best, self.settings.path)

    @property
    def is_running(self) -> bool:
        return self._running

    @property
    def experiment_id(self) -> str:
        return self._experiment_id

    @property
    def searcher_finished(self) -> bool:
        return self.factory.searcher_finished

    def interrupt(self) -> None:
        """End the experiment soon, pausing running trials so that a restore resumes them."""
        self._stop_reason = StopReason.INTERRUPTED

    @property
    def stop_reason(self) -> StopReason | None:
        return self._stop_reason

    def counts(self) -> dict[Any, int]:
        return {s: self.trials.count(s) for s in (PENDING, RUNNING, PAUSED, TERMINATED, ERROR)}

    def _wait_timeout(self) -> float:
        now = self.elapsed()
        due = [_IDLE_WAIT_S, self.reporter.due_in(now)]
        due += [task.due_in(now) for task in self.periodic]
        if self.settings.time_budget_s is not None:
            due.append(max(0.0, self.settings.time_budget_s - now))
        if self.checkpoints.copying:
            due.append(_COPY_POLL_S)  # a trial waits for its checkpoint copy to finish
        return max(0.0, min(due))

    def _run_periodic(self) -> None:
        now = self.elapsed()
        self.reporter.maybe_report(now, self.counts(), self.best)
        for task in self.periodic:
            if task.due_in(now) <= 0:
                task.run(now)

    def _check_experiment_stop(self) -> None:
        if self._stop_reason is not None:
            return
        budget = self.settings.time_budget_s
        if budget is not None and self.elapsed() >= budget:
            self._stop_reason = StopReason.TIME_BUDGET
        elif self.stopper is not None and self.stopper.stop_all():
            self._stop_reason = StopReason.STOPPER

    def _is_finished(self) -> bool:
        if self.executor.num_active or self.checkpoints.copying:
            return False
        if self.trials.count(PENDING) or self.trials.count(PAUSED):
            # Nothing runs, yet trials wait: _fill_slots found none it could start.
            if self._can_start_more():
                waiting = self.trials.count(PENDING) + self.trials.count(PAUSED)
                logger.warning(
                    "the scheduler chose none of the %d waiting trials and nothing is running; "
                    "ending the experiment",
                    waiting,
                )
                return True
            return False
        return self.factory.searcher_finished

    # ----------------------------------------------------------------- creating and starting
    def _can_start_more(self) -> bool:
        limit = self.settings.max_concurrent
        if limit is not None and self.executor.num_active >= limit:
            return False
        return self.executor.can_start(self.settings.resources)

    def _fill_slots(self) -> None:
        self._queue_trials()
        while self._stop_reason is None and self._can_start_more():
            copied = self.exploits.take_copied()
            if copied is not None:
                self._start(copied)
                continue
            waiting = Candidates(self.trials, self._startable)
            if not waiting:
                return
            suggestion = self.scheduler.suggest(waiting)
            if suggestion is None or not self._carry_out(suggestion, waiting):
                return
            self._queue_trials()

    def _carry_out(self, suggestion: TrialSuggestion, waiting: Candidates) -> bool:
        """Run or stop the trial a scheduler suggested; False when there was nothing to do (a
        STOP of a trial that ended already: asking again now would get the same answer)."""
        trial = self.exploits.trial_of(suggestion, waiting)
        if suggestion.kind is SuggestionKind.STOP:
            if trial.status.is_finished:
                return False
            self.life.apply(trial, TrialEvent.REMOVE)
            return True
        if self.exploits.apply(trial, suggestion):
            self._start(trial)
        return True

    def _startable(self, trial: Trial) -> bool:
        """Whether a waiting trial could start now (a free slot being known to exist)."""
        return (
            not self.executor.is_active(trial.trial_id)
            and self.checkpoints.ready(trial)
            and (self.settings.resources_for is None or self.executor.can_start(trial.resources))
        )

    def _queue_trials(self) -> None:
        """Keep new trials waiting, so that schedulers see the population (PBT, HyperBand).

        Random and grid search may queue `searcher.max_queued` trials ahead; a model-based
        searcher (max_queued 1) is asked only when a trial can start, so that it suggests with
        every result so far.
        """
        wanted = self.searcher.max_queued
        if wanted <= 1:
            wanted = 1 if self._can_start_more() else 0
        queued = self.factory.queued
        while queued < wanted and self.factory.create():
            queued += 1

    def local_dir(self, trial: Trial) -> str:
        return self.factory.local_dir(trial)

    def add_trial(self, trial: Trial) -> None:
        self.factory.add(trial)

    def _start(self, trial: Trial) -> None:
        restore = self.checkpoints.resume_point(trial)
        local = self.local_dir(trial)
        spec = start_spec(
            self.settings, trial, trial_name=self.views[trial.trial_id].trial_name,
            local_dir=local, restore=restore, synchronous=self._synchronous,
        )
        rewind_outputs(trial, restore, local)
        os.makedirs(local, exist_ok=True)
        self.life.apply(trial, TrialEvent.START, restored=restore is not None)
        self.executor.start_trial(spec)

    # ----------------------------------------------------------------- events
    def _handle(self, event: Event) -> None:
        trial = self.trials[event.trial_id]
        if isinstance(event, ResultEvent):
            self._on_result(trial, event)
        elif isinstance(event, CheckpointEvent):
            self._on_checkpoint(trial, event.checkpoint)
        elif isinstance(event, EndEvent):
            self._on_end(trial, event)
        else:
            self._on_error(trial, event.error)

    def _on_result(self, trial: Trial, event: ResultEvent) -> None:
        if trial.status is not RUNNING:
            self._on_late_result(trial, event)
            return
        result = event.metrics
        self._check_metric(result)
        trial.last_result = result
        trial.num_results += 1
        if event.checkpoint is not None:
            # Recorded before the scheduler looks: PBT exploits only trials with a checkpoint.
            self.checkpoints.record(trial, event.checkpoint, result)
        self.reporter.result(trial.trial_id, result)
        self.best.update(trial.trial_id, trial.config, result)
        self.searcher.on_trial_result(trial.trial_id, result)
        if result.get("done") is True:
            # The trainable said this is its last result: the scheduler hears of it as a
            # completion, not as a result it could pause. A class trainable ends by itself (its
            # end event follows); a function is stopped, as Ray Tune does, for one that reports
            # done=True and trains on (Ray's PBT examples stop on {"done": True} this way).
            if self._tell_result(trial, result, event.checkpoint):
                if self.settings.kind is TrainableKind.CLASS:
                    self.checkpoint_requests.cannot(trial, "its step() ended it with this result (done); "
                                            "CheckpointConfig(checkpoint_at_end=True) saves one")
                else:
                    self.checkpoint_requests.request(trial)
            if self.settings.kind is TrainableKind.FUNCTION:
                self.life.apply(trial, TrialEvent.COMPLETE)
            return
        stop = self.stopper is not None and self.stopper(trial.trial_id, result)
        decision = Decision.STOP
        if not stop:
            view = trial.view()
            decision = self.scheduler.on_trial_result(view, view.last_result)
        # As in Ray Tune, callbacks hear of the result after the scheduler decided, and before
        # the decision is carried out: they may still ask for a checkpoint of this result.
        if self._tell_result(trial, result, event.checkpoint) and decision is not Decision.PAUSE:
            self.checkpoint_requests.request(trial)  # a pause saves one anyway
        if stop:
            self.life.apply(trial, TrialEvent.COMPLETE)
        else:
            self._act(trial, decision)

    def _tell_result(
        self, trial: Trial, result: dict[str, Any], checkpoint: CheckpointRef | None
    ) -> bool:
        """Tell the callbacks of a result (and of its checkpoint); whether one asked for a
        checkpoint of it."""
        asked = self.hooks.result(trial.trial_id, result)
        if checkpoint is not None:
            self.hooks.checkpoint(trial.trial_id, checkpoint.path)
        return asked

    def _on_checkpoint(self, trial: Trial, ref: CheckpointRef) -> None:
        """A checkpoint the loop asked for, of the trial's latest result (recorded whatever
        the trial's status now: a STOP may have followed the request)."""
        self.checkpoints.record(trial, ref, trial.last_result)
        self.hooks.checkpoint(trial.trial_id, ref.path)

    def _on_late_result(self, trial: Trial, event: ResultEvent) -> None:
        """A result sent before the trial learned it was paused or stopped.

        A paused trial resumes from its latest checkpoint, which may be this result's: the
        result is recorded (without asking the scheduler again) so history and state agree.
        A stopped trial's late results are dropped, and so is a checkpoint one carries (deleted
        from storage): a trial's latest checkpoint always belongs to a result it holds.
        """
        if trial.status is not PAUSED:
            if event.checkpoint is not None:
                self.checkpoints.discard(trial, event.checkpoint)
            return
        trial.last_result = event.metrics
        trial.num_results += 1
        if event.checkpoint is not None:
            self.checkpoints.record(trial, event.checkpoint, event.metrics)
        if self._tell_result(trial, event.metrics, event.checkpoint):
            self.checkpoint_requests.request(trial)  # only functions send results after a pause

    def _act(self, trial: Trial, decision: Decision) -> None:
        if decision is Decision.CONTINUE:
            if self._synchronous:
                self.executor.control(trial.trial_id, Control.CONTINUE)
        elif decision is Decision.STOP:
            self.life.apply(trial, TrialEvent.REMOVE)
        else:
            self.life.apply(trial, TrialEvent.PAUSE)

    def _on_end(self, trial: Trial, event: EndEvent) -> None:
        if event.checkpoint is not None:
            self.checkpoints.record(trial, event.checkpoint, dict(trial.last_result))
            self.hooks.checkpoint(trial.trial_id, event.checkpoint.path)
        if event.reason is EndReason.DONE and trial.status is RUNNING:
            trial.last_result = {**trial.last_result, "done": True}
            self.life.apply(trial, TrialEvent.COMPLETE)
        elif trial.status is PAUSED:
            self.exploits.prepare_resume(trial)

    def _on_error(self, trial: Trial, error: TrialError) -> None:
        if trial.status.is_finished:
            logger.warning("trial %s failed while stopping: %s", trial.trial_id, error)
            return
        trial.num_failures += 1
        trial.error = error.traceback or str(error)
        append_error(
            self.local_dir(trial), trial.num_failures, self.clock.time(),
            error.traceback or str(error),
        )
        failure = self.settings.failure_config
        retry = not failure.fail_fast and (
            failure.max_failures == -1 or trial.num_failures <= failure.max_failures
        )
        self.reporter.trial_error(trial.trial_id, str(error), retry)
        if retry:
            trial.restore_from = trial.latest_checkpoint
            self.life.apply(trial, TrialEvent.RETRY, error=error)
            return
        self.life.apply(trial, TrialEvent.FAIL, error=error)
        if failure.fail_fast:
            self._stop_reason = StopReason.FAIL_FAST

    # ----------------------------------------------------------------- the end
    def _wind_down(self, *, pause: bool) -> None:
        """Stop (or pause) what still runs, wait for it briefly, and release the workers.

        Always ends by shutting the executor down and closing the callbacks, even when what
        comes before fails (the loop may be unwinding from an error already).
        """
        try:
            end = TrialEvent.INTERRUPT if pause else TrialEvent.COMPLETE
            for trial in self.trials.with_status(RUNNING):
                self.life.apply(trial, end)
            if not pause:
                for trial in self.trials.with_status(PENDING, PAUSED):
                    self.life.apply(trial, TrialEvent.ABANDON)  # as Ray Tune tells of them
            deadline = self.clock.monotonic() + 30.0
            while self.executor.num_active and self.clock.monotonic() < deadline:
                for event in self.executor.wait(1.0):
                    try:
                        if isinstance(event, EndEvent):
                            self._on_end(self.trials[event.trial_id], event)
                        elif isinstance(event, ResultEvent):
                            self._on_result(self.trials[event.trial_id], event)
                        elif isinstance(event, CheckpointEvent):
                            self._on_checkpoint(self.trials[event.trial_id], event.checkpoint)
                    except Exception:
                        logger.exception("while stopping trials, handling %r failed", event)
        finally:
            self.executor.shutdown()
            self.checkpoints.close()
            self.hooks.experiment_end()

