"""`SearcherWrapper`: the base of searchers that wrap another searcher and pass calls on to it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from searchers._base import Searcher, SearchSignal
from searchers._constraints import Constraint
from searchers._fidelity import Fidelity


class SearcherWrapper(Searcher):
    """A searcher that passes every call on to the searcher it wraps.

    Subclasses override the calls they change (and call `super()` for the rest of the work);
    everything else behaves as the wrapped searcher does. The life cycle is `Searcher`'s: the
    loop drives the wrapper, the wrapper drives `searcher`.

    - `metric`, `mode`, `metrics` and `total_trials` are the wrapped searcher's; assigning
      `metric` or `mode` sets the wrapped searcher's (None, "not set", leaves it as it is).
    - `max_queued` and `learns_from_results` are copied from it when the wrapper is built.
    - `state_dict()` is the wrapped searcher's state: a wrapper with state of its own nests
      `super().state_dict()` in its own, and `load_state_dict` hands that part back to `super()`.

    Args:
        searcher: The searcher to wrap.

    Example:
        >>> from searchers import BasicVariantGenerator, uniform
        >>> class Logged(SearcherWrapper):
        ...     def suggest(self, trial_id):
        ...         config = super().suggest(trial_id)
        ...         print(trial_id, config)
        ...         return config
        >>> logged = Logged(BasicVariantGenerator(seed=0))
        >>> logged.set_search_properties("loss", "min", {"x": 1})
        >>> _ = logged.suggest("t0")
        t0 {'x': 1}
    """

    def __init__(self, searcher: Searcher) -> None:
        if not isinstance(searcher, Searcher):
            raise ValueError(
                f"{type(self).__name__} wraps a Searcher, got {searcher!r}: pass e.g. TPESearch()"
            )
        self.searcher = searcher
        super().__init__()
        self.max_queued = searcher.max_queued
        self.learns_from_results = searcher.learns_from_results

    @property
    def metric(self) -> str | list[str] | None:
        """The wrapped searcher's metric (a list of them for several objectives)."""
        return self.searcher.metric

    @metric.setter
    def metric(self, value: str | list[str] | None) -> None:
        if value is not None:
            self.searcher.metric = value

    @property
    def mode(self) -> str | list[str] | None:
        """The wrapped searcher's mode (a list of them for several objectives)."""
        return self.searcher.mode

    @mode.setter
    def mode(self, value: str | list[str] | None) -> None:
        if value is not None:
            self.searcher.mode = value

    @property
    def metrics(self) -> tuple[str, ...]:
        """The wrapped searcher's metrics."""
        return self.searcher.metrics

    @property
    def total_trials(self) -> int | None:
        """The wrapped searcher's total, if it knows one."""
        return self.searcher.total_trials

    def set_num_samples(self, num_samples: int) -> None:
        """Pass `num_samples` on."""
        self.searcher.set_num_samples(num_samples)

    @property
    def supports_multi_objective(self) -> bool:  # type: ignore[override]
        """The wrapped searcher's."""
        return self.searcher.supports_multi_objective

    @property
    def supports_constraints(self) -> bool:  # type: ignore[override]
        """The wrapped searcher's."""
        return self.searcher.supports_constraints

    @property
    def constraints(self) -> tuple[Constraint, ...]:
        """The wrapped searcher's."""
        return self.searcher.constraints

    @constraints.setter
    def constraints(self, value: tuple[Constraint, ...]) -> None:
        if value:
            self.searcher.constraints = value

    def set_search_properties(
        self,
        metric: str | Sequence[str] | None,
        mode: str | Sequence[str] | None,
        param_space: Mapping[str, Any],
    ) -> None:
        """Pass the experiment's settings on (the wrapped searcher checks they agree with its
        own)."""
        self.searcher.set_search_properties(metric, mode, param_space)

    def set_constraints(self, constraints: tuple[Constraint, ...]) -> None:
        """Pass the constraints on."""
        self.searcher.set_constraints(constraints)

    def set_fidelity(self, fidelity: Fidelity) -> None:
        """Pass the scheduler's budgets on."""
        self.searcher.set_fidelity(fidelity)

    def suggest(self, trial_id: str) -> dict[str, Any] | SearchSignal | None:
        """The wrapped searcher's suggestion."""
        return self.searcher.suggest(trial_id)

    def on_trial_result(self, trial_id: str, result: Mapping[str, Any]) -> None:
        """Pass the intermediate result on."""
        self.searcher.on_trial_result(trial_id, result)

    def on_trial_complete(
        self, trial_id: str, result: Mapping[str, Any] | None = None, error: bool = False
    ) -> None:
        """Pass the trial's end on."""
        self.searcher.on_trial_complete(trial_id, result, error)

    def add_evaluated_points(
        self, points: Sequence[Mapping[str, Any]], results: Sequence[Mapping[str, Any]]
    ) -> None:
        """Pass the evaluated points on."""
        self.searcher.add_evaluated_points(points, results)

    def state_dict(self) -> dict[str, Any]:
        """The wrapped searcher's state."""
        return self.searcher.state_dict()

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore the wrapped searcher's state."""
        self.searcher.load_state_dict(state)
