"""What a scheduler asks the loop to do next: run a waiting trial (maybe from another trial's
checkpoint, with a new config), or stop one it gave up on."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from schedulers._frozen import thaw
from schedulers._trial_view import TrialStatus, TrialView

_WAITING = (TrialStatus.PENDING, TrialStatus.PAUSED)


class SuggestionKind(enum.Enum):
    """What a `TrialSuggestion` asks for."""

    RUN = "RUN"
    """Start a PENDING trial, or resume a PAUSED one."""
    STOP = "STOP"
    """End a waiting trial the scheduler gave up on (a lost HyperBand halving)."""


@dataclass(frozen=True)
class TrialSuggestion:
    """A scheduler's answer to "what now?" when a worker is free (in the manner of Syne Tune's).

    Build one with `TrialSuggestion.run(...)` or `TrialSuggestion.stop(...)`.

    Attributes:
        kind: RUN or STOP.
        trial_id: The waiting trial it is about.
        config: For RUN: the config the trial continues with (plain dicts and lists; parts of a
            view's read-only config put in it are copied), or None to keep its own.
        checkpoint_trial_id: For RUN: the trial whose latest checkpoint it resumes from (PBT's
            exploit: a copy of a better trial's), or None for its own.

    Example:
        >>> TrialSuggestion.run("t3", config={"lr": 0.02}, checkpoint_trial_id="t1")
        TrialSuggestion(kind=<SuggestionKind.RUN: 'RUN'>, trial_id='t3', config={'lr': 0.02}, checkpoint_trial_id='t1')
    """

    kind: SuggestionKind
    trial_id: str
    config: Mapping[str, Any] | None = None
    checkpoint_trial_id: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kind, SuggestionKind):
            raise TypeError(f"`kind` must be a SuggestionKind, got kind={self.kind!r}")
        if not isinstance(self.trial_id, str):
            raise TypeError(f"`trial_id` must be a trial's id (a str), got {self.trial_id!r}")
        if self.kind is SuggestionKind.STOP and (
            self.config is not None or self.checkpoint_trial_id is not None
        ):
            raise ValueError(
                "a STOP suggestion takes no config or checkpoint_trial_id: use "
                "TrialSuggestion.stop(trial_id)"
            )
        if self.config is not None:
            object.__setattr__(self, "config", thaw(self.config))

    @classmethod
    def run(
        cls,
        trial_id: str,
        *,
        config: Mapping[str, Any] | None = None,
        checkpoint_trial_id: str | None = None,
    ) -> TrialSuggestion:
        """Start or resume `trial_id`, optionally from another trial's checkpoint with a new
        config."""
        return cls(SuggestionKind.RUN, trial_id, config, checkpoint_trial_id)

    @classmethod
    def stop(cls, trial_id: str) -> TrialSuggestion:
        """End the waiting trial `trial_id`."""
        return cls(SuggestionKind.STOP, trial_id)

    @property
    def exploits(self) -> bool:
        """Whether it resumes from another trial's checkpoint."""
        return self.checkpoint_trial_id not in (None, self.trial_id)


class WaitingTrials(Protocol):
    """The trials that could run now, as the loop hands them to `TrialScheduler.suggest`.

    Iterating gives views of the PENDING trials in creation order, then of the PAUSED ones; a
    view is made only when it is reached, so a scheduler that takes the first PENDING trial pays
    for one. `get` answers for one trial in constant time, for schedulers that keep their own
    order (PBT's least-trained-first).
    """

    def __iter__(self) -> Iterator[TrialView]: ...

    def __bool__(self) -> bool: ...

    def get(self, trial_id: str) -> TrialView | None:
        """The view of `trial_id` if it waits and can run now, else None."""
        ...


class WaitingList:
    """`WaitingTrials` over a list of views (for tests, and for calling a scheduler by hand).

    Views in other statuses are left out, so a list of every trial can be passed.

    Example:
        >>> waiting = WaitingList([TrialView("t0", {}, TrialStatus.PAUSED),
        ...                        TrialView("t1", {}, TrialStatus.PENDING)])
        >>> [view.trial_id for view in waiting]
        ['t1', 't0']
    """

    def __init__(self, views: Iterable[TrialView]) -> None:
        views = list(views)
        self._views = [v for s in _WAITING for v in views if v.status is s]
        self._by_id = {v.trial_id: v for v in self._views}

    def __iter__(self) -> Iterator[TrialView]:
        return iter(self._views)

    def __bool__(self) -> bool:
        return bool(self._views)

    def __len__(self) -> int:
        return len(self._views)

    def get(self, trial_id: str) -> TrialView | None:
        return self._by_id.get(trial_id)
