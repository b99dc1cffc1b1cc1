"""Errors raised by tuner.

The tree::

    TuneError                        root of every error the engine raises on purpose
    ├── ConfigError(ValueError)      bad settings, search spaces, trainables: raised before trials start
    ├── TrialError(RuntimeError)     a trial's trainable raised or its worker died; holds the traceback
    │   └── WorkerDiedError          the worker process was killed (signal, os._exit, lost node)
    ├── StorageError(OSError)        storage URL without a backend, unreadable or half-written files
    │   └── CheckpointError          a checkpoint directory missing, not a directory, or incomplete
    ├── RestoreError(RuntimeError)   no experiment at a path, a newer state format, a trainable mismatch
    └── IllegalTransitionError(RuntimeError)   a trial status change the state machine forbids
"""

from __future__ import annotations


class TuneError(Exception):
    """Root of every error tuner raises on purpose."""


class ConfigError(TuneError, ValueError):
    """Invalid settings, search space, trainable or stop criteria."""


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


class StorageError(TuneError, OSError):
    """Storage that cannot be used: no backend for its protocol, unreadable or half-written files."""


class CheckpointError(StorageError):
    """A checkpoint directory that does not exist, is not a directory, or is incomplete."""


class RestoreError(TuneError, RuntimeError):
    """An experiment that cannot be restored: nothing at the path, a newer format, a mismatch."""


class IllegalTransitionError(TuneError, RuntimeError):
    """A trial status change that the trial state machine forbids."""


__all__ = [
    "CheckpointError",
    "ConfigError",
    "IllegalTransitionError",
    "RestoreError",
    "StorageError",
    "TrialError",
    "TuneError",
    "WorkerDiedError",
]
