"""Trial schedulers: decide after each result whether a trial continues, pauses or stops.

The base classes and the trial view are imported with the package; each scheduler is imported
on first use (PEP 562), so that `import tuner` does not pay for numpy and the schedulers it never
runs. `from schedulers import ASHAScheduler` and `schedulers.ASHAScheduler` work as usual.
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

from schedulers._base import Decision, Exploit, FIFOScheduler, TrialScheduler
from schedulers._trial_view import TrialStatus, TrialView

if _typing.TYPE_CHECKING:
    from schedulers._asha import ASHAScheduler, AsyncHyperBandScheduler
    from schedulers._hyperband import HyperBandScheduler
    from schedulers._median import MedianStoppingRule
    from schedulers._pb2 import PB2
    from schedulers._pbt import PopulationBasedTraining
    from schedulers._pbt_replay import PopulationBasedTrainingReplay

# public name -> the private module that defines it, imported on first access
_LAZY = {
    "ASHAScheduler": "schedulers._asha",
    "AsyncHyperBandScheduler": "schedulers._asha",
    "HyperBandScheduler": "schedulers._hyperband",
    "MedianStoppingRule": "schedulers._median",
    "PB2": "schedulers._pb2",
    "PopulationBasedTraining": "schedulers._pbt",
    "PopulationBasedTrainingReplay": "schedulers._pbt_replay",
}


def __getattr__(name: str) -> _typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'schedulers' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "PB2",
    "ASHAScheduler",
    "AsyncHyperBandScheduler",
    "Decision",
    "Exploit",
    "FIFOScheduler",
    "HyperBandScheduler",
    "MedianStoppingRule",
    "PopulationBasedTraining",
    "PopulationBasedTrainingReplay",
    "TrialScheduler",
    "TrialStatus",
    "TrialView",
]
