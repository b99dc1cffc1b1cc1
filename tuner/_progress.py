"""What the user sees while `fit()` runs: a short status line now and then, never one per result."""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from typing import Any, TextIO

from schedulers import TrialStatus


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return repr(value) if isinstance(value, str) else str(value)


def format_config(config: Mapping[str, Any], limit: int = 120) -> str:
    text = ", ".join(f"{k}={_format_value(v)}" for k, v in config.items())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class BestTracker:
    """The best result seen so far for a metric, updated in O(1) per result."""

    def __init__(self, metric: str | None, mode: str | None) -> None:
        self.metric, self.mode = metric, mode
        self.value: float | None = None
        self.trial_id: str | None = None
        self.config: Mapping[str, Any] = {}

    def update(self, trial_id: str, config: Mapping[str, Any], result: Mapping[str, Any]) -> None:
        if self.metric is None:
            return
        value = result.get(self.metric)
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            return
        better = self.value is None or (value < self.value if self.mode == "min" else value > self.value)
        if better:
            self.value, self.trial_id, self.config = float(value), trial_id, config


class StatusReporter:
    """Prints one status line every `period_s` seconds (verbose >= 1) and a summary at the end."""

    def __init__(
        self, verbose: int, *, period_s: float = 10.0, out: TextIO | None = None
    ) -> None:
        self.verbose = verbose
        self.period_s = period_s
        self._out = out
        self._next = period_s

    def _write(self, line: str) -> None:
        out = self._out or sys.stdout
        out.write(line + "\n")
        out.flush()

    def line(self, elapsed: float, counts: Mapping[TrialStatus, int], best: BestTracker) -> str:
        parts = [f"{counts.get(s, 0)} {s.value}" for s in TrialStatus if counts.get(s, 0)]
        text = f"[tuner {elapsed:7.1f}s] " + (", ".join(parts) or "no trials yet")
        if best.value is not None:
            text += f" | best {best.metric}={best.value:.6g} ({format_config(best.config, 80)})"
        return text

    def due_in(self, elapsed: float) -> float:
        return max(0.0, self._next - elapsed) if self.verbose >= 1 else math.inf

    def maybe_report(
        self, elapsed: float, counts: Mapping[TrialStatus, int], best: BestTracker
    ) -> None:
        if self.verbose >= 1 and elapsed >= self._next:
            self._next = elapsed + self.period_s
            self._write(self.line(elapsed, counts, best))

    def result(self, trial_id: str, result: Mapping[str, Any]) -> None:
        if self.verbose >= 3:
            shown = {k: v for k, v in result.items() if k not in ("pid", "hostname", "timestamp")}
            self._write(f"[tuner] {trial_id}: {format_config(shown, 200)}")

    def trial_error(self, trial_id: str, message: str, will_retry: bool) -> None:
        if self.verbose >= 1:
            retry = " (will be retried)" if will_retry else ""
            self._write(f"[tuner] {message.splitlines()[-1]}{retry}")

    def final(
        self,
        elapsed: float,
        counts: Mapping[TrialStatus, int],
        best: BestTracker,
        path: str,
    ) -> None:
        if self.verbose >= 1:
            self._write(self.line(elapsed, counts, best) + " | done")
            self._write(f"[tuner] results in {path}")
