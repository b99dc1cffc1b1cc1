"""`ExperimentSettings`: what the event loop needs to know about the experiment."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from searchers._ranking import Ranking
from tuner._config import CheckpointConfig, FailureConfig
from tuner._trainable import TrainableKind

if TYPE_CHECKING:
    import fsspec


@dataclass
class ExperimentSettings:
    """What the event loop needs to know about the experiment (built by the Tuner)."""

    name: str
    path: str
    filesystem: fsspec.AbstractFileSystem
    local_path: str
    trainable_name: str
    kind: TrainableKind
    resources: Mapping[str, float]
    """Every trial's resources; with `resources_for`, the least a trial is assumed to need."""
    resources_for: Callable[[Mapping[str, Any]], dict[str, float]] | None
    """The resources of a trial with a given config, where they depend on it."""
    metric: str | Sequence[str] | None
    mode: str | Sequence[str] | None
    num_samples: int
    cap_trials: bool
    max_concurrent: int | None
    time_budget_s: float | None
    checkpoint_config: CheckpointConfig = field(default_factory=CheckpointConfig)
    failure_config: FailureConfig = field(default_factory=FailureConfig)
    trial_name_creator: Any = None
    trial_dirname_creator: Any = None
    log_files: tuple[str, str] | None = None
    """File names for each trial's stdout and stderr, in its local directory."""
    constraints: tuple[str, ...] = ()
    """`TuneConfig(constraints=...)`, as given."""

    @property
    def ranking(self) -> Ranking | None:
        """The objectives and constraints trials are ranked by (None without a metric)."""
        if self.metric is None or self.mode is None:
            return None
        return Ranking.of(self.metric, self.mode, self.constraints)

    @property
    def ranked_metrics(self) -> tuple[str, ...]:
        """Every key each result must report: the objectives', then the constraints'."""
        ranking = self.ranking
        return () if ranking is None else ranking.metrics
