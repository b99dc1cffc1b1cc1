"""Which ranks of a group failed, carried from the coordinator to `fit()` as data.

The coordinator runs as a trial, so what reaches the driver of its error is text (the trial's
traceback, kept in the experiment state). Which ranks failed, and how, goes beside it as a file
in the trial directory, written before the trial fails and removed when the next attempt
starts; `TorchTrainer.fit()` reads it for `WorkerGroupError.worker_failures`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from tuner.exceptions import TrialError, WorkerDiedError
from tuner.storage._filesystem import atomic_write_bytes, join

if TYPE_CHECKING:
    import fsspec

logger = logging.getLogger(__name__)

FILE = "worker_failures.json"
"""The file in the trial directory: the failures of the attempt that failed last."""


@dataclass(frozen=True)
class RankFailure:
    """How one rank failed.

    Attributes:
        rank: The world rank.
        summary: ``"ExceptionType: message"`` for a rank that raised; for one that died, why.
        traceback: The rank's formatted traceback ("" for a rank that died).
        died: Whether the rank's process died (killed, out of memory, `os._exit`).
    """

    rank: int
    summary: str
    traceback: str = ""
    died: bool = False

    def error(self) -> TrialError:
        """This failure as an exception: `WorkerDiedError` for a rank that died."""
        if self.died:
            return WorkerDiedError(self.summary, traceback=self.summary)
        return TrialError(self.summary, traceback=self.traceback)


def write_failures(
    fs: fsspec.AbstractFileSystem, trial_path: str, failures: Sequence[RankFailure]
) -> None:
    """Record `failures` (the cause first) in the trial directory.

    A storage error is logged, not raised: the trial fails with its own error all the same,
    and `fit()` then raises a `TrainingFailedError` without `worker_failures`.
    """
    data = {"failures": [asdict(f) for f in failures]}
    try:
        atomic_write_bytes(fs, join(trial_path, FILE), json.dumps(data).encode("utf-8"))
    except OSError as exc:
        logger.warning("could not record the failed ranks in %s: %s", trial_path, exc)


def clear_failures(fs: fsspec.AbstractFileSystem, trial_path: str) -> None:
    """Remove an earlier attempt's record, so that it cannot describe this attempt's end."""
    try:
        fs.rm_file(join(trial_path, FILE))
    except FileNotFoundError:
        pass  # the common case: no attempt of this trial failed in its group
    except OSError as exc:
        logger.warning("could not remove %s of an earlier attempt: %s", FILE, exc)


def read_failures(fs: fsspec.AbstractFileSystem | None, trial_path: str) -> list[RankFailure]:
    """The recorded failures, the cause first; [] without a (readable) record."""
    if fs is None:
        import fsspec

        fs = fsspec.filesystem("file")
    try:
        data: Any = json.loads(fs.cat_file(join(trial_path, FILE)))
        return [RankFailure(**item) for item in data["failures"]]
    except (OSError, ValueError, TypeError, KeyError):
        return []  # none recorded (the group never started), or not one this version wrote
