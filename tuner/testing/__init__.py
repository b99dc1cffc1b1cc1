"""Contract suites for schedulers, searchers and storage, run through the real event loop.

Subclass a contract in a test module and pytest runs its checks on your component, through
`tuner.Tuner(...).fit()` on a `SimulatedExecutor` (virtual time: a fraction of a second a run):

    from tuner.testing import SchedulerContract

    class TestMyScheduler(SchedulerContract):
        def make_scheduler(self):
            return MyScheduler(metric="loss", mode="min")

The contracts need pytest only to run (they take its ``tmp_path`` fixture, and the storage
contract a ``storage_url`` fixture of yours); importing this package does not import it. The
recorders they wrap components in, and the checks they make, are here too for tests of your
own. See docs/testing.md.
"""

from tuner.testing._json import json_problem
from tuner.testing._recording import RecordingScheduler
from tuner.testing._recording_searcher import RecordingSearcher
from tuner.testing._results import ResultLog, sequence_problems
from tuner.testing._scheduler_contract import SchedulerContract
from tuner.testing._searcher_contract import SearcherContract, default_space
from tuner.testing._space_check import space_problems
from tuner.testing._storage_contract import StorageContract
from tuner.testing._trainable import ContractTrainable, contract_trainable, searcher_trainable

__all__ = [
    "ContractTrainable",
    "RecordingScheduler",
    "RecordingSearcher",
    "ResultLog",
    "SchedulerContract",
    "SearcherContract",
    "StorageContract",
    "contract_trainable",
    "default_space",
    "json_problem",
    "searcher_trainable",
    "sequence_problems",
    "space_problems",
]
