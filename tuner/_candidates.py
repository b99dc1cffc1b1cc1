"""The trials a scheduler may choose to run next, read lazily from the trial table."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, overload

from tuner._trial import PAUSED, PENDING, Trial, TrialTable

if TYPE_CHECKING:
    from schedulers import TrialView


class Candidates(Sequence["TrialView"]):
    """PENDING then PAUSED trials that can start now, as views, without building the list.

    A scheduler that takes the first PENDING trial (the default, FIFO, ASHA) reads one view;
    one that ranks them all reads them all. `len()` and indexing build the list once. Views
    are the trials' cached ones, so reading a trial that has not changed costs no copy.
    """

    def __init__(self, trials: TrialTable, can_start: Callable[[Trial], bool]) -> None:
        self._trials = trials
        self._can_start = can_start
        self._listed: list[TrialView] | None = None

    def __iter__(self) -> Iterator[TrialView]:
        if self._listed is not None:
            yield from self._listed
            return
        for trial in self._trials.iter_status(PENDING, PAUSED):
            if self._can_start(trial):
                yield trial.view()

    def _list(self) -> list[TrialView]:
        if self._listed is None:
            self._listed = list(iter(self))
        return self._listed

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
