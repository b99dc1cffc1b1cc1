"""`FunctionStopper`: a trial stops when a function of its result says so (`RunConfig(stop=fn)`)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from tuner.exceptions import ConfigError
from tuner.stopper._base import Stopper


class FunctionStopper(Stopper):
    """Stops a trial when ``fn(trial_id, result)`` returns True.

    Example:
        >>> stopper = FunctionStopper(lambda trial_id, result: result["loss"] < 0.1)
        >>> stopper("t0", {"loss": 0.01})
        True
    """

    def __init__(self, fn: Callable[[str, Mapping[str, Any]], bool]):
        if not callable(fn):
            raise ConfigError(
                f"FunctionStopper takes a callable (trial_id, result) -> bool, got "
                f"{type(fn).__name__} {fn!r}"
            )
        _check_arity(fn)
        self._fn = fn

    def __call__(self, trial_id: str, result: Mapping[str, Any]) -> bool:
        return bool(self._fn(trial_id, result))

    def stop_all(self) -> bool:
        return False


def _check_arity(fn: Callable[..., Any]) -> None:
    """Raise ConfigError now if `fn` cannot be called as `fn(trial_id, result)`."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return  # a builtin or extension callable without a signature: trust it
    try:
        signature.bind("trial_id", {})
    except TypeError as exc:
        name = getattr(fn, "__qualname__", None) or type(fn).__name__
        raise ConfigError(
            f"a stop function must have the form (trial_id, result) -> bool, but "
            f"{name}{signature} cannot be called with (trial_id, result) ({exc}): give it both "
            "parameters, e.g. def stop(trial_id, result): return result['loss'] < 0.1"
        ) from exc
