"""`ScalingConfig`: how many workers a data-parallel trainer starts, and what each one holds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tuner.exceptions import ConfigError

_KNOWN = ("cpu", "gpu")


@dataclass(frozen=True)
class ScalingConfig:
    """The size of a trainer's worker group (as in Ray Train).

    One trial of a trainer holds the resources of all its workers at once:
    ``num_workers * resources_per_worker``, so a `Tuner` runs only as many trainer trials at
    once as the machine has room for.

    Attributes:
        num_workers: Processes that train together, one rank each (>= 1).
        use_gpu: Give every worker one GPU (and use the nccl backend); else train on CPUs (gloo).
        resources_per_worker: What each worker holds, e.g. ``{"cpu": 2}``; ``{"cpu": 1}`` by
            default, plus ``{"gpu": 1}`` with ``use_gpu``. Ray's upper-case keys ("CPU",
            "GPU") are accepted.

    In a `Tuner`'s ``param_space`` a field may be a search space, as in Ray Train:
    ``{"scaling_config": ScalingConfig(num_workers=grid_search([1, 2]))}`` tunes the size of
    the group (each trial then holds the resources of its own group). Such a config is checked
    when a trial's values are drawn.

    Example:
        >>> scaling = ScalingConfig(num_workers=4, resources_per_worker={"cpu": 2})
        >>> scaling.total_resources()
        {'cpu': 8.0, 'gpu': 0.0}
        >>> ScalingConfig(num_workers=2, use_gpu=True).total_resources()
        {'cpu': 2.0, 'gpu': 2.0}
    """

    num_workers: int = 1
    use_gpu: bool = False
    resources_per_worker: Mapping[str, float] | None = None

    def __post_init__(self) -> None:
        if self.is_search_space():
            return
        workers = self.num_workers
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ConfigError(
                f"ScalingConfig(num_workers) must be an int >= 1 (the number of training "
                f"processes), got num_workers={workers!r}: use num_workers=1 to train in one "
                "process"
            )
        if not isinstance(self.use_gpu, bool):
            raise ConfigError(f"ScalingConfig(use_gpu) must be True or False, got {self.use_gpu!r}")
        self.worker_resources()  # validates resources_per_worker

    def is_search_space(self) -> bool:
        """Whether a field is a search space (a domain or a grid), to be drawn per trial."""
        from searchers._space import Domain, GridSearch

        return any(
            isinstance(value, Domain | GridSearch)
            for value in (self.num_workers, self.use_gpu, self.resources_per_worker)
        )

    def as_space(self) -> dict[str, Any]:
        """This config as a dict for a search space (what a trial's config holds)."""
        return {
            "num_workers": self.num_workers,
            "use_gpu": self.use_gpu,
            "resources_per_worker": self.resources_per_worker,
        }

    @classmethod
    def from_config(cls, value: Any, base: ScalingConfig) -> ScalingConfig:
        """The config a trial's ``scaling_config`` value means: `base` with its keys replaced.

        Example:
            >>> ScalingConfig.from_config({"num_workers": 2}, ScalingConfig(use_gpu=False))
            ScalingConfig(num_workers=2, use_gpu=False, resources_per_worker=None)
        """
        if isinstance(value, ScalingConfig):
            value = value.as_space()
        if not isinstance(value, Mapping):
            raise ConfigError(
                f"param_space['scaling_config'] must be a ScalingConfig or a dict of its fields, "
                f"got {type(value).__name__} {value!r}"
            )
        unknown = sorted(set(value) - {"num_workers", "use_gpu", "resources_per_worker"})
        if unknown:
            raise ConfigError(
                f"param_space['scaling_config'] has unknown fields {unknown}: ScalingConfig "
                "takes num_workers, use_gpu and resources_per_worker"
            )
        return cls(**{**base.as_space(), **value})

    def worker_resources(self) -> dict[str, float]:
        """The resources of one worker, with defaults filled in and keys in lower case.

        Example:
            >>> ScalingConfig(resources_per_worker={"CPU": 0.5}).worker_resources()
            {'cpu': 0.5, 'gpu': 0.0}
        """
        given: dict[str, Any] = {}
        for key, value in (self.resources_per_worker or {}).items():
            name = str(key).lower()
            if name not in _KNOWN:
                raise ConfigError(
                    f"ScalingConfig(resources_per_worker) knows the keys 'cpu' and 'gpu', got "
                    f"{key!r}: remove it"
                )
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ConfigError(
                    f"ScalingConfig(resources_per_worker) values must be numbers >= 0, got "
                    f"{key}={value!r}: e.g. resources_per_worker={{'cpu': 2}}"
                )
            given[name] = float(value)
        gpu = given.get("gpu", 1.0 if self.use_gpu else 0.0)
        if gpu and not self.use_gpu:
            raise ConfigError(
                f"ScalingConfig(resources_per_worker) asks for gpu={gpu:g} per worker but "
                "use_gpu=False: set use_gpu=True to train on GPUs"
            )
        if self.use_gpu and gpu != 1.0:
            raise ConfigError(
                f"ScalingConfig(use_gpu=True) gives each worker exactly one GPU, got "
                f"resources_per_worker gpu={gpu:g}: leave 'gpu' out of resources_per_worker"
            )
        return {"cpu": given.get("cpu", 1.0), "gpu": gpu}

    def total_resources(self) -> dict[str, float]:
        """What one trial of the trainer holds: every worker's resources added up."""
        per_worker = self.worker_resources()
        return {key: value * self.num_workers for key, value in per_worker.items()}


__all__ = ["ScalingConfig"]
