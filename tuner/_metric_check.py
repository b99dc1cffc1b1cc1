"""The first result's check that the experiment's metric is there, and a number."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tuner.exceptions import ConfigError


class MetricCheck:
    """Raises a `ConfigError` naming the fix when the first result lacks the metric or holds
    something other than a number in it; later results are not checked again."""

    def __init__(self, metric: str | None) -> None:
        self.metric = metric
        self._done = metric is None

    def __call__(self, result: Mapping[str, Any]) -> None:
        metric = self.metric
        if self._done or metric is None:
            return
        if metric not in result:
            raise ConfigError(
                f"metric '{metric}' was not in the reported result "
                f"{ {k: v for k, v in result.items() if k not in ('hostname', 'pid')} }: "
                "report it or change TuneConfig(metric=...)"
            )
        value = result[metric]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(
                f"metric '{metric}' must be a number, but a trial reported {value!r} "
                f"({type(value).__name__}): report a float or int"
            )
        self._done = True
