"""What `RunConfig(stop=...)` becomes: the stopper the event loop asks (see `tuner.stopper`).

Example:
    >>> stopper = make_stopper({"training_iteration": 3})
    >>> [stopper("t0", {"training_iteration": i}) for i in (1, 2, 3)]
    [False, False, True]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tuner.exceptions import ConfigError
from tuner.stopper import (
    CombinedStopper,
    DictStopper,
    FunctionStopper,
    MaximumIterationStopper,
    Stopper,
    TrialPlateauStopper,
)


def make_stopper(
    stop: Mapping[str, float] | Callable[[str, Mapping[str, Any]], bool] | Stopper | None,
) -> Stopper | None:
    """The stopper for ``RunConfig(stop=...)``: a Stopper, a criteria dict, or a function.

    Raises:
        ConfigError: ``stop`` is none of these.

    Example:
        >>> type(make_stopper({"loss": 0.1})).__name__
        'DictStopper'
        >>> make_stopper(None) is None
        True
    """
    if stop is None or isinstance(stop, Stopper):
        return stop
    if isinstance(stop, Mapping):
        return DictStopper(stop)
    if isinstance(stop, type):
        raise ConfigError(
            f"RunConfig(stop=...) got the class {stop.__name__}: pass an instance, "
            f"e.g. stop={stop.__name__}(...)"
        )
    if callable(stop):
        return FunctionStopper(stop)
    raise ConfigError(
        f"RunConfig(stop=...) must be a dict of bounds, a function (trial_id, result) -> bool, "
        f"or a Stopper, got {type(stop).__name__} {stop!r}"
    )


def may_end_experiment(stopper: Stopper | None) -> bool:
    """Whether `stopper` can end the whole experiment (its `stop_all` may return True).

    The built-in per-trial stoppers (`MaximumIterationStopper`, `TrialPlateauStopper`,
    `FunctionStopper`, `DictStopper`) never do unless a subclass overrides `stop_all`; any
    other Stopper may, and a `CombinedStopper` may if one of its stoppers may.

    Example:
        >>> from tuner.stopper import TimeoutStopper
        >>> may_end_experiment(TimeoutStopper(60)), may_end_experiment(make_stopper({"x": 1}))
        (True, False)
    """
    if stopper is None:
        return False
    if isinstance(stopper, CombinedStopper):
        return any(may_end_experiment(s) for s in stopper.stoppers)
    return type(stopper).stop_all not in _PER_TRIAL_STOP_ALL


_PER_TRIAL_STOP_ALL = frozenset(
    cls.stop_all
    for cls in (MaximumIterationStopper, TrialPlateauStopper, FunctionStopper, DictStopper)
)

__all__ = ["make_stopper", "may_end_experiment"]
