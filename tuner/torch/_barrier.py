"""The report barrier: every rank's N-th `report()` forms round N; ranks that break step fail it.

Pure book-keeping (no processes, no clock of its own), so the rules are tested on their own.
"""

from __future__ import annotations

from tuner.exceptions import TrialError
from tuner.torch._messages import RankDone, RankReport

_SAME_COUNT = (
    "every rank must call report() the same number of times, at the same points of the train "
    "loop (rank 0's metrics become the result; other ranks report too, with their checkpoint "
    "files or none)"
)


def ordinal(n: int) -> str:
    """`1` -> "1st", `2` -> "2nd", `11` -> "11th".

    Example:
        >>> [ordinal(n) for n in (1, 2, 3, 4, 11, 22)]
        ['1st', '2nd', '3rd', '4th', '11th', '22nd']
    """
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _ranks(ranks: list[int]) -> str:
    return ("rank " if len(ranks) == 1 else "ranks ") + ", ".join(map(str, sorted(ranks)))


class ReportBarrier:
    """Collects the ranks' reports round by round.

    Life cycle: `add_report` for every `RankReport` (returns the round's reports, by rank, once
    all ranks are in), `add_done` for every `RankDone`, `check_deadline` whenever the
    coordinator wakes up. Each raises `TrialError` as soon as a rank breaks step: it returned
    while others wait for it in `report()`, it reports after another returned, or it did not
    reach a round within `timeout_s` of the first rank that did.

    Args:
        world_size: The number of ranks.
        timeout_s: How long the first rank of a round waits for the others (None: forever).

    Example:
        >>> barrier = ReportBarrier(2, timeout_s=60.0)
        >>> barrier.add_report(RankReport(1, 1, {}, None), now=0.0) is None
        True
        >>> [r.rank for r in barrier.add_report(RankReport(0, 1, {"loss": 1.0}, None), now=0.5)]
        [0, 1]
    """

    def __init__(self, world_size: int, *, timeout_s: float | None) -> None:
        self.world_size = world_size
        self.timeout_s = timeout_s
        self.round = 1
        self._pending: dict[int, RankReport] = {}
        self._done: dict[int, int] = {}
        self._deadline: float | None = None

    @property
    def all_done(self) -> bool:
        """Whether every rank has returned from its train loop."""
        return len(self._done) == self.world_size

    def add_report(self, report: RankReport, *, now: float) -> list[RankReport] | None:
        """Record a report; the round's reports ordered by rank when it is complete, else None."""
        if report.index != self.round or report.rank in self._pending:
            raise TrialError(
                f"rank {report.rank} sent its {ordinal(report.index)} report during round "
                f"{self.round}: the rank and its coordinator are out of step (a bug in tuner)"
            )
        if self._done:
            done = sorted(self._done)
            raise TrialError(
                f"rank {report.rank} called report() a {ordinal(report.index)} time, but "
                f"{_ranks(done)} returned from the train loop after {self._done[done[0]]} "
                f"report(s): {_SAME_COUNT}"
            )
        self._pending[report.rank] = report
        if self._deadline is None and self.timeout_s is not None:
            self._deadline = now + self.timeout_s
        if len(self._pending) < self.world_size:
            return None
        reports = [self._pending[rank] for rank in sorted(self._pending)]
        self._pending.clear()
        self._deadline = None
        self.round += 1
        return reports

    def add_done(self, done: RankDone) -> None:
        """Record that a rank's train loop returned after `done.num_reports` reports."""
        if self._pending:
            waiting = sorted(self._pending)
            raise TrialError(
                f"rank {done.rank} returned from the train loop after {done.num_reports} "
                f"report(s), while {_ranks(waiting)} wait(s) for it in the "
                f"{ordinal(self.round)} report(): {_SAME_COUNT}"
            )
        self._done[done.rank] = done.num_reports

    def time_left(self, now: float) -> float | None:
        """Seconds until the current round times out (None: no round is waiting)."""
        return None if self._deadline is None else max(0.0, self._deadline - now)

    def check_deadline(self, now: float) -> None:
        """Raise if the current round waited longer than `timeout_s` for a rank."""
        if self._deadline is None or now < self._deadline:
            return
        missing = [rank for rank in range(self.world_size) if rank not in self._pending]
        raise TrialError(
            f"{_ranks(missing)} did not call report() a {ordinal(self.round)} time within "
            f"{self.timeout_s:g} s of {_ranks(list(self._pending))}: {_SAME_COUNT}; if "
            f"{_ranks(missing)} is only slower, raise TorchConfig(report_timeout_s=...)"
        )
