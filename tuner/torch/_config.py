"""`TorchConfig`: how a `TorchTrainer` sets up `torch.distributed` for its workers."""

from __future__ import annotations

from dataclasses import dataclass

from tuner.exceptions import ConfigError

_BACKENDS = ("gloo", "nccl")


@dataclass(frozen=True)
class TorchConfig:
    """Process group settings of a `TorchTrainer` (as Ray Train's `TorchConfig`).

    Attributes:
        backend: "gloo" or "nccl"; None picks nccl with `ScalingConfig(use_gpu=True)`, else gloo.
        timeout_s: Timeout of the process group's collective operations, in seconds.
        report_timeout_s: How long the first rank to call its N-th `report()` waits for the
            others before the trial fails with an error that names the missing ranks (None:
            forever). Ranks train in step, so only a train loop that reports from some ranks
            and not others should ever reach it.

    Example:
        >>> TorchConfig(report_timeout_s=60).backend is None
        True
    """

    backend: str | None = None
    timeout_s: float = 1800.0
    report_timeout_s: float | None = 1800.0

    def __post_init__(self) -> None:
        if self.backend is not None and self.backend not in _BACKENDS:
            raise ConfigError(
                f"TorchConfig(backend) must be 'gloo', 'nccl' or None (pick by use_gpu), got "
                f"backend={self.backend!r}"
            )
        if self.timeout_s <= 0:
            raise ConfigError(f"TorchConfig(timeout_s) must be > 0, got {self.timeout_s!r}")
        if self.report_timeout_s is not None and self.report_timeout_s <= 0:
            raise ConfigError(
                "TorchConfig(report_timeout_s) must be > 0 or None (wait forever), got "
                f"{self.report_timeout_s!r}"
            )

    def backend_for(self, use_gpu: bool) -> str:
        """The backend to use: the one set, else nccl on GPUs and gloo on CPUs.

        Example:
            >>> TorchConfig().backend_for(use_gpu=True)
            'nccl'
        """
        if self.backend is not None:
            return self.backend
        return "nccl" if use_gpu else "gloo"
