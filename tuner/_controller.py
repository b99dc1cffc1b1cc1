"""The event loop: creates trials, starts them, and acts on what schedulers and stoppers decide."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from schedulers import Decision, Exploit, TrialScheduler
from searchers import FINISHED, Searcher
from tuner._callback import Callback, TrialInfo
from tuner._callback_hooks import CallbackHooks
from tuner._clock import Clock
from tuner._config import CheckpointConfig, FailureConfig
from tuner._stoppers import Stopper
from tuner._trainable import TrainableKind
from tuner._trial import (
    ERROR,
    PAUSED,
    PENDING,
    RUNNING,
    TERMINATED,
    CheckpointRecord,
    StatusChange,
    Trial,
    TrialTable,
)
from tuner.exceptions import (
    ComponentError,
    ConfigError,
    SchedulerError,
    SearcherError,
    TrialError,
    TuneError,
)
from tuner.executors._base import Executor
from tuner.executors._protocol import (
    CheckpointEvent,
    CheckpointRef,
    Control,
    EndEvent,
    EndReason,
    Event,
    ResultEvent,
    TrialSpec,
)
from tuner.experiment._naming import TrialNamer
from tuner.experiment._trial import ExperimentFacts
from tuner.experiment._views import TrialViews
from tuner.output._progress import BestTracker, StatusReporter
from tuner.output._rewind import KeepPoint, rewind_trial_outputs
from tuner.storage._checkpoint_book import CheckpointBook

if TYPE_CHECKING:
    import fsspec

logger = logging.getLogger(__name__)

POLICY_FILE = "pbt_policy.jsonl"
"""Where PBT's perturbations are logged, one JSON record per line, in the experiment directory."""

_COPY_POLL_S = 0.05  # how often to look whether a background checkpoint copy finished
_IDLE_WAIT_S = 1.0  # longest wait for events when nothing else is due (a bound, not a poll rate)


@dataclass
class ExperimentSettings:
    """What the event loop needs to know about the experiment (built by the Tuner)."""

    name: str
    path: str
    filesystem: fsspec.AbstractFileSystem
    local_path: str
    trainable_name: str
    kind: TrainableKind
    resources: Mapping[str, float]
    """Every trial's resources; with `resources_for`, the least a trial is assumed to need."""
    resources_for: Callable[[Mapping[str, Any]], dict[str, float]] | None
    """The resources of a trial with a given config, where they depend on it."""
    metric: str | None
    mode: str | None
    num_samples: int
    cap_trials: bool
    max_concurrent: int | None
    time_budget_s: float | None
    checkpoint_config: CheckpointConfig = field(default_factory=CheckpointConfig)
    failure_config: FailureConfig = field(default_factory=FailureConfig)
    trial_name_creator: Any = None
    trial_dirname_creator: Any = None
    log_files: tuple[str, str] | None = None
    """File names for each trial's stdout and stderr, in its local directory."""


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
        self.best = BestTracker(settings.metric, settings.mode)
        self._experiment_id = experiment_id
        self._searcher_finished = searcher_finished
        self.restored = restored
        self._running = False
        """True when resuming a saved experiment: leftovers of unsaved trials are cleared."""
        self._stop_reason: str | None = None
        self._pending_exploits: dict[str, Exploit] = {}
        self._started_at = clock.monotonic() - elapsed_before
        self._checked_metric = False
        self.checkpoints = CheckpointBook(
            settings.filesystem, settings.checkpoint_config, self.trials
        )
        self._infos: dict[str, TrialInfo] = {}
        self.views = TrialViews(
            ExperimentFacts(settings.trainable_name, settings.local_path, settings.filesystem)
        )
        self._namer = TrialNamer(
            settings.trial_name_creator,
            settings.trial_dirname_creator,
            taken={trial.name for trial in self.trials},
        )
        for trial in self.trials:
            self._add_view(trial)
        self.hooks = CallbackHooks(
            self.callbacks, views=self.views, info_of=lambda view: self.info(view._trial),
            local_path=settings.local_path, filesystem=settings.filesystem,
        )
        self._warned_checkpoint_request = False
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
        )
        self.executor.check_resources(self.settings.resources)
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
            # A second Ctrl-C: leave at once; the state saved last stays valid.
            self.executor.shutdown()
            self.checkpoints.close()
            raise
        except BaseException as exc:
            # An error in the loop itself: pause what runs, so that a restore resumes it.
            self._wind_down(pause=True)
            wrapped = self._component_error(exc)
            if wrapped is not None:
                raise wrapped from exc
            raise
        self._wind_down(pause=self._stop_reason == "interrupted")
        self._running = False
        self.reporter.final(self.elapsed(), self.counts(), self.best, self.settings.path)

    def _component_error(self, exc: BaseException) -> ComponentError | None:
        """`exc` as a SchedulerError/SearcherError naming the component, if one raised it.

        The loop calls its scheduler and searcher in a dozen places; rather than wrap each
        call, the traceback tells whose method the error came out of (the outermost frame of
        a method of theirs).
        """
        if isinstance(exc, TuneError) or not isinstance(exc, Exception):
            return None
        kinds = ((self.scheduler, SchedulerError), (self.searcher, SearcherError))
        tb = exc.__traceback__
        while tb is not None:
            owner = tb.tb_frame.f_locals.get("self")
            for component, error in kinds:
                if owner is component:
                    method = f"{type(component).__name__}.{tb.tb_frame.f_code.co_name}"
                    return error(f"{method} failed: {type(exc).__name__}: {exc}")
            tb = tb.tb_next
        return None

    @property
    def is_running(self) -> bool:
        return self._running

    @property
    def experiment_id(self) -> str:
        return self._experiment_id

    @property
    def searcher_finished(self) -> bool:
        return self._searcher_finished

    def interrupt(self) -> None:
        """End the experiment soon, pausing running trials so that a restore resumes them."""
        self._stop_reason = "interrupted"

    @property
    def stop_reason(self) -> str | None:
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
            self._stop_reason = "time budget"
        elif self.stopper is not None and self.stopper.stop_all():
            self._stop_reason = "stopper"

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
        return self._searcher_finished

    # ----------------------------------------------------------------- creating and starting
    def _can_start_more(self) -> bool:
        limit = self.settings.max_concurrent
        if limit is not None and self.executor.num_active >= limit:
            return False
        return self.executor.can_start(self.settings.resources)

    def _fill_slots(self) -> None:
        self._queue_trials()
        while self._stop_reason is None and self._can_start_more():
            candidates = [
                t.view()
                for t in self.trials.with_status(PENDING, PAUSED)
                if not self.executor.is_active(t.trial_id)
                and self.checkpoints.ready(t)
                and (self.settings.resources_for is None or self.executor.can_start(t.resources))
            ]
            if not candidates:
                return
            chosen = self.scheduler.choose_trial_to_run(candidates)
            self._after_scheduler()
            if chosen is None:
                return
            if not self.trials[chosen].status.is_finished:
                self._start(self.trials[chosen])
            self._queue_trials()

    def _queue_trials(self) -> None:
        """Keep new trials waiting, so that schedulers see the population (PBT, HyperBand).

        Random and grid search may queue `searcher.max_queued` trials ahead; a model-based
        searcher (max_queued 1) is asked only when a trial can start, so that it suggests with
        every result so far.
        """
        wanted = self.searcher.max_queued
        if wanted <= 1:
            wanted = 1 if self._can_start_more() else 0
        queued = sum(t.never_started for t in self.trials.with_status(PENDING))
        while queued < wanted and self._create_trial():
            queued += 1

    def _create_trial(self) -> bool:
        if self._searcher_finished:
            return False
        samples = self.settings.num_samples
        if self.settings.cap_trials and samples != -1 and len(self.trials) >= samples:
            self._searcher_finished = True
            return False
        trial_id = f"{self._experiment_id}_{len(self.trials):05d}"
        suggestion = self.searcher.suggest(trial_id)
        if suggestion is None:
            return False
        if suggestion is FINISHED:
            self._searcher_finished = True
            return False
        if not isinstance(suggestion, dict):
            raise TypeError(
                f"{type(self.searcher).__name__}.suggest() must return a dict, None or FINISHED, "
                f"got {type(suggestion).__name__}: {suggestion!r}"
            )
        default = f"{self.settings.trainable_name}_{trial_id}"
        resources = dict(self.settings.resources)
        if self.settings.resources_for is not None:
            resources = self.settings.resources_for(suggestion)
            self.executor.check_resources(resources)
        trial = Trial(
            trial_id=trial_id,
            name=default,
            config=suggestion,
            path=self._trial_path(default),
            resources=resources,
        )
        # The name creators are handed the trial's view, as Ray Tune hands them the trial.
        view = self.views.add(trial)
        display, custom_dir, name = self._namer.name(view, default)
        view._set_names(display, custom_dir)
        if name != default:
            trial.name, trial.path = name, self._trial_path(name)
        self.add_trial(trial)
        return True

    def _trial_path(self, name: str) -> str:
        return f"{self.settings.path.rstrip('/')}/{name}"

    def _add_view(self, trial: Trial) -> None:
        """The view of a trial the loop did not create (restored): its names are kept."""
        view = self.views.add(trial)
        default = f"{self.settings.trainable_name}_{trial.trial_id}"
        view._set_names(self._namer.display_name(view, trial.name, default), None)

    def add_trial(self, trial: Trial) -> None:
        if not trial.history:
            trial.history.append(StatusChange(trial.status, self.clock.time()))
        if self.restored:
            self._clear_leftovers(trial)
        self.trials.add(trial)
        self.views.add(trial)
        self.scheduler.on_trial_add(trial.view())

    def _clear_leftovers(self, trial: Trial) -> None:
        """Remove what a trial of the same name left before the crash that lost its record."""
        from tuner.storage._filesystem import remove_directory

        fs = self.settings.filesystem
        if fs.exists(trial.path):
            logger.info("removing %s, left by a trial the last saved state did not hold", trial.path)
            remove_directory(fs, trial.path)
        local = self.local_dir(trial)
        if local != trial.path and os.path.isdir(local):
            import shutil

            shutil.rmtree(local, ignore_errors=True)

    def local_dir(self, trial: Trial) -> str:
        return os.path.join(self.settings.local_path, trial.name)

    def info(self, trial: Trial) -> TrialInfo:
        cached = self._infos.get(trial.trial_id)
        if cached is not None and cached.config is trial.config and cached.status == trial.status.value:
            return cached
        info = TrialInfo(
            trial.trial_id, trial.name, trial.config, self.local_dir(trial), trial.status.value
        )
        if not trial.status.is_finished:
            self._infos[trial.trial_id] = info
        else:
            self._infos.pop(trial.trial_id, None)
        return info

    def _start(self, trial: Trial) -> None:
        if trial.status is PAUSED:
            exploit = self.scheduler.take_exploit(trial.trial_id)
            if exploit is not None:
                self._apply_exploit(trial, exploit)
        restore = self.checkpoints.resume_point(trial)
        metrics = restore.metrics if restore is not None else {}
        spec = TrialSpec(
            trial_id=trial.trial_id,
            trial_name=self.views[trial.trial_id].trial_name,
            trainable_key="",
            config=trial.config,
            trial_path=trial.path,
            filesystem=self.settings.filesystem,
            restore_path=restore.path if restore is not None else None,
            start_iteration=int(metrics.get("training_iteration", 0)),
            time_total_s=float(metrics.get("time_total_s", 0.0)),
            next_checkpoint_index=trial.next_checkpoint_index,
            checkpoint_frequency=self.settings.checkpoint_config.checkpoint_frequency,
            checkpoint_at_end=bool(self.settings.checkpoint_config.checkpoint_at_end),
            resources=trial.resources,
            experiment_name=self.settings.name,
            synchronous=self._synchronous,
            log_files=self._log_files(trial),
        )
        self._rewind_outputs(trial, restore)
        trial.transition(RUNNING, self.clock.time())
        os.makedirs(self.local_dir(trial), exist_ok=True)
        self.hooks.started(trial.trial_id, restored=restore is not None)
        self.executor.start_trial(spec)

    def _log_files(self, trial: Trial) -> tuple[str, str] | None:
        names = self.settings.log_files
        if names is None:
            return None
        local = self.local_dir(trial)
        return (os.path.join(local, names[0]), os.path.join(local, names[1]))

    def _rewind_outputs(self, trial: Trial, restore: CheckpointRecord | None) -> None:
        """Cut the trial's output files back to the result it resumes from (see
        `tuner.output._rewind`): every result it reports again is then written once."""
        keep = KeepPoint(
            results=0 if restore is None else restore.num_results,
            iteration=0 if restore is None else int(restore.metrics.get("training_iteration", 0)),
        )
        if not trial.outputs_unknown and keep.results is not None and (
            trial.num_results <= keep.results
        ):
            return  # the usual case: nothing was written after the resume point
        trial.num_results = rewind_trial_outputs(self.local_dir(trial), keep)
        trial.outputs_unknown = False

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

    def _check_metric(self, result: Mapping[str, Any]) -> None:
        metric = self.settings.metric
        if metric is None or self._checked_metric:
            return
        if metric not in result:
            raise ConfigError(
                f"metric '{metric}' was not in the reported result "
                f"{ {k: v for k, v in result.items() if k not in ('hostname', 'pid')} }: "
                "report it or change TuneConfig(metric=...)"
            )
        value = result[metric]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(
                f"metric '{metric}' must be a number, but a trial reported {value!r} "
                f"({type(value).__name__}): report a float or int"
            )
        self._checked_metric = True

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
                    self._cannot_checkpoint(trial, "its step() ended it with this result (done); "
                                            "CheckpointConfig(checkpoint_at_end=True) saves one")
                else:
                    self._request_checkpoint(trial)
            if self.settings.kind is TrainableKind.FUNCTION:
                self._stop_trial(trial, completed=True)
                self._after_scheduler()
            return
        stop = self.stopper is not None and self.stopper(trial.trial_id, result)
        decision = Decision.STOP
        if not stop:
            view = trial.view()
            decision = self.scheduler.on_trial_result(view, view.last_result)
        # As in Ray Tune, callbacks hear of the result after the scheduler decided, and before
        # the decision is carried out: they may still ask for a checkpoint of this result.
        if self._tell_result(trial, result, event.checkpoint) and decision is not Decision.PAUSE:
            self._request_checkpoint(trial)  # a pause saves one anyway
        if stop:
            self._stop_trial(trial, completed=True)
        else:
            self._act(trial, decision)
        self._after_scheduler()

    def _tell_result(
        self, trial: Trial, result: dict[str, Any], checkpoint: CheckpointRef | None
    ) -> bool:
        """Tell the callbacks of a result (and of its checkpoint); whether one asked for a
        checkpoint of it."""
        asked = self.hooks.result(trial.trial_id, result)
        if checkpoint is not None:
            self.hooks.checkpoint(trial.trial_id, checkpoint.path)
        return asked

    def _request_checkpoint(self, trial: Trial) -> None:
        """Make a trial save a checkpoint of its latest result, before the decision on it."""
        if self.settings.kind is not TrainableKind.CLASS:
            self._cannot_checkpoint(
                trial, "a function trainable checkpoints when it passes checkpoint= to report()"
            )
        elif self.executor.is_active(trial.trial_id):
            self.executor.control(trial.trial_id, Control.CHECKPOINT)

    def _cannot_checkpoint(self, trial: Trial, why: str) -> None:
        if not self._warned_checkpoint_request:
            self._warned_checkpoint_request = True
            logger.warning(
                "a callback asked trial %s for a checkpoint (should_checkpoint or "
                "checkpoint_now()), which it cannot save: %s; asked again, this is not repeated",
                trial.trial_id, why,
            )

    def _on_checkpoint(self, trial: Trial, ref: CheckpointRef) -> None:
        """A checkpoint the loop asked for, of the trial's latest result (recorded whatever
        the trial's status now: a STOP may have followed the request)."""
        self.checkpoints.record(trial, ref, trial.last_result)
        self.hooks.checkpoint(trial.trial_id, ref.path)

    def _log_perturbations(self) -> None:
        records = self.scheduler.take_perturbation_records()
        if records:
            path = os.path.join(self.settings.local_path, POLICY_FILE)
            with open(path, "a", encoding="utf-8") as f:
                f.writelines(json.dumps(record) + "\n" for record in records)

    def _after_scheduler(self) -> None:
        """After every scheduler call: log its perturbations, stop the trials it gave up on."""
        self._log_perturbations()
        for trial_id in self.scheduler.take_trials_to_stop():
            if trial_id in self.trials and not self.trials[trial_id].status.is_finished:
                self._stop_trial(self.trials[trial_id], completed=False)

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
            self._request_checkpoint(trial)  # only functions send results after a pause

    def _act(self, trial: Trial, decision: Decision) -> None:
        if decision is Decision.CONTINUE:
            if self._synchronous:
                self.executor.control(trial.trial_id, Control.CONTINUE)
        elif decision is Decision.STOP:
            self._stop_trial(trial, completed=False)
        else:
            self.executor.control(trial.trial_id, Control.PAUSE)
            trial.transition(PAUSED, self.clock.time())
            exploit = self.scheduler.take_exploit(trial.trial_id)
            if exploit is not None:
                self._pending_exploits[trial.trial_id] = exploit
            self.hooks.paused(trial.trial_id)

    def _stop_trial(self, trial: Trial, *, completed: bool) -> None:
        """End a trial as TERMINATED: `completed` by a stop criterion, else by the scheduler."""
        if self.executor.is_active(trial.trial_id):
            self.executor.control(trial.trial_id, Control.STOP)
        trial.transition(TERMINATED, self.clock.time())
        view = trial.view()
        if completed:
            self.scheduler.on_trial_complete(view, trial.last_result)
        else:
            self.scheduler.on_trial_remove(view)
        self.searcher.on_trial_complete(trial.trial_id, trial.last_result or None)
        self.hooks.completed(trial.trial_id)

    def _on_end(self, trial: Trial, event: EndEvent) -> None:
        if event.checkpoint is not None:
            self.checkpoints.record(trial, event.checkpoint, dict(trial.last_result))
            self.hooks.checkpoint(trial.trial_id, event.checkpoint.path)
        if event.reason is EndReason.DONE and trial.status is RUNNING:
            trial.last_result = {**trial.last_result, "done": True}
            trial.transition(TERMINATED, self.clock.time())
            self.scheduler.on_trial_complete(trial.view(), trial.last_result)
            self.searcher.on_trial_complete(trial.trial_id, trial.last_result or None)
            self.hooks.completed(trial.trial_id)
            self._after_scheduler()
        elif trial.status is PAUSED:
            self._prepare_resume(trial)

    def _prepare_resume(self, trial: Trial) -> None:
        exploit = self._pending_exploits.pop(trial.trial_id, None)
        trial.restore_from = trial.latest_checkpoint
        if exploit is not None and self._apply_exploit(trial, exploit):
            return
        if trial.restore_from is None and trial.last_result:
            logger.warning(
                "trial %s was paused but has no checkpoint: it will start over when it resumes "
                "(report a checkpoint, or implement save_checkpoint for class trainables)",
                trial.trial_id,
            )

    def _apply_exploit(self, trial: Trial, exploit: Exploit) -> bool:
        """Point `trial` at a copy of the donor's latest checkpoint, with the new config."""
        donor = self.trials[exploit.donor_trial_id]
        if donor is trial:
            trial.config = dict(exploit.new_config)  # a replayed schedule: own checkpoint
            return True
        if donor.latest_checkpoint is None:
            logger.warning(
                "not exploiting %s: its donor %s has no checkpoint", trial.trial_id, donor.trial_id
            )
            return False
        trial.restore_from = self.checkpoints.copy_into(donor.latest_checkpoint, trial)
        trial.config = dict(exploit.new_config)
        # The trial's state is now the donor's at that checkpoint; so is its last result.
        trial.last_result = {**trial.restore_from.metrics, "trial_id": trial.trial_id}
        return True

    def _on_error(self, trial: Trial, error: TrialError) -> None:
        if trial.status.is_finished:
            logger.warning("trial %s failed while stopping: %s", trial.trial_id, error)
            return
        self._pending_exploits.pop(trial.trial_id, None)  # a failed pause exploits nothing
        trial.num_failures += 1
        trial.error = error.traceback or str(error)
        self._write_error(trial, error)
        failure = self.settings.failure_config
        retry = not failure.fail_fast and (
            failure.max_failures == -1 or trial.num_failures <= failure.max_failures
        )
        self.reporter.trial_error(trial.trial_id, str(error), retry)
        if retry:
            trial.restore_from = trial.latest_checkpoint
            trial.transition(PENDING, self.clock.time())
            self.hooks.recovering(trial.trial_id, error)
            return
        trial.transition(ERROR, self.clock.time())
        self.scheduler.on_trial_error(trial.view())
        self._after_scheduler()
        self.searcher.on_trial_complete(trial.trial_id, trial.last_result or None, error=True)
        self.hooks.errored(trial.trial_id, error)
        if failure.fail_fast:
            self._stop_reason = "fail_fast"

    def _write_error(self, trial: Trial, error: TrialError) -> None:
        os.makedirs(self.local_dir(trial), exist_ok=True)
        path = os.path.join(self.local_dir(trial), "error.txt")
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"Failure #{trial.num_failures} at {self.clock.time():.0f}:\n")
            f.write((error.traceback or str(error)).rstrip() + "\n\n")

    # ----------------------------------------------------------------- the end
    def _wind_down(self, *, pause: bool) -> None:
        """Stop (or pause) what still runs, wait for it briefly, and release the workers.

        Always ends by shutting the executor down and closing the callbacks, even when what
        comes before fails (the loop may be unwinding from an error already).
        """
        try:
            control = Control.PAUSE if pause else Control.STOP
            for trial in self.trials.with_status(RUNNING):
                self.executor.control(trial.trial_id, control)
                if pause:
                    trial.transition(PAUSED, self.clock.time())
                else:
                    self._stop_trial(trial, completed=True)
            if not pause:
                for trial in self.trials.with_status(PENDING, PAUSED):
                    trial.transition(TERMINATED, self.clock.time())
                    self.hooks.completed(trial.trial_id)  # as Ray Tune tells of them
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

