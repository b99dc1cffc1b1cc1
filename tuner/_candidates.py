"""The trials a scheduler may choose to run next, read lazily from the trial table."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, overload

from tuner._trial import PAUSED, PENDING, Trial, TrialTable

if TYPE_CHECKING:
    from schedulers import TrialView


class Candidates(Sequence["TrialView"]):
    """PENDING then PAUSED trials that can start now, as views, without building the list
    (the `schedulers.WaitingTrials` a scheduler's `suggest` is handed).

    A scheduler that takes the first PENDING trial (the default, FIFO, ASHA) reads one view;
    one that keeps its own order (PBT) asks `get` for the trials it wants, in constant time.
    `len()` and indexing build the list once. Views are the trials' cached ones, so reading a
    trial that has not changed costs no copy.
    """

    def __init__(self, trials: TrialTable, can_start: Callable[[Trial], bool]) -> None:
        self._trials = trials
        self._can_start = can_start
        self._source = (t.view() for t in trials.iter_status(PENDING, PAUSED) if can_start(t))
        self._read: list[TrialView] = []
        self._done = False

    def __iter__(self) -> Iterator[TrialView]:
        # What was read once is kept, so a scheduler that walks the candidates several times
        # (PBT) checks each trial once; walks may nest or stop half-way.
        index = 0
        while True:
            if index < len(self._read):
                yield self._read[index]
                index += 1
            elif self._done:
                return
            else:
                view = next(self._source, None)
                if view is None:
                    self._done = True
                else:
                    self._read.append(view)

    def _list(self) -> list[TrialView]:
        if not self._done:
            for _ in self:
                pass
        return self._read

    def get(self, trial_id: str) -> TrialView | None:
        """The view of `trial_id` if it waits and can start now, else None."""
        trial = self._trials.get(trial_id)
        if trial is None or trial.status not in (PENDING, PAUSED) or not self._can_start(trial):
            return None
        return trial.view()

    def __len__(self) -> int:
        return len(self._list())

    def __bool__(self) -> bool:
        return next(iter(self), None) is not None

    @overload
    def __getitem__(self, index: int) -> TrialView: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[TrialView]: ...

    def __getitem__(self, index: int | slice) -> TrialView | Sequence[TrialView]:
        return self._list()[index]
