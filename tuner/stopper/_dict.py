"""`DictStopper`: Ray Tune's stop criteria dict, `RunConfig(stop={"training_iteration": 10})`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from tuner.exceptions import ConfigError
from tuner.stopper._base import Stopper
from tuner.stopper._values import find, number

logger = logging.getLogger(__name__)


class DictStopper(Stopper):
    """Stops a trial once ``result[key] >= value`` for any key of ``criteria`` (Ray Tune's dict).

    Nested results are reached with ``/``: ``{"eval/acc": 0.9}`` reads ``result["eval"]["acc"]``.
    Booleans count as 0 and 1, as Python compares them: ``{"done": True}`` stops a trial that
    reports ``done=True``, and ``{"solved": 0.5}`` one that reports ``solved=True``. A result
    without a key does not stop the trial (some are reported only now and then, e.g. every
    evaluation); a warning names the key and the reported keys once, in case it is a typo.

    Example:
        >>> stopper = DictStopper({"training_iteration": 10, "mean_accuracy": 0.95})
        >>> stopper("t0", {"training_iteration": 3, "mean_accuracy": 0.97})
        True
        >>> DictStopper({"done": True, "training_iteration": 5})("t0", {"done": False,
        ...                                                           "training_iteration": 2})
        False
    """

    def __init__(self, criteria: Mapping[str, float | bool]):
        if not isinstance(criteria, Mapping):
            raise ConfigError(f"stop criteria must be a mapping, got {type(criteria).__name__}")
        self._criteria: dict[str, float] = {}
        self._warned: set[str] = set()
        for key, bound in criteria.items():
            if isinstance(bound, Mapping):
                raise ConfigError(
                    f"stop criteria are flat, got a nested mapping for '{key}': {bound!r}: "
                    "name nested values with '/', e.g. {'eval/acc': 0.9}"
                )
            self._criteria[str(key)] = _bound(bound, f"stop criterion '{key}'")

    def __call__(self, trial_id: str, result: Mapping[str, Any]) -> bool:
        stop = False
        for key, bound in self._criteria.items():
            found, value = find(result, key)
            if not found:
                if key not in self._warned:
                    self._warned.add(key)
                    logger.warning(
                        "stop criterion '%s' is not in the reported result (keys: %s): trials "
                        "that never report it run until they end; report it or fix "
                        "RunConfig(stop=...)", key, sorted(map(str, result)),
                    )
                continue
            stop = stop or _bound(value, f"result value '{key}' for stop") >= bound
        return stop

    def stop_all(self) -> bool:
        return False


def _bound(value: Any, what: str) -> float:
    """A number, or a bool as 0/1 (stop criteria compare with ``>=``, as Python does)."""
    numpy_bool = type(value).__module__ == "numpy" and getattr(value, "dtype", None) == "bool"
    if isinstance(value, bool) or numpy_bool:
        return float(bool(value))
    return number(value, what)
