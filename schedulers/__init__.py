"""Trial schedulers: decide after each result whether a trial continues, pauses or stops.

The base classes and the trial view are imported with the package; each scheduler is imported
on first use (PEP 562), so that `import tuner` does not pay for numpy and the schedulers it never
runs. `from schedulers import ASHAScheduler` and `schedulers.ASHAScheduler` work as usual.
"""

from __future__ import annotations

import typing as _typing

from schedulers._base import Decision, FIFOScheduler, TrialScheduler
from schedulers._suggestion import SuggestionKind, TrialSuggestion, WaitingList, WaitingTrials
from schedulers._trial_view import TrialStatus, TrialView
from searchers._lazy import lazy_exports as _lazy_exports

if _typing.TYPE_CHECKING:
    from schedulers._asha import ASHAScheduler, AsyncHyperBandScheduler
    from schedulers._dehb import DEHB
    from schedulers._hb_bohb import HyperBandForBOHB
    from schedulers._hyperband import HyperBandScheduler
    from schedulers._median import MedianStoppingRule
    from schedulers._pb2 import PB2
    from schedulers._pbt import PopulationBasedTraining
    from schedulers._pbt_replay import PopulationBasedTrainingReplay

# public name -> the private module that defines it, imported on first access
__getattr__, __dir__ = _lazy_exports(globals(), {
    "ASHAScheduler": "schedulers._asha",
    "AsyncHyperBandScheduler": "schedulers._asha",
    "DEHB": "schedulers._dehb",
    "HyperBandForBOHB": "schedulers._hb_bohb",
    "HyperBandScheduler": "schedulers._hyperband",
    "MedianStoppingRule": "schedulers._median",
    "PB2": "schedulers._pb2",
    "PopulationBasedTraining": "schedulers._pbt",
    "PopulationBasedTrainingReplay": "schedulers._pbt_replay",
})


__all__ = [
    "DEHB",
    "PB2",
    "ASHAScheduler",
    "AsyncHyperBandScheduler",
    "Decision",
    "FIFOScheduler",
    "HyperBandForBOHB",
    "HyperBandScheduler",
    "MedianStoppingRule",
    "PopulationBasedTraining",
    "PopulationBasedTrainingReplay",
    "SuggestionKind",
    "TrialScheduler",
    "TrialStatus",
    "TrialSuggestion",
    "TrialView",
    "WaitingList",
    "WaitingTrials",
]
