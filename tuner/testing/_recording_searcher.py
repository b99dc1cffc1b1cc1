"""A searcher wrapper that passes every call through and checks it against the searcher's life
cycle (`searchers.Searcher`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from searchers import FINISHED, Searcher, SearcherWrapper, SearchSignal
from tuner.testing._json import json_problem
from tuner.testing._space_check import space_problems


class RecordingSearcher(SearcherWrapper):
    """Wraps a searcher: passes every call on to it, and records and checks each.

    What it checks, as each call comes (`problems` lists what went wrong, in order):

    - every suggestion is a dict, None or `FINISHED`, and a dict lies in the search space
      (`space_problems`);
    - the loop asks once for each trial id it got a config for, reports results only of
      suggested trials that have not completed, and tells `on_trial_complete` exactly once
      per suggested trial;
    - `state_dict()` is plain JSON data every time it is asked for (each state save).

    `suggested` maps each trial id to its config, in order.

    Args:
        searcher: The searcher to wrap.
        suggested: Trials an earlier run had been suggested, with their configs (a restore).
        completed: Those of them that had completed in the state it is restored from.

    Example:
        >>> from searchers import BasicVariantGenerator
        >>> recorder = RecordingSearcher(BasicVariantGenerator(seed=0))
        >>> # Tuner(..., tune_config=TuneConfig(search_alg=recorder)).fit(); then:
        >>> recorder.problems
        []
    """

    def __init__(
        self,
        searcher: Searcher,
        *,
        suggested: Mapping[str, Mapping[str, Any]] | None = None,
        completed: Iterable[str] = (),
    ) -> None:
        super().__init__(searcher)
        self.space: Mapping[str, Any] = {}
        self.problems: list[str] = []
        self.suggested: dict[str, dict[str, Any]] = {
            t: dict(c) for t, c in (suggested or {}).items()
        }
        self.completed: dict[str, bool] = dict.fromkeys(completed, False)
        self.states: list[dict[str, Any]] = []

    def _problem(self, message: str) -> None:
        self.problems.append(f"{type(self.searcher).__name__}: {message}")

    def set_search_properties(
        self,
        metric: str | Sequence[str] | None,
        mode: str | Sequence[str] | None,
        param_space: Mapping[str, Any],
    ) -> None:
        super().set_search_properties(metric, mode, param_space)
        self.space = param_space

    def suggest(self, trial_id: str) -> dict[str, Any] | SearchSignal | None:
        config = super().suggest(trial_id)
        if config is None or config is FINISHED:
            return config
        if not isinstance(config, dict):
            self._problem(f"suggest({trial_id!r}) returned {config!r}: a dict, None or FINISHED")
            return config
        if trial_id in self.suggested:
            self._problem(f"suggest({trial_id!r}) was asked again after it gave a config")
        self.suggested[trial_id] = dict(config)
        for problem in space_problems(config, self.space):
            self._problem(f"trial {trial_id}: {problem}")
        return config

    def _check_live(self, call: str, trial_id: str) -> None:
        if trial_id not in self.suggested:
            self._problem(f"{call} for trial {trial_id}, which it never suggested")
        elif trial_id in self.completed:
            self._problem(f"{call} for trial {trial_id}, which had completed")

    def on_trial_result(self, trial_id: str, result: Mapping[str, Any]) -> None:
        self._check_live("on_trial_result", trial_id)
        super().on_trial_result(trial_id, result)

    def on_trial_complete(
        self, trial_id: str, result: Mapping[str, Any] | None = None, error: bool = False
    ) -> None:
        self._check_live("on_trial_complete", trial_id)
        self.completed[trial_id] = error
        super().on_trial_complete(trial_id, result, error)

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        problem = json_problem(state, "state_dict()")
        if problem is not None:
            self._problem(problem)
        self.states.append(state)
        return state

    def end_problems(self, finished: Iterable[str]) -> list[str]:
        """Suggested trials among `finished` that the searcher was not told had completed."""
        return [
            f"trial {trial_id} finished, but on_trial_complete was never called for it"
            for trial_id in finished
            if trial_id in self.suggested and trial_id not in self.completed
        ]
