"""`TorchTrainer`: data-parallel training on a group of processes, as one trial of the engine."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from tuner._config import RunConfig, TuneConfig
from tuner._trainable import WithResources, with_resources
from tuner.exceptions import ConfigError, TrainingFailedError, TrialError, WorkerGroupError
from tuner.torch._config import TorchConfig
from tuner.torch._scaling import ScalingConfig

if TYPE_CHECKING:
    from tuner.analysis._result import Result

_CONFIG_KEY = "train_loop_config"
_SCALING_KEY = "scaling_config"


class GroupTrainable:
    """The function trainable a `TorchTrainer` runs as: one call runs one worker group.

    Picklable (the engine sends it to a worker process with cloudpickle). The trial's config
    may hold ``{"train_loop_config": {...}}`` (what a `Tuner` samples), whose keys override the
    trainer's own `train_loop_config`, and ``{"scaling_config": {...}}``, whose fields override
    its `ScalingConfig` (so a trial's group size can be tuned).
    """

    def __init__(
        self,
        train_fn: Callable[..., Any],
        train_loop_config: Mapping[str, Any],
        scaling: ScalingConfig,
        torch_config: TorchConfig,
        name: str = "TorchTrainer",
    ) -> None:
        self.__name__ = name  # the experiment's default name and trainable name
        self.train_fn = train_fn
        self.train_loop_config = dict(train_loop_config)
        self.scaling = scaling
        self.torch_config = torch_config

    def __call__(self, config: dict[str, Any]) -> None:
        from tuner.torch._coordinator import run_worker_group

        check_trainer_space(config)
        overrides = config.get(_CONFIG_KEY) or {}
        if not isinstance(overrides, Mapping):
            raise ConfigError(
                f"param_space['train_loop_config'] must be a dict, got {type(overrides).__name__}"
            )
        merged = {**self.train_loop_config, **overrides}
        run_worker_group(self.train_fn, merged, self.scaling_for(config), self.torch_config)

    def scaling_for(self, config: Mapping[str, Any]) -> ScalingConfig:
        """The group of a trial with `config`: the trainer's, with the trial's fields."""
        if _SCALING_KEY not in config:
            return self.scaling
        return ScalingConfig.from_config(config[_SCALING_KEY], self.scaling)

    def resources_for(self, config: Mapping[str, Any]) -> dict[str, float]:
        """What a trial with `config` holds: the resources of its whole group."""
        return self.scaling_for(config).total_resources()


def check_trainer_space(space: Mapping[str, Any]) -> None:
    """Raise ConfigError unless `space` has only the keys a trainer's param_space takes."""
    unknown = sorted(set(space) - {_CONFIG_KEY, _SCALING_KEY})
    if unknown:
        raise ConfigError(
            f"the param_space of a TorchTrainer takes the keys {_CONFIG_KEY!r} and "
            f"{_SCALING_KEY!r} only, got {unknown}: nest them, e.g. "
            "param_space={'train_loop_config': {'lr': ...}}"
        )


def trainer_space(space: Mapping[str, Any]) -> dict[str, Any]:
    """A trainer's param_space with a `ScalingConfig` value as the dict a trial's config holds."""
    check_trainer_space(space)
    scaling = space.get(_SCALING_KEY)
    if isinstance(scaling, ScalingConfig):
        return {**space, _SCALING_KEY: scaling.as_space()}
    return dict(space)


def _reporting_to_enclosing_trial(run_config: RunConfig) -> RunConfig:
    """`run_config`, with a `TuneReportCallback` if this `fit()` runs inside a trial."""
    from tuner._session import get_context
    from tuner.integration.ray_train import TuneReportCallback

    if get_context().get_trial_id() is None:
        return run_config
    if any(isinstance(c, TuneReportCallback) for c in run_config.callbacks):
        return run_config
    return dataclasses.replace(
        run_config, callbacks=[*run_config.callbacks, TuneReportCallback()]
    )


class TorchTrainer:
    """Trains with PyTorch DistributedDataParallel on `num_workers` processes (as Ray Train).

    `train_loop_per_worker(config)` runs on every worker ("rank"), in its own process, with a
    `torch.distributed` process group set up (gloo on CPUs, nccl on GPUs, one GPU per rank).
    Inside it, `get_context()` gives `world_rank`, `local_rank` and `world_size`;
    `prepare_model`, `prepare_data_loader` and `shard` spread the work; `get_checkpoint()` is the
    checkpoint to resume from. Every rank calls `report(metrics, checkpoint=...)` at the same
    points: rank 0's metrics are the result, every rank's checkpoint files are merged into one
    checkpoint, and `report` returns on all ranks once that is persisted.

    The whole group is one trial of the engine: `fit()` runs it with a `Tuner`, so results,
    storage, checkpoint retention (`RunConfig.checkpoint_config`) and retries
    (`RunConfig.failure_config`: a failed or killed rank fails the trial, and a retry restarts
    the whole group from the latest checkpoint) work as for any trial. A trainer is also a
    trainable: ``Tuner(trainer, param_space={"train_loop_config": {...}})`` tunes it, each
    trial holding ``num_workers`` times the resources of one worker; a ``"scaling_config"``
    entry (a `ScalingConfig` whose fields may be search spaces) tunes the group too.

    Args:
        train_loop_per_worker: The train loop, `f(config)` or `f()`. Sent to the ranks with
            cloudpickle, so functions defined in `__main__` and closures work.
        train_loop_config: The config passed to it.
        scaling_config: How many workers, and their resources (`ScalingConfig`).
        run_config: Where results go, checkpoint retention, retries (`RunConfig`).
        torch_config: Process group settings (`TorchConfig`).

    Example:
        >>> import torch
        >>> from tuner import ScalingConfig, report
        >>> from tuner.torch import TorchTrainer, prepare_model
        >>> def train_loop(config):
        ...     model = prepare_model(torch.nn.Linear(4, 1))
        ...     for epoch in range(config["epochs"]):
        ...         report({"epoch": epoch})
        >>> trainer = TorchTrainer(train_loop, train_loop_config={"epochs": 3},
        ...                        scaling_config=ScalingConfig(num_workers=2))
        >>> result = trainer.fit()  # doctest: +SKIP
        >>> result.metrics["epoch"]  # doctest: +SKIP
        2
    """

    def __init__(
        self,
        train_loop_per_worker: Callable[..., Any],
        *,
        train_loop_config: Mapping[str, Any] | None = None,
        scaling_config: ScalingConfig | None = None,
        run_config: RunConfig | None = None,
        torch_config: TorchConfig | None = None,
    ) -> None:
        if importlib.util.find_spec("torch") is None:
            raise ConfigError(
                "TorchTrainer needs PyTorch, which is not installed: pip install 'tuner[torch]'"
            )
        if not callable(train_loop_per_worker):
            raise ConfigError(
                f"train_loop_per_worker must be a function f(config) or f(), got "
                f"{type(train_loop_per_worker).__name__} {train_loop_per_worker!r}"
            )
        _check_arity(train_loop_per_worker)
        if train_loop_config is not None and not isinstance(train_loop_config, Mapping):
            raise ConfigError(
                f"train_loop_config must be a dict, got {type(train_loop_config).__name__}"
            )
        for name, value, kind in (
            ("scaling_config", scaling_config, ScalingConfig),
            ("run_config", run_config, RunConfig),
            ("torch_config", torch_config, TorchConfig),
        ):
            if value is not None and not isinstance(value, kind):
                raise ConfigError(
                    f"{name} must be a {kind.__name__}, got {type(value).__name__}: e.g. "
                    f"{name}={kind.__name__}(...)"
                )
        self.train_loop_per_worker = train_loop_per_worker
        self.train_loop_config = dict(train_loop_config or {})
        self.scaling_config = scaling_config or ScalingConfig()
        self.run_config = run_config or RunConfig()
        self.torch_config = torch_config or TorchConfig()
        self._restore_path: str | os.PathLike[str] | None = None

    def as_trainable(self) -> WithResources:
        """This trainer as a trainable for `Tuner`, with the resources of its whole group.

        Example:
            >>> from tuner import ScalingConfig
            >>> trainer = TorchTrainer(lambda config: None,
            ...                        scaling_config=ScalingConfig(num_workers=3))
            >>> trainer.as_trainable().for_config({})
            {'cpu': 3.0, 'gpu': 0.0}
            >>> trainer.as_trainable().for_config({"scaling_config": {"num_workers": 1}})
            {'cpu': 1.0, 'gpu': 0.0}
        """
        trainable = GroupTrainable(
            self.train_loop_per_worker,
            self.train_loop_config,
            self.scaling_config,
            self.torch_config,
            name=type(self).__name__,
        )
        return with_resources(trainable, trainable.resources_for)

    def fit(self) -> Result:
        """Train to the end and return the trial's `Result`.

        Raises:
            ConfigError: Invalid settings, e.g. `use_gpu` where torch sees too few GPUs.
            TrainingFailedError: Training failed (after the retries `FailureConfig` allows); its
                `traceback` holds the failing rank's traceback (a `TrialError`).
        """
        from tuner._tuner import Tuner
        from tuner.torch._coordinator import check_gpus

        check_gpus(self.scaling_config)
        if self._restore_path is not None:
            tuner = Tuner.restore(
                self._restore_path, self.as_trainable(), resume_unfinished=True,
                resume_errored=True,
            )
        else:
            tuner = Tuner(
                self.as_trainable(),
                param_space={_CONFIG_KEY: dict(self.train_loop_config)},
                tune_config=TuneConfig(num_samples=1),
                run_config=_reporting_to_enclosing_trial(self.run_config),
            )
        grid = tuner.fit()
        if len(grid) != 1:
            raise ConfigError(
                f"a TorchTrainer runs one trial, but its experiment has {len(grid)}: use "
                "Tuner(trainer, param_space=...) to run several"
            )
        result = grid[0]
        # The status, not `error`: a trial that failed and then succeeded on a retry keeps the
        # error of its failure on record.
        if result.status == "ERROR" and result.error is not None:
            raise _training_failed(result, result.error)
        return result

    @classmethod
    def restore(
        cls,
        path: str | os.PathLike[str],
        *,
        train_loop_per_worker: Callable[..., Any],
        scaling_config: ScalingConfig,
        train_loop_config: Mapping[str, Any] | None = None,
        torch_config: TorchConfig | None = None,
    ) -> TorchTrainer:
        """A trainer that continues the run saved at `path` (``<storage_path>/<name>``).

        `fit()` resumes the trial from its latest checkpoint, whether the driver was killed
        or the trial failed. Settings are not pickled into the run, so pass the train loop and
        the scaling config again; the train loop config comes from the saved run (keys given
        in `train_loop_config` fill in only what it lacks).

        Example:
            >>> trainer = TorchTrainer.restore(  # doctest: +SKIP
            ...     "~/tuner_results/resnet-finetune",
            ...     train_loop_per_worker=train_loop,
            ...     scaling_config=ScalingConfig(num_workers=2),
            ... )
            >>> result = trainer.fit()  # doctest: +SKIP
        """
        trainer = cls(
            train_loop_per_worker,
            train_loop_config=train_loop_config,
            scaling_config=scaling_config,
            torch_config=torch_config,
        )
        trainer._restore_path = path
        return trainer

    @classmethod
    def can_restore(cls, path: str | os.PathLike[str]) -> bool:
        """Whether `path` holds a run that `TorchTrainer.restore` can continue."""
        from tuner._tuner import Tuner

        return Tuner.can_restore(path)


def _training_failed(result: Result, error: TrialError) -> TrainingFailedError:
    """`fit()`'s error: a `WorkerGroupError` naming the ranks where ranks failed or died.

    The cause's rank holds the trial's `error` (with the whole traceback); every other failed
    rank holds its own.
    """
    from tuner.torch._failures import read_failures

    ranks: dict[int, Exception] = {}
    for i, recorded in enumerate(read_failures(result.filesystem, result.path)):
        ranks.setdefault(recorded.rank, error if i == 0 else recorded.error())
    failure: TrainingFailedError
    if ranks:
        failure = WorkerGroupError(
            str(error), worker_failures=ranks, trial_id=error.trial_id,
            traceback=error.traceback,
        )
    else:
        failure = TrainingFailedError(str(error), trial_id=error.trial_id, traceback=error.traceback)
    failure.__cause__ = error
    return failure


def _check_arity(fn: Callable[..., Any]) -> None:
    import inspect

    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return
    arguments: tuple[tuple[Any, ...], ...] = (({},), ())
    for args in arguments:
        try:
            signature.bind(*args)
            return
        except TypeError:
            continue
    raise ConfigError(
        f"train_loop_per_worker must take one argument (config) or none, got "
        f"{getattr(fn, '__name__', fn)}{signature}"
    )
