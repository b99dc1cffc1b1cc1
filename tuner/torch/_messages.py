"""Messages between a trainer's coordinator (the trial) and its rank processes.

The coordinator sends one `RankSetup` to each rank it starts. A rank then sends a `RankReport`
for every `report()` call of the train loop and waits for the `ReportAck` that the coordinator
sends to all ranks once the round's checkpoint is persisted. A rank ends with exactly one
`RankDone` (its train loop returned, or it was told to stop) or `RankFailed` (it raised).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tuner.executors._protocol import Control

if TYPE_CHECKING:
    from tuner._session import TrialContext
    from tuner.executors._protocol import TrialSpec
    from tuner.storage._checkpoint import Checkpoint


@dataclass(frozen=True)
class RankSetup:
    """Coordinator -> rank: everything one rank needs to join the group and train.

    Attributes:
        train_fn: The train loop, cloudpickled (so functions from `__main__` and closures work).
        config: The train loop's config.
        spec: The trial's spec (for the rank's session).
        context: The trial's context with this rank's world_rank, local_rank and world_size.
        checkpoint: The checkpoint the trial resumes from, or None.
        backend: "gloo" or "nccl".
        store_port: Port of the coordinator's TCPStore on 127.0.0.1 (the group's rendezvous).
        timeout_s: Timeout of the process group's collectives.
        use_gpu: Whether this rank trains on GPU number `local_rank`.
    """

    train_fn: bytes
    config: Mapping[str, Any]
    spec: TrialSpec
    context: TrialContext
    checkpoint: Checkpoint | None
    backend: str
    store_port: int
    timeout_s: float
    use_gpu: bool


@dataclass(frozen=True)
class RankReport:
    """Rank -> coordinator: one `report()` call.

    Attributes:
        rank: The reporting rank.
        index: 1 for the rank's first report, 2 for its second, ...
        metrics: The metrics as the train loop passed them (rank 0's become the trial's result).
        checkpoint_dir: A local directory with the rank's checkpoint files, or None. It stays
            until the rank gets its `ReportAck`.
    """

    rank: int
    index: int
    metrics: Mapping[str, Any]
    checkpoint_dir: str | None


@dataclass(frozen=True)
class ReportAck:
    """Coordinator -> every rank: the round is persisted; go on, or stop (`Control.STOP`/PAUSE)."""

    control: Control


@dataclass(frozen=True)
class RankDone:
    """Rank -> coordinator: the train loop returned (or stopped when told) after `num_reports`."""

    rank: int
    num_reports: int


@dataclass(frozen=True)
class RankFailed:
    """Rank -> coordinator: the train loop raised.

    Attributes:
        rank: The failed rank.
        summary: ``"ExceptionType: message"``.
        traceback: The formatted traceback.
    """

    rank: int
    summary: str
    traceback: str


RankMessage = RankReport | RankDone | RankFailed
