"""Errors raised by tuner.

The tree::

    TuneError                        root of every error the engine raises on purpose
    ├── ConfigError(ValueError)      bad settings, search spaces, trainables: raised before trials start
    ├── ComponentError(ValueError)   a scheduler or searcher failed mid-experiment; names which
    │   ├── SchedulerError
    │   └── SearcherError
    ├── TrialError(RuntimeError)     a trial's trainable raised or its worker died; holds the traceback
    │   ├── WorkerDiedError          the worker process was killed (signal, os._exit, lost node)
    │   └── TrainingFailedError      `TorchTrainer.fit()` failed after its retries (Ray Train's name)
    │       └── WorkerGroupError     ... because ranks failed or died; `worker_failures` names them
    ├── StorageError(OSError)        storage URL without a backend, unreadable or half-written files
    │   └── CheckpointError          a checkpoint directory missing, not a directory, or incomplete
    ├── RestoreError(RuntimeError)   no experiment at a path, a newer state format, a trainable mismatch
    ├── ExperimentLockedError(RuntimeError)   another Tuner.fit() holds the experiment's lock
    └── IllegalTransitionError(RuntimeError)   a trial status change the state machine forbids
"""

from __future__ import annotations


class TuneError(Exception):
    """Root of every error tuner raises on purpose."""


class ConfigError(TuneError, ValueError):
    """Invalid settings, search space, trainable or stop criteria."""


class ComponentError(TuneError, ValueError):
    """A scheduler or searcher raised during the experiment; the message names which and where.

    The original exception is its ``__cause__``.
    """


class SchedulerError(ComponentError):
    """A scheduler raised (e.g. a metric it needs was not reported)."""


class SearcherError(ComponentError):
    """A searcher raised (e.g. it could not suggest from the search space)."""


class TrialError(TuneError, RuntimeError):
    """A trial failed: its trainable raised, or its worker died.

    Attributes:
        trial_id: The failed trial.
        traceback: The formatted traceback from the worker (or how the worker died).
    """

    def __init__(self, message: str, *, trial_id: str = "", traceback: str = "") -> None:
        super().__init__(message)
        self.trial_id = trial_id
        self.traceback = traceback

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_trial_error, (type(self), str(self), self.trial_id, self.traceback))


def _rebuild_trial_error(cls: type[TrialError], message: str, trial_id: str, tb: str) -> TrialError:
    return cls(message, trial_id=trial_id, traceback=tb)


class WorkerDiedError(TrialError):
    """The process running a trial died (killed by a signal, os._exit, out of memory, lost node)."""


class TrainingFailedError(TrialError):
    """`TorchTrainer.fit()` failed (after the retries `FailureConfig` allows), as in Ray Train.

    Its `traceback` is the failing rank's; `__cause__` is the trial's error.
    """


class WorkerGroupError(TrainingFailedError):
    """`TorchTrainer.fit()` failed because ranks of its group raised or died (Ray Train V2's name).

    Attributes:
        worker_failures: Each failed rank's error, by world rank: the rank that caused the
            failure holds the trial's error (whose traceback is the whole story); any other
            rank that failed too holds its own (its summary, with its traceback; a
            `WorkerDiedError` for a rank whose process died).
    """

    def __init__(
        self,
        message: str,
        *,
        worker_failures: dict[int, Exception] | None = None,
        trial_id: str = "",
        traceback: str = "",
    ) -> None:
        super().__init__(message, trial_id=trial_id, traceback=traceback)
        self.worker_failures: dict[int, Exception] = dict(worker_failures or {})

    def __reduce__(self) -> tuple[object, ...]:
        return (
            _rebuild_group_error,
            (str(self), self.trial_id, self.traceback, self.worker_failures),
        )


def _rebuild_group_error(
    message: str, trial_id: str, tb: str, failures: dict[int, Exception]
) -> WorkerGroupError:
    return WorkerGroupError(message, worker_failures=failures, trial_id=trial_id, traceback=tb)


class StorageError(TuneError, OSError):
    """Storage that cannot be used: no backend for its protocol, unreadable or half-written files."""


class CheckpointError(StorageError):
    """A checkpoint directory that does not exist, is not a directory, or is incomplete."""


class RestoreError(TuneError, RuntimeError):
    """An experiment that cannot be restored or read: nothing at the path, a newer format, a
    malformed (or crafted) state, a mismatch."""


class ExperimentLockedError(TuneError, RuntimeError):
    """Another `Tuner.fit()` runs on the experiment: it holds ``<experiment>/.tuner-lock.json``.

    Attributes:
        lock_path: The lock file (a URL for remote storage).
        host: The holder's hostname (None if the lock file is unreadable).
        pid: The holder's process id on that host (None if the lock file is unreadable).
    """

    def __init__(
        self, message: str, *, lock_path: str = "", host: str | None = None, pid: int | None = None
    ) -> None:
        super().__init__(message)
        self.lock_path, self.host, self.pid = lock_path, host, pid

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_locked_error, (str(self), self.lock_path, self.host, self.pid))


def _rebuild_locked_error(
    message: str, lock_path: str, host: str | None, pid: int | None
) -> ExperimentLockedError:
    return ExperimentLockedError(message, lock_path=lock_path, host=host, pid=pid)


class IllegalTransitionError(TuneError, RuntimeError):
    """A trial status change that the trial state machine forbids."""


__all__ = [
    "CheckpointError",
    "ComponentError",
    "ConfigError",
    "ExperimentLockedError",
    "IllegalTransitionError",
    "RestoreError",
    "SchedulerError",
    "SearcherError",
    "StorageError",
    "TrainingFailedError",
    "TrialError",
    "TuneError",
    "WorkerDiedError",
]
