"""Trial schedulers: decide after each result whether a trial continues, pauses or stops."""

from schedulers._asha import ASHAScheduler, AsyncHyperBandScheduler
from schedulers._base import Decision, Exploit, FIFOScheduler, TrialScheduler
from schedulers._hyperband import HyperBandScheduler
from schedulers._median import MedianStoppingRule
from schedulers._pb2 import PB2
from schedulers._pbt import PopulationBasedTraining
from schedulers._pbt_replay import PopulationBasedTrainingReplay
from schedulers._trial_view import TrialStatus, TrialView

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
