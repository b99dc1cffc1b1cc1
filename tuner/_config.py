"""Settings objects passed to the `Tuner`: frozen, validated on construction."""

from __future__ import annotations

import numbers
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from searchers._constraints import parse_constraints
from searchers._objective import check_mode
from searchers._ranking import Ranking, check_objectives
from tuner.exceptions import ConfigError
from tuner.storage._names import check_name

if TYPE_CHECKING:
    import fsspec

    from schedulers import TrialScheduler
    from searchers import Searcher
    from tuner._callback import Callback
    from tuner.experiment import Trial
    from tuner.stopper import Stopper


def _is_int(value: Any) -> bool:
    """Whether `value` is an integer (numpy's too), but not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


@dataclass(frozen=True)
class TuneConfig:
    """What to search and how.

    Attributes:
        metric: The result key to optimise; needed by schedulers, searchers and best-result
            lookups. A list of keys optimises them together (multi-objective: trials are ranked
            by non-dominated sorting, and `ResultGrid.get_pareto_front()` gives the front).
        mode: "min" or "max"; given together with `metric` (a list of one per metric for a
            list of metrics).
        constraints: Bounds on reported metrics, such as ``["memory_mb <= 512",
            "accuracy >= 0.9"]`` (a name, ``<=``/``>=``/``<``/``>``, a number). Feasible trials
            rank before infeasible ones everywhere (best result, Pareto front, schedulers,
            model-based searchers); infeasible ones rank by their total violation.
        search_alg: A `searchers.Searcher`; random/grid search (`BasicVariantGenerator`) if None.
        scheduler: A `schedulers.TrialScheduler`; `FIFOScheduler` if None.
        num_samples: How often the search space is sampled (grids repeat this often). -1 samples
            without end, so something else must end the experiment: `time_budget_s`, a
            `RunConfig(stop=...)` Stopper that can end it all (`TimeoutStopper`,
            `ExperimentPlateauStopper`, or one of your own whose `stop_all()` may return True),
            or a search algorithm of your own that returns `FINISHED`; `Tuner.fit()` raises
            `ConfigError` when none does (per-trial stop criteria do not end the sampling).
        max_concurrent_trials: Upper bound on trials running at once (resources also bound it).
        time_budget_s: Wall-clock seconds after which the experiment stops.
        reuse_actors: Reuse worker processes (and class trainables via `reset_config`) across
            trials; False gives every trial a fresh process. A process whose trial failed is
            never reused.
        seed: Makes the sampled configurations reproducible.
        trial_name_creator: Optional ``f(trial) -> str`` (a `tuner.experiment.Trial`): the
            trial's display name (``str(trial)``, ``get_context().get_trial_name()``), and its
            directory's name unless `trial_dirname_creator` is given. The earlier form
            ``f(trial_id, config)`` still works (told apart by its signature).
        trial_dirname_creator: Optional ``f(trial) -> str``: the name of the trial's directory
            under the experiment. Directory names must be at most 255 bytes without ``/``,
            ``\\`` or NUL; one already taken gets ``_<trial_id>`` appended. A restored
            experiment keeps its trials' directories.

    Example:
        >>> TuneConfig(metric="loss", mode="min", num_samples=20).num_samples
        20
    """

    metric: str | list[str] | None = None
    mode: Literal["min", "max"] | list[Literal["min", "max"]] | None = None
    search_alg: Searcher | None = None
    scheduler: TrialScheduler | None = None
    num_samples: int = 1
    max_concurrent_trials: int | None = None
    time_budget_s: float | None = None
    reuse_actors: bool = True
    seed: int | None = None
    trial_name_creator: Callable[[Trial], str] | Callable[[str, Mapping[str, Any]], str] | None = (
        None
    )
    trial_dirname_creator: Callable[[Trial], str] | None = None
    constraints: Sequence[str] | None = None

    def __post_init__(self) -> None:
        metric, mode = check_objectives(
            self.metric, self.mode, owner="TuneConfig", multi_ok=True, error=ConfigError
        )
        object.__setattr__(self, "metric", metric)
        object.__setattr__(self, "mode", mode)
        if self.constraints is not None:
            try:
                parse_constraints(self.constraints)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"TuneConfig(constraints=...): {exc}") from None
            object.__setattr__(self, "constraints", list(self.constraints) or None)
        if (self.metric is None) != (self.mode is None):
            raise ConfigError(
                "TuneConfig needs metric and mode together, got "
                f"metric={self.metric!r}, mode={self.mode!r}: set both or neither"
            )
        if not _is_int(self.num_samples):
            raise ConfigError(
                f"num_samples must be an int, got num_samples={self.num_samples!r} "
                f"({type(self.num_samples).__name__})"
            )
        if self.num_samples < 1 and self.num_samples != -1:
            raise ConfigError(
                f"num_samples must be >= 1 (or -1 to sample until a stop criterion or the time "
                f"budget ends the experiment), got num_samples={self.num_samples}"
            )
        if self.max_concurrent_trials is not None and not _is_int(self.max_concurrent_trials):
            raise ConfigError(
                "max_concurrent_trials must be an int or None (no limit beyond resources), got "
                f"max_concurrent_trials={self.max_concurrent_trials!r} "
                f"({type(self.max_concurrent_trials).__name__})"
            )
        # numpy integers are fine but stored as ints: settings are saved as JSON.
        object.__setattr__(self, "num_samples", int(self.num_samples))
        if self.max_concurrent_trials is not None:
            object.__setattr__(self, "max_concurrent_trials", int(self.max_concurrent_trials))
        if self.max_concurrent_trials is not None and self.max_concurrent_trials < 1:
            raise ConfigError(
                "max_concurrent_trials must be >= 1 or None (no limit beyond resources), got "
                f"max_concurrent_trials={self.max_concurrent_trials}"
            )
        budget = self.time_budget_s
        if budget is not None and (
            isinstance(budget, bool) or not isinstance(budget, numbers.Real) or not budget > 0
        ):
            raise ConfigError(
                f"time_budget_s must be a number of seconds > 0 or None, got time_budget_s="
                f"{budget!r} ({type(budget).__name__})"
            )
        from tuner.experiment._naming import creator_arity

        if self.trial_name_creator is not None:
            creator_arity(self.trial_name_creator, "trial_name_creator")  # 1, or 2 (earlier form)
        dirname = self.trial_dirname_creator
        if dirname is not None and creator_arity(dirname, "trial_dirname_creator") != 1:
            raise ConfigError(
                "TuneConfig(trial_dirname_creator) is called with one argument, the trial (a "
                f"tuner.experiment.Trial), but {dirname!r} needs two: define it as "
                "def dirname(trial) -> str"
            )
        if not isinstance(self.reuse_actors, bool):
            raise ConfigError(
                f"reuse_actors must be True or False, got reuse_actors={self.reuse_actors!r} "
                f"({type(self.reuse_actors).__name__})"
            )

    @property
    def ranking(self) -> Ranking | None:
        """The objectives and constraints trials are ranked by (None without a metric)."""
        if self.metric is None or self.mode is None:
            return None
        return Ranking.of(self.metric, self.mode, self.constraints or ())


@dataclass(frozen=True)
class CheckpointConfig:
    """Which checkpoints to keep, and when class trainables checkpoint.

    Attributes:
        num_to_keep: Keep at most this many checkpoints per trial (None keeps all). Without a
            score attribute the oldest go first, otherwise the worst-scoring; the newest one of a
            trial that may still resume, and any another trial still needs, are never deleted.
        checkpoint_score_attribute: Result key that ranks checkpoints.
        checkpoint_score_order: "max" (higher is better) or "min".
        checkpoint_frequency: Class trainables checkpoint every N iterations (0: never).
        checkpoint_at_end: Class trainables checkpoint when they end.
    """

    num_to_keep: int | None = None
    checkpoint_score_attribute: str | None = None
    checkpoint_score_order: Literal["min", "max"] = "max"
    checkpoint_frequency: int = 0
    checkpoint_at_end: bool | None = None

    def __post_init__(self) -> None:
        if self.num_to_keep is not None and self.num_to_keep < 1:
            raise ConfigError(
                f"CheckpointConfig(num_to_keep) must be >= 1 or None (keep all), got "
                f"num_to_keep={self.num_to_keep}: to keep no checkpoints, do not report any"
            )
        check_mode(self.checkpoint_score_order, name="checkpoint_score_order",
                   owner="CheckpointConfig", error=ConfigError)
        if self.checkpoint_frequency < 0:
            raise ConfigError(
                f"checkpoint_frequency must be >= 0, got {self.checkpoint_frequency}"
            )


@dataclass(frozen=True)
class FailureConfig:
    """What happens when a trial fails.

    Attributes:
        max_failures: Retry a failed trial from its latest checkpoint up to this many times
            (-1: forever, 0: never).
        fail_fast: Stop the whole experiment at the first trial failure; "raise" also makes
            `Tuner.fit()` raise that trial's error (as in Ray Tune).
        max_preemption_failures, relax_collectives_on_preemption, preemption_grace_s: Ray
            Train V2's settings for node preemptions, accepted and checked so that Ray's
            scripts run. tuner gets no preemption notices (see `get_preemption_info`), so a
            lost worker is an ordinary failure, counted by `max_failures`.
    """

    max_failures: int = 0
    fail_fast: bool | str = False
    max_preemption_failures: int = -1
    relax_collectives_on_preemption: bool = False
    preemption_grace_s: float = 0.0

    def __post_init__(self) -> None:
        for name in ("max_failures", "max_preemption_failures"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < -1:
                raise ConfigError(
                    f"FailureConfig({name}) must be an int >= 0, or -1 (retry forever), "
                    f"got {value!r}"
                )
        if not isinstance(self.fail_fast, bool) and self.fail_fast != "raise":
            raise ConfigError(
                f"FailureConfig(fail_fast) must be True, False or 'raise', got "
                f"{self.fail_fast!r}"
            )
        if not isinstance(self.relax_collectives_on_preemption, bool):
            raise ConfigError(
                "FailureConfig(relax_collectives_on_preemption) must be True or False, got "
                f"{self.relax_collectives_on_preemption!r}"
            )
        grace = self.preemption_grace_s
        if isinstance(grace, bool) or not isinstance(grace, int | float) or grace < 0:
            raise ConfigError(
                f"FailureConfig(preemption_grace_s) must be a number of seconds >= 0, got "
                f"{grace!r}"
            )


@dataclass(frozen=True)
class RunConfig:
    """Where results go and when trials stop.

    Attributes:
        name: Experiment name, the directory under `storage_path` (default: trainable name + time).
        storage_path: A local path or any fsspec URL (s3://, memory://, ...); default
            `~/tuner_results`.
        storage_filesystem: An fsspec filesystem to use instead of the one the URL implies
            (for custom credentials or endpoints).
        stop: A dict of `{result_key: bound}`, a callable `(trial_id, result) -> bool`, or a Stopper.
        callbacks: `Callback` instances, called in this order, before the built-in loggers
            (``result.json``, ``progress.csv``, TensorBoard), which are left out where this
            holds one of their class already. Hooks are checked here: one whose signature fits
            neither Ray Tune's form nor the earlier one raises `ConfigError`.
        checkpoint_config: Checkpoint retention and frequency.
        failure_config: Retries and fail-fast.
        verbose: 0 silent, 1 a status line now and then (default), 2 a table, 3 every result.
        experiment_checkpoint_period_s: Seconds between experiment state saves, or "auto" (at most
            5% of wall time); the environment variable TUNE_GLOBAL_CHECKPOINT_S overrides it.
        log_to_file: Write what each trial prints into its directory (as Ray Tune does): True
            for ``stdout`` and ``stderr`` files, a file name for both in one file, or a pair of
            names. Trials in worker processes redirect their file descriptors (output of C
            extensions included); threads of `InProcessExecutor` redirect `sys.stdout` and
            `sys.stderr` only, and only while one trial runs at a time.
    """

    name: str | None = None
    storage_path: str | os.PathLike[str] | None = None
    storage_filesystem: fsspec.AbstractFileSystem | None = None
    stop: Mapping[str, float] | Callable[[str, Mapping[str, Any]], bool] | Stopper | None = None
    callbacks: Sequence[Callback] = ()
    checkpoint_config: CheckpointConfig = CheckpointConfig()
    failure_config: FailureConfig = FailureConfig()
    verbose: int = 1
    experiment_checkpoint_period_s: float | Literal["auto"] = "auto"
    log_to_file: bool | str | tuple[str, str] = False
    dashboard: bool | int = False

    def __post_init__(self) -> None:
        log_file_names(self.log_to_file)  # a ConfigError now for a bad value
        board = self.dashboard
        if not (isinstance(board, bool) or (isinstance(board, int) and 0 <= board <= 65535)):
            raise ConfigError(
                f"RunConfig(dashboard) must be True, False or a port number from 0 to 65535 "
                f"(0: any free port), got {board!r}"
            )
        if self.verbose not in (0, 1, 2, 3):
            raise ConfigError(f"verbose must be 0, 1, 2 or 3, got verbose={self.verbose!r}")
        if self.name is not None:
            check_name(self.name, what="RunConfig(name)",
                       fix="pass a name of at most 255 bytes (UTF-8) without '/', '\\' or NUL")
        period = self.experiment_checkpoint_period_s
        if period != "auto" and (not isinstance(period, int | float) or period <= 0):
            raise ConfigError(
                "experiment_checkpoint_period_s must be a number of seconds > 0 or 'auto', got "
                f"{period!r}"
            )
        if self.callbacks is None:  # Ray's default
            object.__setattr__(self, "callbacks", ())
        from tuner._callback_hooks import hook_forms

        for callback in self.callbacks:
            hook_forms(callback)  # a ConfigError now, not mid-experiment, for a hook no form fits


def log_file_names(log_to_file: Any) -> tuple[str, str] | None:
    """The (stdout, stderr) file names `RunConfig(log_to_file=...)` asks for, or None.

    Raises:
        ConfigError: Not False/True, a file name, or a pair of them.
    """
    if log_to_file is False or log_to_file is None:
        return None
    if log_to_file is True:
        return ("stdout", "stderr")
    names = (log_to_file, log_to_file) if isinstance(log_to_file, str) else log_to_file
    if not (isinstance(names, tuple | list) and len(names) == 2):
        raise ConfigError(
            f"RunConfig(log_to_file) must be True, a file name or a (stdout, stderr) pair of "
            f"names, got {log_to_file!r}"
        )
    for name in names:
        check_name(name, what="RunConfig(log_to_file)",
                   fix="pass a file name (it is created in each trial's directory)")
    return (str(names[0]), str(names[1]))
