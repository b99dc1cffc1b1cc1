"""The callbacks' views of an experiment's trials: one `Trial` per engine trial, built once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuner.experiment._trial import ExperimentFacts, Trial

if TYPE_CHECKING:
    from tuner._trial import Trial as EngineTrial


class TrialViews:
    """One `Trial` view per engine trial, and the tuple of all of them that hooks get as
    ``trials``.

    A view reads its trial live, so it is made once, when the trial is added; the tuple is made
    again only after a trial was added (a tuple: a callback cannot change what the next one
    sees).

    Args:
        facts: What every view of the experiment shares.
    """

    def __init__(self, facts: ExperimentFacts) -> None:
        self._facts = facts
        self._views: dict[str, Trial] = {}
        self._all: tuple[Trial, ...] | None = ()

    def add(self, trial: EngineTrial) -> Trial:
        """The view of `trial`, made if it is new."""
        view = self._views.get(trial.trial_id)
        if view is None:
            view = self._views[trial.trial_id] = Trial(trial, self._facts, index=len(self._views))
            self._all = None
        return view

    def __getitem__(self, trial_id: str) -> Trial:
        return self._views[trial_id]

    @property
    def all(self) -> tuple[Trial, ...]:
        """Every trial's view, in the order the trials were added."""
        if self._all is None:
            self._all = tuple(self._views.values())
        return self._all
