"""A scheduler wrapper that passes every call through and checks it against the life cycle."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from schedulers import (
    Decision,
    SuggestionKind,
    TrialScheduler,
    TrialStatus,
    TrialSuggestion,
    TrialView,
    WaitingTrials,
)
from searchers._constraints import Constraint
from searchers._fidelity import Fidelity
from tuner._lifecycle import TABLE, Effect
from tuner.testing._json import json_problem
from tuner.testing._trainable import trial_index

_END_HOOKS = {
    Effect.SCHEDULER_COMPLETE: "on_trial_complete",
    Effect.SCHEDULER_REMOVE: "on_trial_remove",
    Effect.SCHEDULER_ERROR: "on_trial_error",
}


def _statuses_after_hooks() -> dict[str, frozenset[TrialStatus]]:
    """For each end hook, the statuses a trial may have when it is called: the moves of the
    life cycle table that have that hook among their effects."""
    found: dict[str, set[TrialStatus]] = {hook: set() for hook in _END_HOOKS.values()}
    for new_status, effects in TABLE.values():
        for effect in effects:
            if effect in _END_HOOKS:
                found[_END_HOOKS[effect]].add(new_status)
    return {hook: frozenset(statuses) for hook, statuses in found.items()}


STATUS_AT_END: Mapping[str, frozenset[TrialStatus]] = _statuses_after_hooks()
"""End hook -> the statuses of a trial it is called for (from `tuner._lifecycle.TABLE`)."""

STATUS_AT_STATUS_HOOK: frozenset[TrialStatus] = frozenset(
    new for new, effects in TABLE.values() if Effect.SCHEDULER_STATUS in effects
)
"""The statuses a trial may have when `on_trial_status` is called (from the table)."""



def _index(trial_id: str) -> int | str:
    """The trial's creation index, which is the same in every run of an experiment (ids are
    not: they begin with the experiment's random id)."""
    try:
        return trial_index(trial_id)
    except (IndexError, ValueError):
        return trial_id


class RecordingScheduler(TrialScheduler):
    """Wraps a scheduler: passes every call on to it, and records and checks each.

    What it checks, as each call comes (`problems` lists what went wrong, in order):

    - `on_trial_result` only for RUNNING trials the scheduler was not told had ended, and
      the answer is a `Decision`;
    - `suggest` runs one of the trials it was shown (from the checkpoint of a trial that was
      added, with a JSON config), or stops a trial that was added and has not ended;
    - `on_trial_status` only for live trials, in a status the life cycle table gives it;
    - exactly one of `on_trial_complete` / `on_trial_error` / `on_trial_remove` per trial, in a
      status the life cycle table (`tuner._lifecycle.TABLE`) gives that hook;
    - `state_dict()` is plain JSON data every time it is asked for (each state save).

    `decisions` logs what the scheduler decided with trials named by their creation index, so
    that two runs of the same experiment can be compared.

    Args:
        scheduler: The scheduler to wrap.
        added: The trials an earlier run added (for a run restored from its state).
        ended: The trials that had ended in that state, with the hook each was ended by.

    Example:
        >>> from schedulers import FIFOScheduler
        >>> recorder = RecordingScheduler(FIFOScheduler())
        >>> # Tuner(..., tune_config=TuneConfig(scheduler=recorder)).fit(); then:
        >>> recorder.problems
        []
    """

    def __init__(
        self,
        scheduler: TrialScheduler,
        *,
        added: Iterable[str] = (),
        ended: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.scheduler = scheduler
        self.metric, self.mode = scheduler.metric, scheduler.mode
        # What the loop reads of a scheduler's class, from the wrapped one.
        self.pauses_trials = scheduler.pauses_trials
        self.supports_model_based_searchers = scheduler.supports_model_based_searchers
        self.copies_checkpoints = scheduler.copies_checkpoints
        self.supports_multi_objective = scheduler.supports_multi_objective
        self.supports_constraints = scheduler.supports_constraints
        self.problems: list[str] = []
        self.decisions: list[tuple[Any, ...]] = []
        self.added: list[str] = list(added)
        self.ended: dict[str, str] = dict(ended or {})
        self.states: list[dict[str, Any]] = []

    def _problem(self, message: str) -> None:
        self.problems.append(f"{type(self.scheduler).__name__}: {message}")

    def _check_live(self, call: str, trial_id: str) -> None:
        if trial_id not in self.added:
            self._problem(f"{call} for trial {trial_id}, which was never added")
        elif trial_id in self.ended:
            self._problem(f"{call} for trial {trial_id} after its {self.ended[trial_id]}")

    # ----------------------------------------------------------------- passed through
    def set_search_properties(
        self, metric: str | Sequence[str] | None, mode: str | Sequence[str] | None
    ) -> None:
        self.scheduler.set_search_properties(metric, mode)
        self.metric, self.mode = self.scheduler.metric, self.scheduler.mode

    def set_constraints(self, constraints: tuple[Constraint, ...]) -> None:
        self.scheduler.set_constraints(constraints)
        self.constraints = self.scheduler.constraints

    def set_param_space(self, param_space: Mapping[str, Any]) -> None:
        self.scheduler.set_param_space(param_space)

    @property
    def fidelity(self) -> Fidelity | None:
        return self.scheduler.fidelity

    def on_trial_add(self, trial: TrialView) -> None:
        if trial.trial_id in self.added and trial.trial_id not in self.ended:
            self._problem(f"on_trial_add for trial {trial.trial_id}, which was added already")
        self.added.append(trial.trial_id)
        self.ended.pop(trial.trial_id, None)  # a restore runs an errored trial again
        self.scheduler.on_trial_add(trial)

    def on_trial_result(self, trial: TrialView, result: Mapping[str, Any]) -> Decision:
        self._check_live("on_trial_result", trial.trial_id)
        if trial.status is not TrialStatus.RUNNING:
            self._problem(
                f"on_trial_result for trial {trial.trial_id} in status {trial.status.value}"
            )
        decision = self.scheduler.on_trial_result(trial, result)
        if not isinstance(decision, Decision):
            self._problem(f"on_trial_result returned {decision!r}, not a Decision")
        self.decisions.append((
            "result", _index(trial.trial_id), result.get("training_iteration"),
            getattr(decision, "value", decision),
        ))
        return decision

    def on_trial_status(self, trial: TrialView) -> None:
        self._check_live("on_trial_status", trial.trial_id)
        if trial.status not in STATUS_AT_STATUS_HOOK:
            allowed = sorted(s.value for s in STATUS_AT_STATUS_HOOK)
            self._problem(
                f"on_trial_status for trial {trial.trial_id} in status {trial.status.value}; "
                f"the life cycle calls it for {allowed} only"
            )
        self.scheduler.on_trial_status(trial)

    def suggest(self, waiting: WaitingTrials) -> TrialSuggestion | None:
        suggestion = self.scheduler.suggest(waiting)
        if suggestion is None:
            return None
        if not isinstance(suggestion, TrialSuggestion):
            self._problem(f"suggest returned {suggestion!r}, not a TrialSuggestion or None")
            return suggestion
        trial_id = suggestion.trial_id
        self._check_live("suggest", trial_id)
        if suggestion.kind is SuggestionKind.STOP:
            self.decisions.append(("stop", _index(trial_id)))
            return suggestion
        if waiting.get(trial_id) is None:
            self._problem(f"suggest chose trial {trial_id} to run, which it was not shown")
        donor = suggestion.checkpoint_trial_id
        if donor is not None and donor not in self.added:
            self._problem(
                f"suggest resumes trial {trial_id} from {donor!r}'s checkpoint, a trial that "
                "was never added"
            )
        if suggestion.config is not None:
            problem = json_problem(dict(suggestion.config), "a suggested config")
            if problem is not None:
                self._problem(problem)
        if suggestion.exploits:
            self.decisions.append((
                "exploit", _index(trial_id), _index(str(donor)), dict(suggestion.config or {}),
            ))
        self.decisions.append(("run", _index(trial_id)))
        return suggestion

    def on_trial_complete(self, trial: TrialView, result: Mapping[str, Any]) -> None:
        self._ended("on_trial_complete", trial)
        self.scheduler.on_trial_complete(trial, result)

    def on_trial_error(self, trial: TrialView) -> None:
        self._ended("on_trial_error", trial)
        self.scheduler.on_trial_error(trial)

    def on_trial_remove(self, trial: TrialView) -> None:
        self._ended("on_trial_remove", trial)
        self.scheduler.on_trial_remove(trial)

    def _ended(self, hook: str, trial: TrialView) -> None:
        self._check_live(hook, trial.trial_id)
        if trial.status not in STATUS_AT_END[hook]:
            allowed = sorted(s.value for s in STATUS_AT_END[hook])
            self._problem(
                f"{hook} for trial {trial.trial_id} in status {trial.status.value}; the life "
                f"cycle calls it for {allowed} only"
            )
        self.ended.setdefault(trial.trial_id, hook)
        self.decisions.append(("end", _index(trial.trial_id), hook))

    def state_dict(self) -> dict[str, Any]:
        state = self.scheduler.state_dict()
        problem = json_problem(state, "state_dict()")
        if problem is not None:
            self._problem(problem)
        self.states.append(state)
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.scheduler.load_state_dict(state)

    # ----------------------------------------------------------------- after the run
    def end_problems(self, statuses: Mapping[str, TrialStatus]) -> list[str]:
        """What is wrong with how the scheduler was told of the trials' ends, given each
        trial's final status: every trial added must have ended, with the hook its status
        allows, and each trial in `statuses` must have been added."""
        problems = []
        for trial_id in sorted(set(self.added) | set(statuses)):
            status = statuses.get(trial_id)
            hook = self.ended.get(trial_id)
            if trial_id not in self.added:
                problems.append(f"trial {trial_id} was never added to the scheduler")
            elif status is None or not status.is_finished:
                problems.append(f"trial {trial_id} did not finish (status {status})")
            elif hook is None:
                problems.append(
                    f"trial {trial_id} ended {status.value}, but the scheduler was told of no "
                    "end (on_trial_complete, on_trial_error or on_trial_remove)"
                )
            elif status not in STATUS_AT_END[hook]:
                problems.append(f"trial {trial_id} ended {status.value} but was told {hook}")
        return problems
