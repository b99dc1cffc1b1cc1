"""Trainables: the class API (`Trainable`), and telling functions and classes apart."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tuner._session import _local
from tuner.exceptions import ConfigError
from tuner.executors._protocol import TrainableKind


class Trainable:
    """Base class for class-based trainables: one `step()` is one training iteration.

    Life cycle: `setup(config)` once (from `__init__`), then `step()` repeatedly; the engine calls
    `save_checkpoint(dir)` when a checkpoint is due (`CheckpointConfig.checkpoint_frequency`,
    `checkpoint_at_end`, a result with `should_checkpoint: True`, or a pause), and
    `load_checkpoint(dir)` before the first step when the trial resumes. When a worker is reused
    for another trial, `reset_config(new_config)` is tried first; returning False (the default)
    makes the engine `cleanup()` this instance and build a new one. `cleanup()` runs when the
    instance is discarded.

    Example:
        >>> class Quadratic(Trainable):
        ...     def setup(self, config):
        ...         self.x = config["x"]
        ...     def step(self):
        ...         return {"loss": (self.x - 3) ** 2, "done": self.iteration >= 9}
    """

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self.config: dict[str, Any] = dict(config or {})
        self._iteration = 0
        self.setup(dict(self.config))

    @property
    def iteration(self) -> int:
        """Number of steps completed (including those before a restore)."""
        return self._iteration

    training_iteration = iteration

    @property
    def trial_id(self) -> str:
        session = getattr(_local, "session", None)
        return session.spec.trial_id if session is not None else "default"

    @property
    def trial_name(self) -> str:
        session = getattr(_local, "session", None)
        return session.spec.trial_name if session is not None else "default"

    def setup(self, config: dict[str, Any]) -> None:
        """Build models, optimisers and data from `config`."""

    def step(self) -> dict[str, Any]:
        """Run one training iteration and return its metrics (`done: True` ends the trial)."""
        raise NotImplementedError(f"{type(self).__name__} must implement step()")

    def save_checkpoint(self, checkpoint_dir: str) -> dict[str, Any] | str | None:
        """Write the state needed to resume into `checkpoint_dir` (or return it as a dict).

        Returning the path of a file written there (Ray's older examples do) hands that path
        to `load_checkpoint` on restore, wherever the checkpoint was copied to."""
        raise NotImplementedError(
            f"{type(self).__name__}.save_checkpoint() is not implemented, but this trial must "
            "checkpoint (checkpoint_frequency, checkpoint_at_end, should_checkpoint or a pause by "
            "the scheduler): implement save_checkpoint() and load_checkpoint()"
        )

    def load_checkpoint(self, checkpoint: str | dict[str, Any]) -> None:
        """Restore the state `save_checkpoint` wrote (its directory, the dict it returned, or
        the path it returned)."""
        raise NotImplementedError(
            f"{type(self).__name__}.load_checkpoint() is not implemented, but this trial must "
            "resume from a checkpoint: implement load_checkpoint()"
        )

    def reset_config(self, new_config: dict[str, Any]) -> bool:
        """Reconfigure this instance for a new trial; return True if that worked."""
        return False

    def cleanup(self) -> None:
        """Release resources; called when the instance is discarded."""

    def train(self) -> dict[str, Any]:
        """Run one `step()` outside the engine (for debugging) and return its result."""
        result = dict(self.step())
        self._iteration += 1
        result.setdefault("done", False)
        result["training_iteration"] = self._iteration
        return result


ResourcesFor = Callable[[Mapping[str, Any]], Mapping[str, float]]
"""Resources that depend on the trial's config: ``f(config) -> {"cpu": ..., "gpu": ...}``."""


@dataclass(frozen=True)
class WithResources:
    """A trainable with the resources each of its trials needs (see `with_resources`).

    `resources` is one mapping for every trial, or a function of the trial's config.
    """

    trainable: Any
    resources: Mapping[str, float] | ResourcesFor

    def fixed(self) -> Mapping[str, float] | None:
        """The resources of every trial, or None where they depend on the config."""
        return None if callable(self.resources) else self.resources

    def for_config(self, config: Mapping[str, Any]) -> dict[str, float]:
        """The checked resources of a trial with `config`."""
        if not callable(self.resources):
            return dict(self.resources)
        try:
            given = self.resources(config)
        except Exception as exc:
            raise ConfigError(
                f"the resources function of with_resources() raised for the config {config!r}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(given, Mapping):
            raise ConfigError(
                f"the resources function of with_resources() must return a dict such as "
                f"{{'cpu': 2, 'gpu': 1}}, got {type(given).__name__} {given!r}"
            )
        return checked_resources(given)


DEFAULT_RESOURCES: Mapping[str, float] = {"cpu": 1.0, "gpu": 0.0}


def with_resources(
    trainable: Any, resources: Mapping[str, float] | ResourcesFor
) -> WithResources:
    """Attach per-trial resources to a trainable, e.g. `with_resources(train_fn, {"gpu": 1})`.

    Resources bound how many trials run at once; a trial with `gpu >= 1` gets its own
    `CUDA_VISIBLE_DEVICES`. Keys: "cpu" and "gpu" (numbers >= 0; gpu a whole number), plus any
    custom resource an executor knows. As in Ray Tune, `resources` may also be a function of
    the trial's config, e.g. ``lambda config: {"cpu": config["workers"]}``; it is called once
    per trial, when the trial is created.
    """
    if callable(resources):
        return WithResources(trainable, resources)
    if not isinstance(resources, Mapping):
        raise ConfigError(
            f"with_resources() takes a dict of resources or a function config -> dict, got "
            f"{type(resources).__name__}: e.g. with_resources(train_fn, {{'cpu': 2, 'gpu': 1}})"
        )
    return WithResources(trainable, checked_resources(resources))


def checked_resources(resources: Mapping[str, Any]) -> dict[str, float]:
    """`resources` with the defaults filled in, or a ConfigError that names the bad value."""
    checked: dict[str, float] = dict(DEFAULT_RESOURCES)
    for key, value in resources.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(
                f"resource {key!r} must be a number >= 0, got {value!r}: "
                "e.g. with_resources(train_fn, {'cpu': 2, 'gpu': 1})"
            )
        checked[str(key)] = float(value)
    if checked["gpu"] != int(checked["gpu"]):
        raise ConfigError(
            f"gpu must be a whole number of GPUs per trial, got gpu={checked['gpu']}: "
            "fractional GPUs are not supported"
        )
    return checked


def classify(trainable: Any) -> TrainableKind:
    """Whether `trainable` is a function or a `Trainable` subclass, or a clear error."""
    if inspect.isclass(trainable):
        if issubclass(trainable, Trainable):
            return TrainableKind.CLASS
        raise ConfigError(
            f"a class trainable must subclass tuner.Trainable, got {trainable.__name__}: "
            "subclass Trainable and implement setup()/step(), or pass a function(config)"
        )
    if callable(trainable) and not isinstance(trainable, Trainable):
        try:
            signature = inspect.signature(trainable)
        except (TypeError, ValueError):
            return TrainableKind.FUNCTION
        try:
            signature.bind({})
        except TypeError:
            raise ConfigError(
                f"a function trainable must take exactly one argument (config), got "
                f"{getattr(trainable, '__name__', trainable)}{signature}"
            ) from None
        return TrainableKind.FUNCTION
    raise ConfigError(
        f"a trainable must be a function(config) or a subclass of tuner.Trainable, got "
        f"{trainable!r} ({type(trainable).__name__})"
    )


def trainable_name(trainable: Any) -> str:
    name = getattr(trainable, "__name__", None) or type(trainable).__name__
    return "lambda" if name == "<lambda>" else str(name)
