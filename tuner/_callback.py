"""The callback interface: hooks the event loop calls as the experiment and its trials go on.

`Callback` has Ray Tune's hooks, called with keyword arguments; `LoggerCallback` is Ray's base
for loggers; `TrialInfo` is what hooks in this engine's earlier form get. How the event loop
calls them is `tuner._callback_hooks`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tuner.experiment import Trial
    from tuner.stopper import Stopper
    from tuner.storage._checkpoint import Checkpoint


class Callback:
    """Hooks the event loop calls; subclass and override the ones you need (Ray Tune's form).

    Every hook is called with keyword arguments: ``iteration`` (how many turns the event loop
    made), ``trials`` (every trial so far, a tuple of `tuner.experiment.Trial` in creation order),
    ``trial`` (the one concerned) and, for some, ``result`` or ``checkpoint``. Accept ``**info``
    for arguments later versions may add.

    Life cycle: `setup` once; `on_step_begin` / `on_step_end` around each turn of the loop; per
    trial `on_trial_start` whenever it starts or resumes (followed by `on_trial_restore` when it
    resumes from a checkpoint), `on_trial_result` per result (which may set
    ``result["should_checkpoint"] = True`` or call ``trial.checkpoint_now()``), `on_checkpoint`
    and `on_trial_save` per checkpoint it persists, `on_trial_pause` when the scheduler pauses it,
    `on_trial_recover` when it failed and will be retried, and at its end one of
    `on_trial_complete` / `on_trial_error` (after the scheduler and searcher heard of it);
    `flush` now and then and before files are copied to storage; `on_experiment_end` once.

    `on_trial_pause` and `flush` are this engine's additions. Hooks run on the event loop's
    thread, so they must be quick: buffer, and write in `flush`.

    Hooks written in this engine's earlier form, ``on_trial_start(self, trial_info)``,
    ``on_trial_result(self, trial_info, result)``, ``on_trial_pause(self, trial_info)``,
    ``on_trial_complete(self, trial_info)``, ``on_trial_error(self, trial_info, error)`` (called
    for every failure), ``on_experiment_end(self, trial_infos)`` and
    ``setup(self, experiment_local_path)``, still work: they are told apart by their signature,
    called with a `TrialInfo` as before, and a warning names the form to move to.

    Example:
        >>> import tuner as tune
        >>> class PrintLoss(tune.Callback):
        ...     def on_trial_result(self, iteration, trials, trial, result, **info):
        ...         print(f"{trial}: loss={result['loss']}")
    """

    def setup(
        self,
        stop: Stopper | None = None,
        num_samples: int | None = None,
        total_num_samples: int | None = None,
        **info: Any,
    ) -> None:
        """Called once before the first trial starts.

        Args:
            stop: The experiment's stopper (`RunConfig(stop=...)` made a `Stopper`), or None.
            num_samples: `TuneConfig(num_samples)`.
            total_num_samples: How many trials there will be, if known (grids count theirs).
            **info: Also ``time_budget_s``, and ``clock``: the clock the experiment runs on
                (``clock.time()`` is the Unix time it says; virtual time under
                `SimulatedExecutor`), for callbacks that stamp what they write.
        """

    def on_step_begin(self, iteration: int, trials: Sequence[Trial], **info: Any) -> None:
        """A turn of the event loop begins."""

    def on_step_end(self, iteration: int, trials: Sequence[Trial], **info: Any) -> None:
        """A turn of the event loop ended (`iteration` was counted up before)."""

    def on_trial_start(
        self, iteration: int, trials: Sequence[Trial], trial: Trial, **info: Any
    ) -> None:
        """A trial started, or resumed after a pause, a failure or a restore."""

    def on_trial_restore(
        self, iteration: int, trials: Sequence[Trial], trial: Trial, **info: Any
    ) -> None:
        """A trial that just started resumes from a checkpoint (`trial.checkpoint`)."""

    def on_trial_save(
        self, iteration: int, trials: Sequence[Trial], trial: Trial, **info: Any
    ) -> None:
        """A trial persisted a checkpoint (right after `on_checkpoint`)."""

    def on_trial_result(
        self,
        iteration: int,
        trials: Sequence[Trial],
        trial: Trial,
        result: dict[str, Any],
        **info: Any,
    ) -> None:
        """A trial reported `result` (with the auto-filled fields); it may be changed in place.

        The stopper, scheduler and searcher saw it before; loggers after (so they record what a
        callback adds). ``result["should_checkpoint"] = True`` makes a class trainable save a
        checkpoint of this result's state.
        """

    def on_trial_pause(
        self, iteration: int, trials: Sequence[Trial], trial: Trial, **info: Any
    ) -> None:
        """The scheduler paused a trial; `on_trial_start` follows when it resumes."""

    def on_trial_complete(
        self, iteration: int, trials: Sequence[Trial], trial: Trial, **info: Any
    ) -> None:
        """A trial ended without error (TERMINATED)."""

    def on_trial_recover(
        self, iteration: int, trials: Sequence[Trial], trial: Trial, **info: Any
    ) -> None:
        """A trial failed and will be retried (`trial.get_error()` tells why)."""

    def on_trial_error(
        self, iteration: int, trials: Sequence[Trial], trial: Trial, **info: Any
    ) -> None:
        """A trial failed for good (ERROR; `trial.error_file` holds the tracebacks)."""

    def on_checkpoint(
        self,
        iteration: int,
        trials: Sequence[Trial],
        trial: Trial,
        checkpoint: Checkpoint,
        **info: Any,
    ) -> None:
        """A trial persisted `checkpoint` (now `trial.checkpoint`)."""

    def on_experiment_end(self, trials: Sequence[Trial], **info: Any) -> None:
        """The experiment ended (normally, on error, or interrupted)."""

    def flush(self) -> None:
        """Write buffered output; called periodically and before storage syncs."""


class LoggerCallback(Callback):
    """Base class for loggers (Ray Tune's): override the ``log_trial_*`` methods.

    The hooks call them: `on_trial_start` -> `log_trial_start`, `on_trial_restore` ->
    `log_trial_restore`, `on_trial_save` -> `log_trial_save`, `on_trial_result` ->
    `log_trial_result`, `on_trial_complete` / `on_trial_error` -> `log_trial_end` (with
    ``failed``). A logger must release what it holds for a trial (close its files) in
    `log_trial_end`; write files into `trial.local_path`, which the engine copies to the
    experiment's storage (which may be remote). Loggers run after the other callbacks, so they
    record what those add to a result.

    Example:
        >>> import os
        >>> from tuner.logger import LoggerCallback
        >>> class StepLog(LoggerCallback):
        ...     def log_trial_result(self, iteration, trial, result):
        ...         with open(os.path.join(trial.local_path, "steps.txt"), "a") as f:
        ...             f.write(f"{result['training_iteration']}\\n")
    """

    def log_trial_start(self, trial: Trial) -> None:
        """A trial started or resumed."""

    def log_trial_restore(self, trial: Trial) -> None:
        """A trial resumes from a checkpoint."""

    def log_trial_save(self, trial: Trial) -> None:
        """A trial persisted a checkpoint."""

    def log_trial_result(self, iteration: int, trial: Trial, result: dict[str, Any]) -> None:
        """A trial reported `result` (`iteration` is the event loop's turn)."""

    def log_trial_end(self, trial: Trial, failed: bool = False) -> None:
        """A trial ended: `failed` if it ended in ERROR."""

    def on_trial_start(
        self, iteration: int, trials: Sequence[Trial], trial: Trial, **info: Any
    ) -> None:
        self.log_trial_start(trial)

    def on_trial_restore(
        self, iteration: int, trials: Sequence[Trial], trial: Trial, **info: Any
    ) -> None:
        self.log_trial_restore(trial)

    def on_trial_save(
        self, iteration: int, trials: Sequence[Trial], trial: Trial, **info: Any
    ) -> None:
        self.log_trial_save(trial)

    def on_trial_result(
        self,
        iteration: int,
        trials: Sequence[Trial],
        trial: Trial,
        result: dict[str, Any],
        **info: Any,
    ) -> None:
        self.log_trial_result(iteration, trial, result)

    def on_trial_complete(
        self, iteration: int, trials: Sequence[Trial], trial: Trial, **info: Any
    ) -> None:
        self.log_trial_end(trial, failed=False)

    def on_trial_error(
        self, iteration: int, trials: Sequence[Trial], trial: Trial, **info: Any
    ) -> None:
        self.log_trial_end(trial, failed=True)


@dataclass(frozen=True)
class TrialInfo:
    """What a callback in the earlier form (``on_trial_result(self, trial_info, result)``) gets.

    Attributes:
        trial_id: Unique id within the experiment.
        name: The trial directory's name.
        config: The trial's resolved hyperparameters.
        local_path: A local directory where callbacks may write this trial's output files; the
            engine copies them to the experiment's storage (which may be remote).
        status: The trial's status name when the hook was called (PENDING, RUNNING, ...).
    """

    trial_id: str
    name: str
    config: Mapping[str, Any]
    local_path: str
    status: str = "PENDING"
