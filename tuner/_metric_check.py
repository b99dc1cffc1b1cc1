"""The first result's check that the experiment's metrics are there, and numbers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tuner.exceptions import ConfigError


class MetricCheck:
    """Raises a `ConfigError` naming the fix when the first result lacks one of the metrics
    (the objectives, then the constraints' metrics) or holds something other than a number in
    it; later results are not checked again."""

    def __init__(self, metrics: Sequence[str]) -> None:
        self.metrics = tuple(metrics)
        self._done = not self.metrics

    def __call__(self, result: Mapping[str, Any]) -> None:
        if self._done:
            return
        for metric in self.metrics:
            if metric not in result:
                raise ConfigError(
                    f"metric '{metric}' was not in the reported result "
                    f"{ {k: v for k, v in result.items() if k not in ('hostname', 'pid')} }: "
                    "report it or change TuneConfig(metric=...) (or its constraints=...)"
                )
            value = result[metric]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(
                    f"metric '{metric}' must be a number, but a trial reported {value!r} "
                    f"({type(value).__name__}): report a float or int"
                )
        self._done = True
