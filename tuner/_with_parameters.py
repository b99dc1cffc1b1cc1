"""`with_parameters`: hand large objects (a dataset, a model) to every trial, sent once per worker.

A trainable reaches worker processes cloudpickled, once per worker (workers are reused across
trials), while configs travel with every trial and are saved in the experiment state. Objects
bound here travel with the trainable: once per worker, never in a config, never in the state.
This is Ray Tune's `tune.with_parameters`, without an object store.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tuner._trainable import Trainable, WithResources, classify
from tuner.exceptions import ConfigError


class FunctionWithParameters:
    """A function trainable called as ``fn(config, **parameters)``; picklable with the objects."""

    def __init__(self, fn: Callable[..., Any], parameters: Mapping[str, Any]) -> None:
        self.fn = fn
        self.parameters = dict(parameters)
        # The function's name: trial names and restore go by it. (Not functools.wraps: its
        # __wrapped__ would make the signature check see fn's parameters, not (config).)
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)
        self.__qualname__ = getattr(fn, "__qualname__", self.__name__)
        self.__doc__ = getattr(fn, "__doc__", None)

    def __call__(self, config: dict[str, Any]) -> Any:
        return self.fn(config, **self.parameters)


def with_parameters(trainable: Any, **parameters: Any) -> Any:
    """`trainable` with `parameters` passed to every trial besides its config.

    A function is called as ``trainable(config, **parameters)``; a `Trainable` subclass gets them
    in ``setup(config, **parameters)``. The objects are sent to each worker process once, with the
    trainable, and are kept out of configs and the experiment state (restore needs the same
    call again: ``Tuner.restore(path, trainable=with_parameters(train_fn, data=data))``).

    Example:
        >>> import numpy as np
        >>> def train_fn(config, data=None):
        ...     report({"mean": float(data.mean()) * config["scale"]})
        >>> trainable = with_parameters(train_fn, data=np.ones(1_000_000))
        >>> trainable.__name__
        'train_fn'
    """
    inner = trainable.trainable if isinstance(trainable, WithResources) else trainable
    if not parameters:
        raise ConfigError(
            "with_parameters() needs keyword arguments to pass, e.g. "
            "with_parameters(train_fn, data=data)"
        )
    if isinstance(inner, type) and issubclass(inner, Trainable):
        bound: Any = _class_with_parameters(inner, parameters)
    elif callable(inner) and not isinstance(inner, type):
        bound = FunctionWithParameters(inner, parameters)
    else:
        classify(inner)  # the usual error for what is not a trainable
        raise ConfigError(f"with_parameters() needs a trainable, got {inner!r}")
    if isinstance(trainable, WithResources):
        return WithResources(bound, trainable.resources)
    return bound


def _class_with_parameters(cls: type[Trainable], parameters: Mapping[str, Any]) -> type:
    """A subclass of `cls` whose `setup(config)` is ``cls.setup(config, **parameters)``."""
    bound = dict(parameters)

    def setup(self: Trainable, config: dict[str, Any]) -> None:
        cls.setup(self, config, **bound)

    # Same name and qualified name: trial names, restore and messages see the user's class.
    # cloudpickle sends it by value (it is not the object its module holds under that name).
    return type(cls.__name__, (cls,), {"setup": setup, "__module__": cls.__module__,
                                       "__qualname__": cls.__qualname__})
