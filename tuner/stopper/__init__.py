"""Stoppers: decide when a trial, or the whole experiment, stops (Ray Tune's `ray.tune.stopper`).

Life cycle: the event loop calls ``stopper(trial_id, result)`` for every result a trial reports
(True stops that trial) and ``stopper.stop_all()`` after processing results (True ends the
experiment). `state_dict` / `load_state_dict` save and restore a stopper's progress with the
experiment. `RunConfig(stop=...)` also takes a dict of bounds (a `DictStopper`) or a function
(a `FunctionStopper`).

Example:
    >>> from tuner.stopper import CombinedStopper, MaximumIterationStopper, TimeoutStopper
    >>> stopper = CombinedStopper(MaximumIterationStopper(max_iter=3), TimeoutStopper(3600))
    >>> [stopper("t0", {"loss": 0.5}) for _ in range(3)]
    [False, False, True]
"""

from __future__ import annotations

from tuner.stopper._base import Stopper
from tuner.stopper._combined import CombinedStopper
from tuner.stopper._dict import DictStopper
from tuner.stopper._function import FunctionStopper
from tuner.stopper._maximum_iteration import MaximumIterationStopper
from tuner.stopper._plateau import ExperimentPlateauStopper, TrialPlateauStopper
from tuner.stopper._timeout import TimeoutStopper

__all__ = [
    "CombinedStopper",
    "DictStopper",
    "ExperimentPlateauStopper",
    "FunctionStopper",
    "MaximumIterationStopper",
    "Stopper",
    "TimeoutStopper",
    "TrialPlateauStopper",
]
