"""PBT's population, kept in order as it changes: scores for the quantiles, waiting trials for
least-trained-first. Each change and each question costs O(log n) (a sorted list's insert is a
memmove), so a result costs the same at 50 trials as at 5,000."""

from __future__ import annotations

import bisect
import heapq
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from schedulers._scores import Score, signed

if TYPE_CHECKING:
    from schedulers._scores import Scores


class ScoreRanking:
    """The latest signed score of every live scored trial, worst first.

    Ties keep the order in which trials joined (`seq`), as a stable sort of the population
    would.
    """

    def __init__(self) -> None:
        self._entries: list[tuple[float, int, str]] = []
        self._keys: dict[str, tuple[float, int, str]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def set(self, trial_id: str, seq: int, score: Score) -> None:
        """Record (or replace) the trial's signed score."""
        self.remove(trial_id)
        key = (signed(score), seq, trial_id)
        bisect.insort(self._entries, key)
        self._keys[trial_id] = key

    def remove(self, trial_id: str) -> None:
        """Forget the trial (no-op when unknown)."""
        key = self._keys.pop(trial_id, None)
        if key is not None:
            index = bisect.bisect_left(self._entries, key)
            del self._entries[index]

    def quantile_size(self, fraction: float) -> int:
        """How many trials the bottom (and the top) quantile holds: ``ceil(n * fraction)``, at
        most half the population, 0 for one trial or none."""
        n = len(self._entries)
        if n <= 1:
            return 0
        return min(math.ceil(n * fraction), n // 2)

    def in_bottom(self, trial_id: str, size: int) -> bool:
        """Whether the trial is among the `size` worst."""
        key = self._keys.get(trial_id)
        return key is not None and bisect.bisect_left(self._entries, key) < size

    def bottom(self, size: int) -> list[str]:
        """The `size` worst trials, worst first."""
        return [entry[2] for entry in self._entries[:size]]

    def top(self, size: int, index: int) -> str:
        """The `index`-th trial (0-based, in ascending order) of the `size` best."""
        return self._entries[len(self._entries) - size + index][2]


class RankedPopulation:
    """`ScoreRanking`'s questions answered by the experiment's ranking (several objectives or
    constraints): the population ordered by constrained non-dominated sorting, worst first.

    The order is computed again only after a change, once per perturbation round at most
    (O(n^2) in the live trials: several objectives have no total order to keep sorted).
    """

    def __init__(self, scores: Scores) -> None:
        self._scores = scores
        self._values: dict[str, Any] = {}
        self._seq: dict[str, int] = {}
        self._worst_first: list[str] | None = None

    def __len__(self) -> int:
        return len(self._values)

    def set(self, trial_id: str, seq: int, score: Any) -> None:
        self._values[trial_id] = score
        self._seq[trial_id] = seq
        self._worst_first = None

    def remove(self, trial_id: str) -> None:
        if self._values.pop(trial_id, None) is not None:
            self._worst_first = None

    def _order(self) -> list[str]:
        if self._worst_first is None:
            by_seq = dict(sorted(self._values.items(), key=lambda item: self._seq[item[0]]))
            self._worst_first = self._scores.best_first(by_seq)[::-1]
        return self._worst_first

    def quantile_size(self, fraction: float) -> int:
        n = len(self._values)
        return 0 if n <= 1 else min(math.ceil(n * fraction), n // 2)

    def in_bottom(self, trial_id: str, size: int) -> bool:
        return trial_id in self._order()[:size]

    def bottom(self, size: int) -> list[str]:
        return self._order()[:size]

    def top(self, size: int, index: int) -> str:
        order = self._order()
        return order[len(order) - size + index]


class TrainQueue:
    """Waiting trials, least trained first (PENDING before PAUSED on a tie, then by `seq`).

    Entries are pushed when a trial starts to wait or its training time changes; an entry that
    no longer matches its trial (it ran, ended, or was pushed again) is skipped when it comes
    up, so nothing is ever searched for.

    Args:
        current: The key a trial would have now, or None when it does not wait.
    """

    def __init__(self, current: Callable[[str], tuple[float, bool, int] | None]) -> None:
        self._heap: list[tuple[float, bool, int, str]] = []
        self._current = current

    def push(self, trial_id: str) -> None:
        """The trial waits (again), or its key changed."""
        key = self._current(trial_id)
        if key is not None:
            heapq.heappush(self._heap, (*key, trial_id))

    def pop_first(
        self, accept: Callable[[str, float], bool], *, below: float = math.inf
    ) -> str | None:
        """Take the least trained waiting trial with training time under `below` that `accept`
        takes; trials `accept` refuses stay queued."""
        refused: list[tuple[float, bool, int, str]] = []
        chosen = None
        while self._heap and self._heap[0][0] < below:
            entry = heapq.heappop(self._heap)
            trial_id = entry[3]
            if self._current(trial_id) != entry[:3]:
                continue  # stale
            if accept(trial_id, entry[0]):
                chosen = trial_id
                break
            refused.append(entry)
        for entry in refused:
            heapq.heappush(self._heap, entry)
        return chosen

    def clear(self) -> None:
        self._heap = []
