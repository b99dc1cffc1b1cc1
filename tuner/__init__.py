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
from searchers._lazy import lazy_exports as _lazy_exports
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
from tuner._version import __version__ as __version__
from tuner._with_parameters import with_parameters
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

if _typing.TYPE_CHECKING:
    from tuner._tuner import Tuner
    from tuner.analysis._result import Result
    from tuner.analysis._result_grid import ResultGrid
    from tuner.executors._in_process import InProcessExecutor
    from tuner.executors._local import LocalExecutor
    from tuner.executors._simulated import SimulatedExecutor
    from tuner.executors.dask._executor import DaskExecutor
    from tuner.torch._data_parallel import DataParallelTrainer
    from tuner.torch._scaling import ScalingConfig

# What `Tuner` itself needs is imported above. These are imported on first use (PEP 562), so
# that `import tuner` stays fast: the executors (the default LocalExecutor is built by `fit()`
# when none is given), and torch's and dask's parts, which import torch and dask.
__getattr__, __dir__ = _lazy_exports(
    globals(),
    {
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
