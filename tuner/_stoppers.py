"""Stoppers: decide when a trial, or the whole experiment, stops (Ray Tune compatible).

Life cycle: the event loop calls ``stopper(trial_id, result)`` for every result a trial reports
(True stops that trial) and ``stopper.stop_all()`` after processing results (True ends the
experiment). `state_dict` / `load_state_dict` save and restore a stopper's progress with the
experiment.

Example:
    >>> stopper = make_stopper({"training_iteration": 3})
    >>> [stopper("t0", {"training_iteration": i}) for i in (1, 2, 3)]
    [False, False, True]
"""

from __future__ import annotations

import abc
import bisect
import datetime
import inspect
import logging
import math
import statistics
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from tuner._clock import Clock, wake_at
from tuner.exceptions import ConfigError

logger = logging.getLogger(__name__)


class Stopper(abc.ABC):
    """Decides when trials and the experiment stop.

    Subclasses implement `__call__` and `stop_all`; stateful ones also override `state_dict`
    and `load_state_dict` (plain JSON data) so a restored experiment resumes where it left off.

    Example:
        >>> class LossBelow(Stopper):
        ...     def __call__(self, trial_id, result):
        ...         return result["loss"] < 0.1
        ...     def stop_all(self):
        ...         return False
        >>> LossBelow()("t0", {"loss": 0.05})
        True
    """

    @abc.abstractmethod
    def __call__(self, trial_id: str, result: Mapping[str, Any]) -> bool:
        """Whether the trial that reported ``result`` should stop."""

    @abc.abstractmethod
    def stop_all(self) -> bool:
        """Whether the whole experiment should stop."""

    def state_dict(self) -> dict[str, Any]:
        """The stopper's progress as plain JSON data."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:  # noqa: B027 (optional hook)
        """Restore progress saved by `state_dict`."""

    def on_experiment_start(self, clock: Clock) -> None:  # noqa: B027 (optional hook)
        """The event loop starts now, on `clock`: the real one, or a `SimulatedExecutor`'s
        virtual one. A stopper that measures time reads this one (the default does nothing)."""


def _number(value: Any, what: str) -> float:
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{what} must be a number, got {type(value).__name__} {value!r}")
    return float(value)


def _lookup(result: Mapping[str, Any], key: str, fix: str) -> Any:
    """``result[key]``, where ``a/b`` also finds ``result["a"]["b"]`` (flattened names)."""
    if key in result:
        return result[key]
    node: Any = result
    for part in key.split("/"):
        if not isinstance(node, Mapping) or part not in node:
            raise ConfigError(
                f"stop criterion '{key}' is not in the reported result (keys: "
                f"{sorted(map(str, result))}): report it or fix {fix}"
            )
        node = node[part]
    return node


class MaximumIterationStopper(Stopper):
    """Stops each trial after ``max_iter`` results.

    Example:
        >>> stopper = MaximumIterationStopper(max_iter=2)
        >>> [stopper("t0", {}) for _ in range(2)]
        [False, True]
    """

    def __init__(self, max_iter: int):
        if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
            raise ConfigError(f"max_iter must be an int >= 1, got {max_iter!r}")
        self._max_iter = max_iter
        self._iter: dict[str, int] = {}

    def __call__(self, trial_id: str, result: Mapping[str, Any]) -> bool:
        count = self._iter[trial_id] = self._iter.get(trial_id, 0) + 1
        return count >= self._max_iter

    def stop_all(self) -> bool:
        return False

    def state_dict(self) -> dict[str, Any]:
        return {"iter": dict(self._iter)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self._iter = {str(k): int(v) for k, v in state.get("iter", {}).items()}


def _check_mode(mode: str | None, *, allow_none: bool) -> None:
    if mode in ("min", "max") or (allow_none and mode is None):
        return
    raise ConfigError(f"mode must be 'min' or 'max', got mode={mode!r}")


class TrialPlateauStopper(Stopper):
    """Stops a trial once its metric stopped changing.

    A trial stops when the standard deviation of its last ``num_results`` values of ``metric``
    is below ``std``, after at least ``grace_period`` results and (if set) once the metric is
    better than ``metric_threshold`` in direction ``mode``.

    Example:
        >>> stopper = TrialPlateauStopper("loss", num_results=3, grace_period=3)
        >>> [stopper("t0", {"loss": v}) for v in (0.9, 0.5, 0.5, 0.5)]
        [False, False, False, True]
    """

    def __init__(
        self,
        metric: str,
        std: float = 0.01,
        num_results: int = 4,
        grace_period: int = 4,
        metric_threshold: float | None = None,
        mode: str | None = None,
    ):
        if metric_threshold is not None and mode not in ("min", "max"):
            raise ConfigError(
                f"mode must be 'min' or 'max' when metric_threshold is set, got mode={mode!r}: "
                "pass mode='min' or mode='max'"
            )
        _check_mode(mode, allow_none=True)
        if _number(std, "std") < 0:
            raise ConfigError(f"std must be >= 0, got std={std}")
        if num_results < 1 or grace_period < 0:
            raise ConfigError(
                f"num_results must be >= 1 and grace_period >= 0, got num_results={num_results}, "
                f"grace_period={grace_period}"
            )
        self._metric = metric
        self._std = float(std)
        self._num_results = num_results
        self._grace_period = grace_period
        self._metric_threshold = metric_threshold
        self._mode = mode
        self._results: dict[str, deque[float]] = {}
        self._iter: dict[str, int] = {}

    def __call__(self, trial_id: str, result: Mapping[str, Any]) -> bool:
        fix = "TrialPlateauStopper(metric=...)"
        value = _number(_lookup(result, self._metric, fix), f"metric '{self._metric}'")
        history = self._results.setdefault(trial_id, deque(maxlen=self._num_results))
        history.append(value)
        count = self._iter[trial_id] = self._iter.get(trial_id, 0) + 1
        if count < self._grace_period or len(history) < self._num_results:
            return False
        if self._metric_threshold is not None:
            if self._mode == "min" and value > self._metric_threshold:
                return False
            if self._mode == "max" and value < self._metric_threshold:
                return False
        if not all(math.isfinite(v) for v in history):
            return False
        return statistics.pstdev(history) < self._std

    def stop_all(self) -> bool:
        return False

    def state_dict(self) -> dict[str, Any]:
        return {
            "results": {k: list(v) for k, v in self._results.items()},
            "iter": dict(self._iter),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self._results = {
            str(k): deque(map(float, v), maxlen=self._num_results)
            for k, v in state.get("results", {}).items()
        }
        self._iter = {str(k): int(v) for k, v in state.get("iter", {}).items()}


class ExperimentPlateauStopper(Stopper):
    """Stops the experiment once the best ``top`` values of a metric stopped improving.

    After every result, the ``top`` best values of ``metric`` across all trials are kept; when
    there are ``top`` of them and their standard deviation is at most ``std`` for more than
    ``patience`` consecutive results, everything stops.

    Example:
        >>> stopper = ExperimentPlateauStopper("loss", top=2, std=0.01)
        >>> [stopper(t, {"loss": 0.5}) for t in ("a", "b")]
        [False, True]
    """

    def __init__(
        self, metric: str, std: float = 0.001, top: int = 10, mode: str = "min", patience: int = 0
    ):
        _check_mode(mode, allow_none=False)
        if isinstance(top, bool) or not isinstance(top, int) or top <= 1:
            raise ConfigError(f"top must be an int > 1, got top={top!r}")
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ConfigError(f"patience must be an int >= 0, got patience={patience!r}")
        if _number(std, "std") <= 0:
            raise ConfigError(f"std must be > 0, got std={std}")
        self._metric = metric
        self._std = float(std)
        self._top = top
        self._mode = mode
        self._patience = patience
        self._top_values: list[float] = []  # sorted ascending
        self._iterations = 0

    def __call__(self, trial_id: str, result: Mapping[str, Any]) -> bool:
        fix = "ExperimentPlateauStopper(metric=...)"
        value = _number(_lookup(result, self._metric, fix), f"metric '{self._metric}'")
        bisect.insort(self._top_values, value)
        if len(self._top_values) > self._top:
            if self._mode == "min":
                self._top_values.pop()
            else:
                self._top_values.pop(0)
        self._iterations = self._iterations + 1 if self._has_plateaued() else 0
        return self.stop_all()

    def _has_plateaued(self) -> bool:
        return (
            len(self._top_values) == self._top and statistics.pstdev(self._top_values) <= self._std
        )

    def stop_all(self) -> bool:
        return self._has_plateaued() and self._iterations > self._patience

    def state_dict(self) -> dict[str, Any]:
        return {"top_values": list(self._top_values), "iterations": self._iterations}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self._top_values = sorted(float(v) for v in state.get("top_values", []))
        self._iterations = int(state.get("iterations", 0))


class TimeoutStopper(Stopper):
    """Stops the experiment after ``timeout`` seconds of running it.

    The clock starts when the event loop does (`on_experiment_start`), or at the first call, so
    time spent before the experiment runs does not count. The elapsed time is saved in
    `state_dict`: a restored experiment keeps only the budget that was left.

    Args:
        timeout: Seconds, or a `datetime.timedelta`.
        clock: Monotonic seconds. By default the experiment's clock (real time, or a
            `SimulatedExecutor`'s virtual time; `time.monotonic` outside a Tuner).

    Example:
        >>> now = [0.0]
        >>> stopper = TimeoutStopper(60, clock=lambda: now[0])
        >>> stopper.stop_all()
        False
        >>> now[0] = 61.0
        >>> stopper.stop_all()
        True
    """

    def __init__(
        self,
        timeout: float | datetime.timedelta,
        *,
        clock: Callable[[], float] | None = None,
    ):
        if isinstance(timeout, datetime.timedelta):
            timeout = timeout.total_seconds()
        if _number(timeout, "timeout") <= 0:
            raise ConfigError(
                f"timeout must be > 0 seconds (a number or datetime.timedelta), got {timeout!r}"
            )
        self._budget_s = float(timeout)
        self._own_clock = clock is not None
        self._clock: Callable[[], float] = clock if clock is not None else time.monotonic
        self._engine_clock: Clock | None = None
        self._start: float | None = None
        self._elapsed_before = 0.0

    def on_experiment_start(self, clock: Clock) -> None:
        if not self._own_clock:  # a clock passed in explicitly wins
            self._clock, self._engine_clock = clock.monotonic, clock
        # Count from here: in virtual time the loop's first check may come an event later.
        self._elapsed()

    def _elapsed(self) -> float:
        now = self._clock()
        if self._start is None:
            self._start = start = now
            if self._engine_clock is not None:
                # A clock that jumps over idle time (a simulation's) must stop at the timeout.
                wake_at(self._engine_clock, start + self._budget_s - self._elapsed_before,
                        reached=lambda t: self._elapsed_before + t - start >= self._budget_s)
        return self._elapsed_before + now - self._start

    def __call__(self, trial_id: str, result: Mapping[str, Any]) -> bool:
        self._elapsed()
        return False

    def stop_all(self) -> bool:
        return self._elapsed() >= self._budget_s

    def state_dict(self) -> dict[str, Any]:
        elapsed = self._elapsed_before if self._start is None else self._elapsed()
        return {"elapsed_s": elapsed}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self._elapsed_before = float(state.get("elapsed_s", 0.0))
        self._start = None


class CombinedStopper(Stopper):
    """Stops when any of its stoppers says so; every stopper sees every result.

    Example:
        >>> stopper = CombinedStopper(MaximumIterationStopper(2), DictStopper({"loss": 9}))
        >>> [stopper("t0", {"loss": 1}) for _ in range(2)]
        [False, True]
    """

    def __init__(self, *stoppers: Stopper):
        for stopper in stoppers:
            if not isinstance(stopper, Stopper):
                raise ConfigError(
                    f"CombinedStopper takes Stopper instances, got {type(stopper).__name__} "
                    f"{stopper!r}: wrap callables with FunctionStopper"
                )
        self._stoppers = list(stoppers)

    def __call__(self, trial_id: str, result: Mapping[str, Any]) -> bool:
        # No short-circuit: stateful stoppers must count every result.
        decisions = [stopper(trial_id, result) for stopper in self._stoppers]
        return any(decisions)

    def stop_all(self) -> bool:
        return any([stopper.stop_all() for stopper in self._stoppers])

    def on_experiment_start(self, clock: Clock) -> None:
        for stopper in self._stoppers:
            stopper.on_experiment_start(clock)

    def state_dict(self) -> dict[str, Any]:
        return {"stoppers": [stopper.state_dict() for stopper in self._stoppers]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        states = state.get("stoppers", [])
        if len(states) != len(self._stoppers):
            raise ConfigError(
                f"a CombinedStopper's saved state must match its stoppers, got {len(states)} "
                f"states for {len(self._stoppers)} stoppers: restore with the same stoppers"
            )
        for stopper, sub_state in zip(self._stoppers, states, strict=True):
            stopper.load_state_dict(sub_state)


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
            found, value = _find(result, key)
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
    return _number(value, what)


def _find(result: Mapping[str, Any], key: str) -> tuple[bool, Any]:
    """``(True, result[key])``, where ``a/b`` also finds ``result["a"]["b"]``; else (False, None)."""
    if key in result:
        return True, result[key]
    node: Any = result
    for part in key.split("/"):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


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
        >>> may_end_experiment(TimeoutStopper(60)), may_end_experiment(make_stopper({"x": 1}))
        (True, False)
    """
    if stopper is None:
        return False
    if isinstance(stopper, CombinedStopper):
        return any(may_end_experiment(s) for s in stopper._stoppers)
    return type(stopper).stop_all not in _PER_TRIAL_STOP_ALL


_PER_TRIAL_STOP_ALL = frozenset(
    cls.stop_all
    for cls in (MaximumIterationStopper, TrialPlateauStopper, FunctionStopper, DictStopper)
)


__all__ = [
    "CombinedStopper",
    "DictStopper",
    "ExperimentPlateauStopper",
    "FunctionStopper",
    "MaximumIterationStopper",
    "Stopper",
    "TimeoutStopper",
    "TrialPlateauStopper",
    "make_stopper",
    "may_end_experiment",
]
