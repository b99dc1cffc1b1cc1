"""tuner: a fast, crash-safe hyperparameter tuning engine with a Ray Tune compatible API.

Example:
    >>> from tuner import Tuner, TuneConfig, report, loguniform
    >>> def train_fn(config):
    ...     for step in range(10):
    ...         report({"loss": (config["lr"] - 0.01) ** 2 / (step + 1)})
    >>> grid = Tuner(train_fn, param_space={"lr": loguniform(1e-4, 1e-1)},
    ...              tune_config=TuneConfig(metric="loss", mode="min", num_samples=8)).fit()
    ...     # doctest: +SKIP
"""

import typing as _typing

from searchers._lazy import lazy_exports as _lazy_exports
from tuner._version import __version__ as __version__

if _typing.TYPE_CHECKING:
    from schedulers import FIFOScheduler, TrialScheduler
    from searchers import (
        BasicVariantGenerator,
        Searcher,
        choice,
        grid_search,
        lograndint,
        loguniform,
        qlograndint,
        qloguniform,
        qrandint,
        qrandn,
        quniform,
        randint,
        randn,
        sample_from,
        uniform,
    )
    from tuner._callback import Callback, TrialInfo
    from tuner._clock import FakeClock, SystemClock
    from tuner._config import CheckpointConfig, FailureConfig, RunConfig, TuneConfig
    from tuner._session import (
        TrialContext,
        get_checkpoint,
        get_context,
        get_preemption_info,
        report,
    )
    from tuner._trainable import Trainable, with_resources
    from tuner._tuner import Tuner
    from tuner._with_parameters import with_parameters
    from tuner.analysis._result import Result
    from tuner.analysis._result_grid import ResultGrid
    from tuner.exceptions import (
        CheckpointError,
        ComponentError,
        ConfigError,
        ExperimentLockedError,
        RestoreError,
        SchedulerError,
        SearcherError,
        StorageError,
        TrainingFailedError,
        TrialError,
        TuneError,
        WorkerDiedError,
        WorkerGroupError,
    )
    from tuner.executors._base import Executor
    from tuner.executors._in_process import InProcessExecutor
    from tuner.executors._local import LocalExecutor
    from tuner.executors._simulated import SimulatedExecutor
    from tuner.executors.dask._executor import DaskExecutor
    from tuner.stopper import (
        CombinedStopper,
        ExperimentPlateauStopper,
        FunctionStopper,
        MaximumIterationStopper,
        Stopper,
        TimeoutStopper,
        TrialPlateauStopper,
    )
    from tuner.storage._checkpoint import Checkpoint
    from tuner.torch._data_parallel import DataParallelTrainer
    from tuner.torch._scaling import ScalingConfig

# Every public name is imported on first use (PEP 562), so that `import tuner` costs only what
# is used: a worker process, which imports `tuner.executors._worker` and so this package, loads
# the session and the protocol, not the loop, the schedulers or the searchers; a script loads
# the loop with `Tuner`, and the executors, torch's and dask's parts when it names them.
__getattr__, __dir__ = _lazy_exports(
    globals(),
    {
        "BasicVariantGenerator": "searchers",
        "Callback": "tuner._callback",
        "Checkpoint": "tuner.storage._checkpoint",
        "CheckpointConfig": "tuner._config",
        "CheckpointError": "tuner.exceptions",
        "CombinedStopper": "tuner.stopper",
        "ComponentError": "tuner.exceptions",
        "ConfigError": "tuner.exceptions",
        "Executor": "tuner.executors._base",
        "ExperimentLockedError": "tuner.exceptions",
        "ExperimentPlateauStopper": "tuner.stopper",
        "FIFOScheduler": "schedulers",
        "FailureConfig": "tuner._config",
        "FakeClock": "tuner._clock",
        "FunctionStopper": "tuner.stopper",
        "MaximumIterationStopper": "tuner.stopper",
        "RestoreError": "tuner.exceptions",
        "RunConfig": "tuner._config",
        "SchedulerError": "tuner.exceptions",
        "Searcher": "searchers",
        "SearcherError": "tuner.exceptions",
        "Stopper": "tuner.stopper",
        "StorageError": "tuner.exceptions",
        "SystemClock": "tuner._clock",
        "TimeoutStopper": "tuner.stopper",
        "Trainable": "tuner._trainable",
        "TrainingFailedError": "tuner.exceptions",
        "TrialContext": "tuner._session",
        "TrialError": "tuner.exceptions",
        "TrialInfo": "tuner._callback",
        "TrialPlateauStopper": "tuner.stopper",
        "TrialScheduler": "schedulers",
        "TuneConfig": "tuner._config",
        "TuneError": "tuner.exceptions",
        "WorkerDiedError": "tuner.exceptions",
        "WorkerGroupError": "tuner.exceptions",
        "choice": "searchers",
        "get_checkpoint": "tuner._session",
        "get_context": "tuner._session",
        "get_preemption_info": "tuner._session",
        "grid_search": "searchers",
        "lograndint": "searchers",
        "loguniform": "searchers",
        "qlograndint": "searchers",
        "qloguniform": "searchers",
        "qrandint": "searchers",
        "qrandn": "searchers",
        "quniform": "searchers",
        "randint": "searchers",
        "randn": "searchers",
        "report": "tuner._session",
        "sample_from": "searchers",
        "uniform": "searchers",
        "with_parameters": "tuner._with_parameters",
        "with_resources": "tuner._trainable",
        "DaskExecutor": "tuner.executors.dask._executor",
        "DataParallelTrainer": "tuner.torch._data_parallel",  # Ray Train's name
        "InProcessExecutor": "tuner.executors._in_process",
        "LocalExecutor": "tuner.executors._local",
        "Result": "tuner.analysis._result",
        "ResultGrid": "tuner.analysis._result_grid",
        "ScalingConfig": "tuner.torch._scaling",
        "SimulatedExecutor": "tuner.executors._simulated",
        "Tuner": "tuner._tuner",
    },
    # Ray Tune's `tune.schedulers`, `tune.search`, `tune.stopper`, `tune.experiment`,
    # `tune.logger`, `tune.result`: the submodules `tuner.<name>`.
    submodules=("schedulers", "search", "stopper", "experiment", "logger", "result"),
)


__all__ = [
    "BasicVariantGenerator",
    "Callback",
    "Checkpoint",
    "CheckpointConfig",
    "CheckpointError",
    "CombinedStopper",
    "ComponentError",
    "ConfigError",
    "DaskExecutor",
    "DataParallelTrainer",
    "Executor",
    "ExperimentLockedError",
    "ExperimentPlateauStopper",
    "FIFOScheduler",
    "FailureConfig",
    "FakeClock",
    "FunctionStopper",
    "InProcessExecutor",
    "LocalExecutor",
    "MaximumIterationStopper",
    "RestoreError",
    "Result",
    "ResultGrid",
    "RunConfig",
    "ScalingConfig",
    "SchedulerError",
    "Searcher",
    "SearcherError",
    "SimulatedExecutor",
    "Stopper",
    "StorageError",
    "SystemClock",
    "TimeoutStopper",
    "Trainable",
    "TrainingFailedError",
    "TrialContext",
    "TrialError",
    "TrialInfo",
    "TrialPlateauStopper",
    "TrialScheduler",
    "TuneConfig",
    "TuneError",
    "Tuner",
    "WorkerDiedError",
    "WorkerGroupError",
    "choice",
    "get_checkpoint",
    "get_context",
    "get_preemption_info",
    "grid_search",
    "lograndint",
    "loguniform",
    "qlograndint",
    "qloguniform",
    "qrandint",
    "qrandn",
    "quniform",
    "randint",
    "randn",
    "report",
    "sample_from",
    "uniform",
    "with_parameters",
    "with_resources",
]
