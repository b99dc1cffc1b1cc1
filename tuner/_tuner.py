"""`Tuner`: the entry point. Validates settings, builds the experiment, runs the event loop."""

from __future__ import annotations

import dataclasses
import datetime
import inspect
import logging
import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schedulers import TrialScheduler, TrialStatus
from searchers import Searcher
from tuner._callback import Callback
from tuner._clock import Clock, ClockedTask, SystemClock
from tuner._config import RunConfig, TuneConfig, log_file_names
from tuner._controller import ExperimentSettings, TuneController
from tuner._experiment_parts import (
    build_scheduler,
    build_searcher,
    check_bounded,
    check_checkpoint_settings,
)
from tuner._fit_support import (
    Flusher,
    check_unchanged_since_restore,
    dashboard_beside,
    flush_outputs,
    interrupts_pause,
)
from tuner._lifecycle import StopReason
from tuner._stoppers import make_stopper
from tuner._trainable import (
    DEFAULT_RESOURCES,
    WithResources,
    classify,
    trainable_name,
)
from tuner.analysis._read import result_from_trial
from tuner.analysis._result_grid import ResultGrid
from tuner.exceptions import ConfigError, TuneError
from tuner.executors._base import Executor
from tuner.output._progress import StatusReporter, expected_trials
from tuner.state._experiment import (
    ExperimentSaver,
    checkpoint_period_setting,
    has_state,
    load_state,
)
from tuner.state._lock import ExperimentLock
from tuner.storage._filesystem import is_local, join, protocol_of, resolve_storage

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Restored:
    state: dict[str, Any]
    resume_unfinished: bool
    resume_errored: bool
    restart_errored: bool
    fs: Any
    path: str


class Tuner:
    """Tunes the hyperparameters of a trainable.

    Args:
        trainable: A function `f(config)` that calls `report(...)`, a `Trainable` subclass, or
            either wrapped by `with_resources`.
        param_space: The search space: a dict whose leaves are constants or domains
            (`uniform`, `choice`, `grid_search`, ...), nested dicts and lists allowed.
        tune_config: What to search and how (`TuneConfig`).
        run_config: Where results go and when trials stop (`RunConfig`).
        executor: Where trials run; a `LocalExecutor` (worker processes) by default.
        clock: The clock the engine reads (a `FakeClock` in tests). An executor with a clock of
            its own (`SimulatedExecutor`) brings it instead: then leave this out.

    Example:
        >>> def train_fn(config):
        ...     for step in range(10):
        ...         report({"loss": (config["lr"] - 0.01) ** 2 / (step + 1)})
        >>> grid = Tuner(
        ...     train_fn,
        ...     param_space={"lr": loguniform(1e-4, 1e-1)},
        ...     tune_config=TuneConfig(metric="loss", mode="min", num_samples=10),
        ... ).fit()  # doctest: +SKIP
        >>> grid.get_best_result().config  # doctest: +SKIP
    """

    def __init__(
        self,
        trainable: Any,
        *,
        param_space: Mapping[str, Any] | None = None,
        tune_config: TuneConfig | None = None,
        run_config: RunConfig | None = None,
        executor: Executor | None = None,
        clock: Clock | None = None,
    ) -> None:
        as_trainable = getattr(trainable, "as_trainable", None)
        if as_trainable is not None and not inspect.isclass(trainable):
            # A trainer (TorchTrainer): its worker-group trainable, with the group's resources.
            from tuner.torch._trainer import trainer_space

            trainable = as_trainable()
            if isinstance(param_space, Mapping):
                param_space = trainer_space(param_space)
        resources = WithResources(trainable, DEFAULT_RESOURCES)
        if isinstance(trainable, WithResources):
            trainable, resources = trainable.trainable, trainable
        self._kind = classify(trainable)
        self._trainable = trainable
        self._resources = resources
        if param_space is not None and not isinstance(param_space, Mapping):
            raise ConfigError(
                f"param_space must be a dict of parameter names to values or domains, got "
                f"{type(param_space).__name__}"
            )
        self._param_space = dict(param_space or {})
        self._tune_config = tune_config or TuneConfig()
        self._run_config = run_config or RunConfig()
        self._executor = executor
        own = executor.clock if executor is not None else None
        if own is not None and clock is not None and clock is not own:
            raise ConfigError(
                f"{type(executor).__name__} brings its own clock, which the whole experiment "
                "must read: leave out Tuner(clock=...)"
            )
        self._clock: Clock = own or clock or SystemClock()
        # The clock of the world outside the experiment, which never runs on virtual time: the
        # lock and its heartbeat (other processes judge them), flushing output files and
        # uploading them (people and machines watch them). The engine's clock otherwise.
        self._real_clock: Clock = clock or SystemClock()
        self._restored: _Restored | None = None
        self._results: ResultGrid | None = None
        check_checkpoint_settings(self._kind, self._run_config.checkpoint_config)

    # ------------------------------------------------------------------ restore
    @classmethod
    def can_restore(
        cls, path: str | os.PathLike[str], *, storage_filesystem: Any = None
    ) -> bool:
        """Whether `path` (`<storage_path>/<name>`) holds an experiment that can be restored."""
        fs, exp_path = resolve_storage(path, storage_filesystem)
        return has_state(fs, exp_path)

    @classmethod
    def restore(
        cls,
        path: str | os.PathLike[str],
        trainable: Any,
        *,
        resume_unfinished: bool = True,
        resume_errored: bool = False,
        restart_errored: bool = False,
        param_space: Mapping[str, Any] | None = None,
        tune_config: TuneConfig | None = None,
        run_config: RunConfig | None = None,
        executor: Executor | None = None,
        storage_filesystem: Any = None,
        clock: Clock | None = None,
    ) -> Tuner:
        """A Tuner that continues the experiment saved at `path` when `fit()` is called.

        Terminated trials are not rerun; unfinished ones resume from their latest checkpoint (or
        start over without one); errored ones are skipped, resumed (`resume_errored`) or started
        over (`restart_errored`). The searcher, scheduler and stoppers continue from their saved
        state, so no config is sampled twice and the number of trials stays `num_samples`.

        Settings (metric, mode, num_samples, ...) come from the saved state. Searchers and
        schedulers other than the defaults are rebuilt from code, not from pickles: pass the
        same ones again in `tune_config`, and their saved state is loaded into them. Likewise a
        `stop` that is not a dict needs `run_config` with the same stop.

        Raises:
            RestoreError: No experiment at `path`, a newer state format, a different trainable,
                or a searcher/scheduler/stop that must be passed again.
        """
        from tuner.state._restore import rebuild

        fs, exp_path = resolve_storage(path, storage_filesystem)
        state = load_state(fs, exp_path)
        built = rebuild(
            state,
            fs=fs,
            exp_path=exp_path,
            trainable=trainable,
            param_space=param_space,
            tune_config=tune_config,
            run_config=run_config,
            storage_filesystem=storage_filesystem,
        )
        tuner = cls(
            trainable,
            param_space=built.param_space,
            tune_config=built.tune_config,
            run_config=built.run_config,
            executor=executor,
            clock=clock,
        )
        tuner._restored = _Restored(
            state, resume_unfinished, resume_errored, restart_errored, fs, exp_path
        )
        return tuner

    # ------------------------------------------------------------------ building blocks
    def _default_name(self) -> str:
        # Real time even in a simulation: the name tells runs apart, as the user started them.
        stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
        return f"{trainable_name(self._trainable)}_{stamp}"

    # ------------------------------------------------------------------ fit
    def fit(self) -> ResultGrid:
        """Run the experiment and return the results of all its trials.

        Failed trials do not raise: their errors are in `ResultGrid.errors` (except with
        ``FailureConfig(fail_fast="raise")``, which stops at the first failure and raises its
        `TrialError` here, once the state is saved). Invalid settings raise `ConfigError`
        before any trial starts where that can be known.

        Raises:
            ExperimentLockedError: Another `fit()` runs on the same experiment (it holds
                ``<experiment>/.tuner-lock.json`` until it ends; see docs/storage.md).
            RestoreError: The experiment was saved again after `Tuner.restore` read it.
            ConfigError: Invalid settings, e.g. `num_samples=-1` with nothing to end it.
        """
        check_bounded(self._tune_config, self._run_config)
        fs, path, name = self._experiment_location()
        with (ExperimentLock.acquire(fs, path, clock=self._real_clock) as lock,
              dashboard_beside(self._run_config.dashboard, fs, path)):
            grid = self._fit(fs, path, name, lock)
        if self._run_config.failure_config.fail_fast == "raise" and grid.errors:
            raise grid.errors[0]  # Ray's fail_fast="raise": the trial's own error
        return grid

    def _experiment_location(self) -> tuple[Any, str, str]:
        """The experiment's ``(filesystem, path, name)``."""
        if self._restored is not None:
            path = self._restored.path
            return self._restored.fs, path, path.rstrip("/").rsplit("/", 1)[-1]
        rc = self._run_config
        fs, root = resolve_storage(rc.storage_path, rc.storage_filesystem)
        name = rc.name or self._default_name()
        return fs, join(root, name), name

    def _fit(self, fs: Any, path: str, name: str, lock: ExperimentLock) -> ResultGrid:
        rc, tc = self._run_config, self._tune_config
        restored = self._restored
        if restored is not None:
            check_unchanged_since_restore(fs, path, restored.state)
        elif has_state(fs, path):
            logger.warning(
                "%s already holds an experiment; a new one is started over it (its trials "
                "keep their directories). To continue it instead, use Tuner.restore(%r, ...)",
                path,
                path,
            )
        local = is_local(fs)
        (os.makedirs if local else fs.makedirs)(path, exist_ok=True)
        local_path = path if local else tempfile.mkdtemp(prefix=f"tuner-{name}-")
        syncer = None
        if not local:
            from tuner.storage._syncer import Syncer

            syncer = Syncer(local_path, fs, path, clock=self._real_clock.monotonic)

        from tuner.output._loggers import default_logger_callbacks

        callbacks: list[Callback] = [*default_logger_callbacks(), *rc.callbacks]
        searcher, cap = build_searcher(tc, self._param_space)
        settings = ExperimentSettings(
            name=name,
            path=path,
            filesystem=fs,
            local_path=local_path,
            trainable_name=trainable_name(self._trainable),
            kind=self._kind,
            resources=dict(self._resources.fixed() or DEFAULT_RESOURCES),
            resources_for=None if self._resources.fixed() else self._resources.for_config,
            metric=tc.metric,
            mode=tc.mode,
            num_samples=tc.num_samples,
            cap_trials=cap,
            max_concurrent=tc.max_concurrent_trials,
            time_budget_s=tc.time_budget_s,
            checkpoint_config=rc.checkpoint_config,
            failure_config=rc.failure_config,
            trial_name_creator=tc.trial_name_creator,
            trial_dirname_creator=tc.trial_dirname_creator,
            log_files=log_file_names(rc.log_to_file),
            constraints=tuple(tc.constraints or ()),
        )
        executor = self._executor
        if executor is None:
            from tuner.executors._local import LocalExecutor

            executor = LocalExecutor()
        if protocol_of(fs) == "memory" and not executor.shares_driver_memory:
            raise ConfigError(
                f"storage_path {rc.storage_path!r} is in this process's memory, which the "
                f"{type(executor).__name__}'s worker processes cannot write to: use "
                "executor=InProcessExecutor(), or a local or s3:// storage path"
            )
        scheduler = build_scheduler(
            tc, rc.checkpoint_config, self._kind, trainable_name(self._trainable), searcher,
            self._param_space,
        )
        stopper = make_stopper(rc.stop)
        resumed: dict[str, Any] = {}
        if restored is not None:
            from tuner.state._restore import resume_components, stage_trial_outputs

            resumed = resume_components(
                restored.state,
                searcher=searcher,
                scheduler=scheduler,
                stopper=stopper,
                fs=fs,
                exp_path=path,
                resume_unfinished=restored.resume_unfinished,
                resume_errored=restored.resume_errored,
                restart_errored=restored.restart_errored,
                clock=self._clock,
            )
            if not local:
                # Loggers append to the staged copies, which the syncer then uploads whole.
                stage_trial_outputs(fs, resumed["trials"], local_path)
            from tuner.output._policy_log import rewind_policy_log

            resumed["policy_records"] = rewind_policy_log(
                fs, path, local_path, resumed["policy_records"]
            )
        reporter = StatusReporter(
            rc.verbose,
            total_trials=expected_trials(searcher, cap_trials=cap, num_samples=tc.num_samples),
            time_budget_s=tc.time_budget_s,
            # Lines are spaced in real time even when the experiment's clock is virtual.
            pace=None if self._real_clock is self._clock else self._real_clock.monotonic,
        )
        controller = TuneController(
            settings,
            executor=executor,
            searcher=searcher,
            scheduler=scheduler,
            stopper=stopper,
            callbacks=callbacks,
            clock=self._clock,
            reporter=reporter,
            experiment_id=resumed.get("experiment_id", secrets.token_hex(3)[:5]),
            trials=resumed.get("trials"),
            elapsed_before=resumed.get("elapsed_s", 0.0),
            searcher_finished=resumed.get("searcher_finished", False),
            restored=restored is not None,
            policy_records=resumed.get("policy_records", 0),
        )
        reporter.watch(controller.trials)
        period = checkpoint_period_setting(rc.experiment_checkpoint_period_s)
        # A fixed period is the experiment's time (virtual in a simulation). The "auto" rule
        # bounds what saving costs, which is the driver's own real work even in a simulation
        # (where a save takes no virtual time): it is kept on the real clock.
        saver_clock = self._clock if period is not None else self._real_clock
        saver = ExperimentSaver(
            fs,
            path,
            header=lambda: self._state_header(controller, searcher, scheduler, stopper),
            trials=lambda: controller.trials,
            period_s=period,
            sequence=int(restored.state.get("sequence", 0)) if restored is not None else 0,
            before_save=lambda: flush_outputs(callbacks, syncer),
            finished=lambda: (
                controller.trials.count(TrialStatus.TERMINATED)
                + controller.trials.count(TrialStatus.ERROR)
            ),
            clock=saver_clock,
        )
        self.last_saver = saver
        controller.periodic.append(self._on_real_time(Flusher(callbacks, syncer)))
        controller.periodic.append(
            saver if saver_clock is self._clock else ClockedTask(saver, saver_clock)
        )

        def lock_lost() -> None:
            # Another run holds the experiment now: its state must not be overwritten by ours.
            saver.disable("another run took over the experiment's lock")
            controller.interrupt()

        controller.periodic.append(self._on_real_time(lock.heartbeat(on_lost=lock_lost)))
        executor.setup(self._trainable, self._kind, self._clock, reuse=tc.reuse_actors)
        executor.check_storage(fs, path)
        try:
            with interrupts_pause(controller):
                controller.run()
        except KeyboardInterrupt:
            raise  # the second Ctrl-C: the state saved last stays as it is
        except BaseException:
            self._finish(callbacks, syncer, saver)
            raise
        self._finish(callbacks, syncer, saver)
        if saver.disabled is not None:
            sys.stderr.write(
                f"[tuner] stopped without saving: {saver.disabled} ({path}); continue from that "
                "run's state\n"
            )
        elif controller.stop_reason is StopReason.INTERRUPTED:
            sys.stderr.write(
                f"[tuner] experiment saved; resume it with Tuner.restore({path!r}, "
                "trainable=...).fit()\n"
            )
        self._results = self._grid(controller)
        return self._results

    def _on_real_time(self, task: Any) -> Any:
        """`task`, scheduled on the real clock when the engine runs on virtual time."""
        return task if self._real_clock is self._clock else ClockedTask(task, self._real_clock)

    @staticmethod
    def _finish(callbacks: list[Callback], syncer: Any, saver: ExperimentSaver) -> None:
        saver.save()
        if syncer is not None:
            syncer.close()
            shutil.rmtree(syncer.local_root, ignore_errors=True)  # all of it is on storage now

    def _state_header(
        self,
        controller: TuneController,
        searcher: Searcher,
        scheduler: TrialScheduler,
        stopper: Any,
    ) -> dict[str, Any]:
        from tuner.state._restore import state_header

        return state_header(
            controller,
            trainable_name=trainable_name(self._trainable),
            kind=self._kind,
            param_space=self._param_space,
            tune_config=self._tune_config,
            run_config=self._run_config,
            searcher=searcher,
            scheduler=scheduler,
            stopper=stopper,
        )

    def get_results(self) -> ResultGrid:
        """The results of the last `fit()`, or of the restored experiment without running it.

        As Ray Tune's `Tuner.get_results()`: after `Tuner.restore(path, ...)` it reads the
        experiment as saved (like `ResultGrid.from_path`), so a script can look at results
        without training again.

        Raises:
            TuneError: This Tuner neither ran `fit()` nor was restored.
        """
        if self._results is not None:
            return self._results
        if self._restored is not None:
            from tuner.analysis._read import SavedExperiment, user_url

            fs, path = self._restored.fs, self._restored.path
            experiment = SavedExperiment(user_url(fs, path), fs, path, self._restored.state)
            return ResultGrid(experiment.results(), experiment_path=path,
                              metric=experiment.metric, mode=experiment.mode,
                              constraints=experiment.constraints)
        raise TuneError(
            "this Tuner has no results yet: call fit() first, or build it with "
            "Tuner.restore(path, trainable) to read a saved experiment's"
        )

    def _grid(self, controller: TuneController) -> ResultGrid:
        settings = controller.settings
        checkpoint_config = dataclasses.asdict(settings.checkpoint_config)
        # Trials the searcher suggested but the experiment ended before they started (a time
        # budget, a stopper) have no results: they are in the saved state, not in the grid.
        results = [
            result_from_trial(trial, settings.filesystem, checkpoint_config)
            for trial in controller.trials
            if not (trial.never_started and trial.status is TrialStatus.TERMINATED)
        ]
        return ResultGrid(
            results, experiment_path=settings.path, metric=settings.metric, mode=settings.mode,
            constraints=self._tune_config.constraints,
        )


