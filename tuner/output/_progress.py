"""What the user sees while `fit()` runs: a status line or a live table, never one line per result.

Verbosity (`RunConfig(verbose=...)`):

* 0: silent.
* 1: status only: trial counts, the best result so far, elapsed time and time left.
* 2: a table as well: the best result's config and each shown trial's latest metric and iteration
  (running trials first, then the best few).
* 3: every result as a line, too.

In a terminal the status line (verbose 1) or the table (verbose >= 2) is redrawn in place with
plain ANSI escape codes, at most every `refresh_s` seconds. Anywhere else (CI, a log file, a pipe)
a plain status line is written every `period_s` seconds, and the table once at the end.

The hot path costs nothing: the reporter records no per-result data. The event loop already keeps
each trial's latest result on the trial; the reporter reads the `TrialTable` it `watch`es only when
it renders.
"""

from __future__ import annotations

import heapq
import math
import os
import shutil
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from schedulers import TrialStatus

if TYPE_CHECKING:
    from searchers._ranking import Ranking
    from tuner._trial import Trial

_HIDDEN_KEYS = ("pid", "hostname", "timestamp")
_ERASE_BELOW = "\x1b[J"


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return repr(value) if isinstance(value, str) else str(value)


def format_config(config: Mapping[str, Any], limit: int = 120) -> str:
    text = ", ".join(f"{k}={_format_value(v)}" for k, v in config.items())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def format_duration(seconds: float) -> str:
    """`42s`, `3m05s`, `2h07m`.

    Example:
        >>> format_duration(185.2)
        '3m05s'
    """
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) else float(value)


def _is_terminal(out: TextIO) -> bool:
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return out.isatty()
    except (AttributeError, ValueError):  # a closed or file-like stream without a descriptor
        return False


def expected_trials(searcher: object, *, cap_trials: bool, num_samples: int) -> int | None:
    """How many trials the experiment will have, if that is known before it runs.

    Args:
        searcher: The experiment's searcher; one that counts its own samples (grid search)
            tells its `total_trials`.
        cap_trials: Whether the event loop stops creating trials at `num_samples`.
        num_samples: `TuneConfig(num_samples)`; -1 means without end.
    """
    if cap_trials:
        return None if num_samples == -1 else num_samples
    total = getattr(searcher, "total_trials", None)
    return total if isinstance(total, int) and not isinstance(total, bool) else None


class BestTracker:
    """The best result seen so far for a metric, updated in O(1) per result.

    Under several objectives or constraints (`ranking`), it is the best feasible value of the
    first objective, and `front_size` counts the Pareto front of the trials' latest feasible
    results (computed when a progress line asks, not per result).
    """

    def __init__(
        self, metric: str | Sequence[str] | None, mode: str | Sequence[str] | None,
        ranking: Ranking | None = None,
    ) -> None:
        self.ranking = ranking if ranking is not None and not ranking.simple else None
        if self.ranking is not None:
            metric, mode = self.ranking.objectives.metrics[0], self.ranking.objectives.modes[0]
        self.metric: str | None = metric if isinstance(metric, str) or metric is None else None
        self.mode: str | None = mode if isinstance(mode, str) or mode is None else None
        self.value: float | None = None
        self.trial_id: str | None = None
        self.config: Mapping[str, Any] = {}
        self._latest: dict[str, Mapping[str, Any]] = {}
        """Trial id -> its latest feasible result (ranked experiments)."""
        self._front: tuple[int, int] = (-1, 0)
        self._changes = 0

    @property
    def front_size(self) -> int | None:
        """How many trials are on the Pareto front now (None: not a ranked experiment)."""
        if self.ranking is None:
            return None
        if self._front[0] != self._changes:
            results = list(self._latest.values())
            self._front = (self._changes, len(self.ranking.front(results)))
        return self._front[1]

    def update(self, trial_id: str, config: Mapping[str, Any], result: Mapping[str, Any]) -> None:
        if self.metric is None:
            return
        if self.ranking is not None and not self._feasible(trial_id, result):
            return
        value = result.get(self.metric)
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            return
        better = self.value is None or (value < self.value if self.mode == "min" else value > self.value)
        if better:
            self.value, self.trial_id, self.config = float(value), trial_id, config

    def _feasible(self, trial_id: str, result: Mapping[str, Any]) -> bool:
        """Whether a result of a ranked experiment counts (it meets the constraints); keeps it
        as the trial's latest for the front."""
        assert self.ranking is not None
        try:
            feasible = self.ranking.feasible(result) and all(
                _number(result.get(key)) is not None for key in self.ranking.objectives.metrics
            )
        except (KeyError, TypeError):
            feasible = False  # the first result's check names what is missing
        if feasible:
            self._latest[trial_id] = result
        else:
            self._latest.pop(trial_id, None)
        self._changes += 1
        return feasible


class StatusReporter:
    """Renders the experiment's progress for a `verbose` level (see the module docstring).

    Life cycle, as the event loop calls it: `watch(trials)` once; `due_in(elapsed)` to know how
    long it may block; `maybe_report(elapsed, counts, best)` after each batch of events (renders
    only when due); `result(...)` per result (a no-op below verbose 3); `trial_error(...)` per
    failure; `final(...)` once at the end.

    Args:
        verbose: 0 to 3.
        period_s: Seconds between plain status lines when the output is not a terminal.
        refresh_s: Seconds between redraws in a terminal.
        out: Where to write (default: `sys.stdout` at the time of writing).
        terminal: Force (True) or forbid (False) in-place redraws; default: `out.isatty()`.
        total_trials: How many trials the experiment will have, if known (for the time left).
        time_budget_s: The experiment's time budget, if any (for the time left).
        max_rows: Most trial rows in the table.

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> reporter = StatusReporter(1, out=out)
        >>> reporter.final(3.0, {TrialStatus.TERMINATED: 2}, BestTracker(None, None), "/tmp/x")
        >>> out.getvalue().splitlines()[0]
        '[tuner     3.0s] 2 TERMINATED | done'
    """

    def __init__(
        self,
        verbose: int,
        *,
        period_s: float = 10.0,
        refresh_s: float = 0.5,
        out: TextIO | None = None,
        terminal: bool | None = None,
        total_trials: int | None = None,
        time_budget_s: float | None = None,
        max_rows: int = 10,
        pace: Callable[[], float] | None = None,
    ) -> None:
        """`pace`: the clock that spaces the lines, when it is not the experiment's (a
        simulation's virtual time jumps, and would print a line at every turn); the lines show
        the experiment's elapsed time all the same."""
        self.verbose = verbose
        self._pace = pace
        self._pace_start = pace() if pace is not None else 0.0
        self.period_s = period_s
        self.refresh_s = refresh_s
        self._out = out
        self._terminal = terminal
        self.total_trials = total_trials
        self.time_budget_s = time_budget_s
        self.max_rows = max_rows
        self._trials: Iterable[Trial] = ()
        self._drawn = 0  # lines of the live block now on screen (terminal mode)
        self._next = 0.0 if self.terminal else period_s

    # ------------------------------------------------------------------ output
    @property
    def out(self) -> TextIO:
        return self._out or sys.stdout

    @property
    def terminal(self) -> bool:
        if self._terminal is None:
            self._terminal = _is_terminal(self.out)
        return self._terminal

    def watch(self, trials: Iterable[Trial]) -> None:
        """Read the trials (a live `TrialTable`) when rendering the table; call once."""
        self._trials = trials

    def _width(self) -> int:
        return max(40, shutil.get_terminal_size((100, 24)).columns - 1)

    def _erase(self) -> str:
        if not self._drawn:
            return ""
        drawn, self._drawn = self._drawn, 0
        return f"\x1b[{drawn}F{_ERASE_BELOW}"  # to the start of the block's first line, erase

    def _write(self, line: str) -> None:
        """Write a line that stays (above the live block, which is redrawn later)."""
        self.out.write(self._erase() + line + "\n")
        self.out.flush()
        if self.terminal:
            self._next = 0.0

    def _draw(self, lines: list[str]) -> None:
        width = self._width()
        # Lines must not wrap: the block is erased by counting the lines it took.
        text = "".join(line[:width] + "\n" for line in lines)
        self.out.write(self._erase() + text)
        self.out.flush()
        self._drawn = len(lines)

    # ------------------------------------------------------------------ content
    def time_left(self, elapsed: float, counts: Mapping[TrialStatus, int]) -> float | None:
        """Seconds left by the time budget or by the finish rate of trials, whichever is less."""
        estimates = []
        if self.time_budget_s is not None:
            estimates.append(max(0.0, self.time_budget_s - elapsed))
        done = counts.get(TrialStatus.TERMINATED, 0) + counts.get(TrialStatus.ERROR, 0)
        if self.total_trials is not None and done > 0:
            estimates.append(elapsed / done * max(0, self.total_trials - done))
        return min(estimates) if estimates else None

    def line(self, elapsed: float, counts: Mapping[TrialStatus, int], best: BestTracker) -> str:
        parts = [f"{counts.get(s, 0)} {s.value}" for s in TrialStatus if counts.get(s, 0)]
        text = f"[tuner {elapsed:7.1f}s] " + (", ".join(parts) or "no trials yet")
        if self.total_trials is not None:
            text += f" of {self.total_trials}"
        left = self.time_left(elapsed, counts)
        if left is not None and any(
            counts.get(s, 0) for s in (TrialStatus.PENDING, TrialStatus.RUNNING, TrialStatus.PAUSED)
        ):
            text += f", ~{format_duration(left)} left"
        front = best.front_size
        if front is not None and best.ranking is not None:
            text += f" | Pareto front: {front} trial{'s' if front != 1 else ''}"
            if best.ranking.constraints and best.value is None:
                text += " (no feasible trial yet)"
        if best.value is not None:
            text += f" | best {best.metric}={best.value:.6g} ({format_config(best.config, 80)})"
        return text

    def _rows(self, best: BestTracker) -> tuple[list[Trial], int]:
        """The trials shown (running first, then the best few, then the newest) and how many not."""
        trials = list(self._trials)
        shown = [t for t in trials if t.status is TrialStatus.RUNNING][: self.max_rows]
        rest = [t for t in trials if t.status is not TrialStatus.RUNNING]
        room = self.max_rows - len(shown)
        if room > 0 and best.metric is not None:
            sign = 1.0 if best.mode == "min" else -1.0
            scored = [
                (sign * value, i, t)
                for i, t in enumerate(rest)
                if (value := _number(t.last_result.get(best.metric))) is not None
            ]
            shown += [t for _, _, t in heapq.nsmallest(room, scored, key=lambda s: (s[0], s[1]))]
        room = self.max_rows - len(shown)
        if room > 0:
            chosen = {t.trial_id for t in shown}
            shown += [t for t in reversed(rest) if t.trial_id not in chosen][:room]
        return shown, len(trials) - len(shown)

    def table(self, best: BestTracker) -> list[str]:
        """The trial table: a header and one line per shown trial."""
        rows, hidden = self._rows(best)
        if not rows:
            return []
        metric = best.metric
        params: list[str] = []
        for trial in rows:
            params += [k for k in trial.config if k not in params]
        params = params[:4]
        header = ["trial", "status", "iter", *([metric] if metric else []), *params]
        body = []
        for trial in rows:
            cells = [trial.trial_id, trial.status.value, str(trial.iteration)]
            if metric:
                value = trial.last_result.get(metric)
                cells.append("" if value is None else _format_value(value))
            cells += [_format_value(trial.config[p]) if p in trial.config else "" for p in params]
            body.append(cells)
        widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                 for r in [header, *body]]
        if hidden:
            lines.append(f"... {hidden} more trials")
        return lines

    def block(self, elapsed: float, counts: Mapping[TrialStatus, int], best: BestTracker) -> list[str]:
        lines = [self.line(elapsed, counts, best)]
        if self.verbose >= 2:
            lines += self.table(best)
        return lines

    # ------------------------------------------------------------------ the loop's calls
    def _paced(self, elapsed: float) -> float:
        return elapsed if self._pace is None else self._pace() - self._pace_start

    def due_in(self, elapsed: float) -> float:
        return max(0.0, self._next - self._paced(elapsed)) if self.verbose >= 1 else math.inf

    def maybe_report(
        self, elapsed: float, counts: Mapping[TrialStatus, int], best: BestTracker
    ) -> None:
        paced = self._paced(elapsed)
        if self.verbose < 1 or paced < self._next:
            return
        if self.terminal:
            self._next = paced + self.refresh_s
            self._draw(self.block(elapsed, counts, best))
        else:
            self._next = paced + self.period_s
            self._write(self.line(elapsed, counts, best))

    def result(self, trial_id: str, result: Mapping[str, Any]) -> None:
        if self.verbose >= 3:
            shown = {k: v for k, v in result.items() if k not in _HIDDEN_KEYS}
            self._write(f"[tuner] {trial_id}: {format_config(shown, 200)}")

    def trial_error(self, trial_id: str, message: str, will_retry: bool) -> None:
        if self.verbose >= 1:
            retry = " (will be retried)" if will_retry else ""
            lines = message.strip().splitlines() or [f"trial {trial_id} failed"]
            self._write(f"[tuner] {lines[-1]}{retry}")

    def final(
        self,
        elapsed: float,
        counts: Mapping[TrialStatus, int],
        best: BestTracker,
        path: str,
    ) -> None:
        if self.verbose < 1:
            return
        self.out.write(self._erase() + self.line(elapsed, counts, best) + " | done\n")
        if self.verbose >= 2:
            for row in self.table(best):
                self.out.write(row + "\n")
        self.out.write(f"[tuner] results in {path}\n")
        self.out.flush()
