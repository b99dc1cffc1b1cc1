"""The searcher interface: propose configurations, learn from their results."""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping, Sequence
from typing import Any

from searchers._constraints import Constraint
from searchers._fidelity import Fidelity
from searchers._ranking import Ranking, check_objectives


class SearchSignal(enum.Enum):
    """Answers from `Searcher.suggest` other than a config."""

    FINISHED = "FINISHED"


FINISHED = SearchSignal.FINISHED
"""Returned by `Searcher.suggest` when the searcher will propose no more configurations."""


class Searcher(abc.ABC):
    """Proposes configurations and learns from their results.

    Life cycle, as driven by the event loop:

    1. `set_search_properties(metric, mode, param_space)` once before the first suggestion, with
       the experiment's settings. A searcher built with its own metric/mode/space keeps them and
       checks that they agree. Then `set_num_samples(num_samples)` with `TuneConfig(num_samples)`.
       The loop creates at most `num_samples` trials (as Ray Tune's `SearchGenerator` does),
       unless `total_trials` then tells a larger count: a searcher that suggests more by design
       (a grid walked `num_samples` times) ends the experiment itself by returning `FINISHED`.
       With a multi-fidelity scheduler, `set_fidelity(fidelity)` then tells its budgets.
    2. `suggest(trial_id)` whenever the loop has room for a new trial: a config (plain dict, all
       values resolved), `None` for "ask again later" (e.g. waiting on results), or `FINISHED`.
    3. `on_trial_result(trial_id, result)` for intermediate results (optional hook).
    4. `on_trial_complete(trial_id, result, error)` exactly once per suggested trial.
    5. `state_dict()` / `load_state_dict()` for experiment checkpoints: plain JSON data, so that a
       restored searcher makes the same next suggestions as the original would have.

    Attributes:
        max_queued: How many suggested trials may wait unstarted. Model-based searchers keep 1 so
            the loop does not run ahead of the model; random and grid search may queue more.
        learns_from_results: Whether suggestions depend on earlier results (False for random and
            grid search); schedulers that change configs mid-trial refuse such searchers.
    """

    max_queued: int = 1

    learns_from_results: bool = True
    """Whether suggestions depend on earlier results (False for random and grid search)."""

    supports_multi_objective: bool = False
    """Whether it optimises several objectives at once (`metric` a list of names)."""

    supports_constraints: bool = False
    """Whether it takes `TuneConfig(constraints=...)` into account (feasible results first)."""

    def __init__(
        self,
        *,
        metric: str | list[str] | None = None,
        mode: str | list[str] | None = None,
    ) -> None:
        self.metric, self.mode = check_objectives(
            metric, mode, owner=type(self).__name__, multi_ok=self.supports_multi_objective
        )
        self.constraints: tuple[Constraint, ...] = ()

    @property
    def metrics(self) -> tuple[str, ...]:
        """The metrics this searcher learns from: its objectives, then the constraints' metrics
        (wrappers such as `Repeater` average each of them)."""
        if self.metric is None:
            return ()
        names = [self.metric] if isinstance(self.metric, str) else list(self.metric)
        names += [c.metric for c in self.constraints]
        return tuple(dict.fromkeys(names))

    @property
    def ranking(self) -> Ranking:
        """The objectives and constraints results are ranked by.

        Raises:
            ValueError: No metric or mode is set yet.
        """
        return Ranking.needed(type(self).__name__, self.metric, self.mode, self.constraints)

    def set_constraints(self, constraints: tuple[Constraint, ...]) -> None:
        """The experiment's constraints (`TuneConfig(constraints=...)`), after
        `set_search_properties`.

        Raises:
            ValueError: The searcher does not take constraints (`supports_constraints`).
        """
        if constraints and not self.supports_constraints:
            raise ValueError(
                f"{type(self).__name__} does not take constraints into account, got "
                f"constraints={[str(c) for c in constraints]}: use random or grid search, "
                "TPESearch, NSGA2Search or OptunaSearch, or drop the constraints"
            )
        self.constraints = tuple(constraints)

    @property
    def total_trials(self) -> int | None:
        """How many trials this searcher suggests in all, if it knows (None: `num_samples`)."""
        return None

    def set_num_samples(self, num_samples: int) -> None:  # noqa: B027 - an optional hook
        """`TuneConfig(num_samples)` (-1: without end), before the first suggestion."""

    def set_search_properties(
        self,
        metric: str | Sequence[str] | None,
        mode: str | Sequence[str] | None,
        param_space: Mapping[str, Any],
    ) -> None:
        """Take the experiment's metric(s), mode(s) and search space.

        Raises:
            ValueError: They disagree with the searcher's own, or name several objectives and
                the searcher optimises one.
        """
        metric, mode = check_objectives(
            metric, mode, owner=type(self).__name__, multi_ok=self.supports_multi_objective
        )
        for name, ours, theirs in (("metric", self.metric, metric), ("mode", self.mode, mode)):
            if ours is not None and theirs is not None and ours != theirs:
                raise ValueError(
                    f"{type(self).__name__} was built with {name}={ours!r} but TuneConfig has "
                    f"{name}={theirs!r}: set it in one place only"
                )
        self.metric = self.metric if self.metric is not None else metric
        self.mode = self.mode if self.mode is not None else mode

    @abc.abstractmethod
    def suggest(self, trial_id: str) -> dict[str, Any] | SearchSignal | None:
        """A new config for `trial_id`, `None` to be asked again later, or `FINISHED`."""

    def set_fidelity(self, fidelity: Fidelity) -> None:  # noqa: B027 - an optional hook
        """The budgets at which the scheduler compares trials (`TrialScheduler.fidelity`),
        after `set_search_properties`, when the scheduler has any: a searcher that models each
        budget apart (`TuneBOHB`) observes results there."""

    def on_trial_result(  # noqa: B027 - an optional hook
        self, trial_id: str, result: Mapping[str, Any]
    ) -> None:
        """An intermediate result of a suggested trial."""

    @abc.abstractmethod
    def on_trial_complete(
        self, trial_id: str, result: Mapping[str, Any] | None = None, error: bool = False
    ) -> None:
        """A suggested trial ended, with its last result (None if it reported none)."""

    def add_evaluated_points(
        self, points: Sequence[Mapping[str, Any]], results: Sequence[Mapping[str, Any]]
    ) -> None:
        """Warm-start the searcher with configs evaluated elsewhere and their results."""
        raise NotImplementedError(f"{type(self).__name__} does not take evaluated points")

    def state_dict(self) -> dict[str, Any]:
        """The searcher's state as plain JSON data."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:  # noqa: B027 - an optional hook
        """Restore the state returned by `state_dict()`."""
