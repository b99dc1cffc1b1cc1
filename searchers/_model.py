"""What model-based searchers share: the flat parameter list, observations, points, state."""

from __future__ import annotations

import abc
import logging
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from searchers._base import Searcher, SearchSignal
from searchers._outcome import Outcome, outcome_of
from searchers._paths import (
    Path,
    find_domains,
    find_grids,
    get_value,
    merge,
    path_str,
    resolve,
)
from searchers._rng import load_rng, make_rng, rng_state
from searchers._space import Categorical, Domain, Float, Function, Integer, Normal

logger = logging.getLogger(__name__)

NORMAL_SPAN = 4.0
"""Model-based searchers search a `randn` domain within this many sd of its mean."""


@dataclass(frozen=True)
class Param:
    """One searched parameter: where it sits in the config and its domain."""

    path: Path
    domain: Domain

    @property
    def name(self) -> str:
        """The path as users read it."""
        return path_str(self.path)

    def encode(self, value: Any) -> float | int:
        """The value as stored in observations: numbers as is, a category by its index."""
        if isinstance(self.domain, Categorical):
            index = self.domain.index(value)
            if index is None:
                raise ValueError(
                    f"{self.name!r}={value!r} is not one of the choices "
                    f"{list(self.domain.categories)!r}: pick one of them"
                )
            return index
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"{self.name!r} must be a number, got {value!r}")
        if isinstance(self.domain, Integer):
            return int(value) if isinstance(value, numbers.Integral) else round(float(value))
        return float(value)

    def decode(self, encoded: float | int) -> Any:
        """The config value of an encoded one."""
        if isinstance(self.domain, Categorical):
            return self.domain.categories[int(encoded)]
        return encoded


def model_params(space: Mapping[str, Any], owner: str, *, numeric_only: bool) -> list[Param]:
    """The domains a model searches, in path order; `sample_from` is left to `resolve`.

    Raises:
        ValueError: On `grid_search`, or a categorical parameter when `numeric_only`.
    """
    for path, _ in find_grids(space):
        raise ValueError(
            f"{owner} does not support grid_search (parameter {path_str(path)!r}): use "
            "choice([...]) to let the model pick, or BasicVariantGenerator for a grid"
        )
    params = []
    supported: tuple[type, ...] = (Float, Integer, Normal)
    if not numeric_only:
        supported += (Categorical,)
    for path, domain in find_domains(space):
        if isinstance(domain, Function):
            continue
        if not isinstance(domain, supported):
            hint = " (categorical)" if isinstance(domain, Categorical) else ""
            raise ValueError(
                f"{owner} searches numeric domains only, got {type(domain).__name__}{hint} at "
                f"parameter {path_str(path)!r}: use TPESearch or OptunaSearch for it"
            )
        params.append(Param(path, domain))
    return params


class ModelSearcher(Searcher):
    """Base of searchers that model their objectives from observed trials (TPE, BayesOpt,
    NSGA-II).

    Subclasses implement `_propose()`, which picks values for `self.params` from what was
    observed; this class handles the space, `points_to_evaluate`, `sample_from`, observations
    and the JSON state. Each completed trial with the objectives in its last result becomes an
    `Outcome` in `self.outcomes`: its objective values, always minimised (with `mode="max"` the
    negated metric), and its feasibility under the constraints. `self.observations` is the
    single-objective view, `(encoded, loss)` per trial.
    """

    max_queued = 1
    numeric_only = False

    def __init__(
        self,
        space: Mapping[str, Any] | None,
        *,
        metric: str | list[str] | None,
        mode: str | list[str] | None,
        points_to_evaluate: Sequence[Mapping[str, Any]] | None,
        seed: int | None,
    ) -> None:
        super().__init__(metric=metric, mode=mode)
        points = list(points_to_evaluate or [])
        for point in points:
            if not isinstance(point, Mapping):
                raise ValueError(
                    f"`points_to_evaluate` must be a list of dicts, got an item {point!r}: "
                    "pass partial configs such as [{'lr': 0.1}]"
                )
        self._points = [dict(p) for p in points]
        self._own_space = space
        self._space: Mapping[str, Any] | None = None
        self.params: list[Param] = []
        self._rng = make_rng(seed)
        self.outcomes: list[tuple[list[float | int], Outcome]] = []  # (encoded config, outcome)
        self._live: dict[str, list[float | int]] = {}
        self._n_suggested = 0  # configs drawn: the next point to evaluate is this one
        self._warm_started = False
        if space is not None:
            self._set_space(space)

    @property
    def rng(self) -> np.random.Generator:
        """The searcher's own generator."""
        return self._rng

    @property
    def observations(self) -> list[tuple[list[float | int], float]]:
        """`(encoded config, loss)` of each observed trial: its first objective, minimised (all
        a single-objective searcher learns from; see `outcomes` for the rest)."""
        return [(encoded, outcome.losses[0]) for encoded, outcome in self.outcomes]

    @property
    def pending(self) -> list[list[float | int]]:
        """Encoded configs of suggested trials that have not completed."""
        return list(self._live.values())

    def set_search_properties(
        self,
        metric: str | Sequence[str] | None,
        mode: str | Sequence[str] | None,
        param_space: Mapping[str, Any],
    ) -> None:
        """Take the experiment's metric(s), mode(s) and (unless given at construction) space."""
        super().set_search_properties(metric, mode, param_space)
        if self._own_space is None:
            self._set_space(param_space)
            return
        if find_domains(param_space) or find_grids(param_space):
            raise ValueError(
                f"{type(self).__name__} was given a search space and so was the Tuner "
                "(param_space): define it in one place only"
            )
        self._set_space(merge(param_space, self._own_space))  # the Tuner's constants kept

    def _set_space(self, space: Mapping[str, Any]) -> None:
        if not isinstance(space, Mapping):
            raise ValueError(
                f"the search space must be a dict, got {type(space).__name__}: "
                "pass {'name': domain, ...}"
            )
        self.params = model_params(space, type(self).__name__, numeric_only=self.numeric_only)
        for i, point in enumerate(self._points):
            for param in self.params:
                try:
                    param.encode(get_value(point, param.path))
                except (KeyError, IndexError, TypeError):
                    continue  # not set by this point: it will be sampled
                except ValueError as error:
                    raise ValueError(f"points_to_evaluate[{i}]: {error}") from None
        self._space = space

    def _check_ready(self) -> Mapping[str, Any]:
        name = type(self).__name__
        if self._space is None:
            raise RuntimeError(
                f"{name} has no search space: pass `space` or call "
                "set_search_properties(metric, mode, param_space) before suggest()"
            )
        if self.metric is None or self.mode is None:
            raise ValueError(
                f"{name} needs a metric and a mode, got metric={self.metric!r}, "
                f"mode={self.mode!r}: set TuneConfig(metric=..., mode=...) or pass them to "
                f"{name}(metric=..., mode=...)"
            )
        return self._space

    def suggest(self, trial_id: str) -> dict[str, Any] | SearchSignal | None:
        """The next point to evaluate, else the model's proposal."""
        space = self._check_ready()
        if not self._warm_started:
            self._warm_started = True
            self._warm_start()
        config = self._next_config(space)
        self._live[trial_id] = [p.encode(get_value(config, p.path)) for p in self.params]
        self._n_suggested += 1
        return config

    def _next_config(self, space: Mapping[str, Any]) -> dict[str, Any]:
        """The next point to evaluate, else the model's proposal, resolved in `space`."""
        if self._n_suggested < len(self._points):
            return dict(resolve(merge(space, self._points[self._n_suggested]), self._rng))
        values = self._propose()
        return dict(resolve(space, self._rng, dict(zip(
            [p.path for p in self.params], values, strict=True))))

    def _warm_start(self) -> None:
        """Observe what the searcher was given to learn from (once, before the first suggestion,
        when the space and metric are known)."""

    def random_values(self) -> list[Any]:
        """Values for `self.params` drawn from their prior (the domains' own distributions)."""
        return [p.domain.sample(self._rng) for p in self.params]

    @abc.abstractmethod
    def _propose(self) -> list[Any]:
        """Config values for `self.params` (not encoded), in their order."""

    def on_trial_complete(
        self, trial_id: str, result: Mapping[str, Any] | None = None, error: bool = False
    ) -> None:
        """Add the trial's final metric as an observation (not on error or without it)."""
        encoded = self._live.pop(trial_id, None)
        if encoded is None:
            logger.debug("%s: trial %s was not suggested here", type(self).__name__, trial_id)
            return
        if error or result is None:
            logger.info("%s: trial %s errored or reported nothing; not observed",
                        type(self).__name__, trial_id)
            return
        self._observe(encoded, result, trial_id)

    def _observe(
        self, encoded: list[float | int], result: Mapping[str, Any], trial_id: str
    ) -> None:
        outcome = outcome_of(result, self.ranking)
        if isinstance(outcome, str):
            logger.warning("%s: trial %s result %s; not observed",
                           type(self).__name__, trial_id, outcome)
            return
        self.outcomes.append((encoded, outcome))

    def add_evaluated_points(
        self, points: Sequence[Mapping[str, Any]], results: Sequence[Mapping[str, Any]]
    ) -> None:
        """Observe configs evaluated elsewhere; each must set every searched parameter."""
        self._check_ready()
        if len(points) != len(results):
            raise ValueError(
                f"`points` and `results` must have the same length, got {len(points)} and "
                f"{len(results)}"
            )
        for i, (point, result) in enumerate(zip(points, results, strict=True)):
            self._observe(self._encode_point(point, f"points[{i}]"), result, f"points[{i}]")

    def _encode_point(self, point: Mapping[str, Any], name: str) -> list[float | int]:
        """The encoded values of a config that sets every searched parameter.

        Raises:
            ValueError: `point` lacks a parameter or holds a value outside its domain.
        """
        try:
            return [p.encode(get_value(point, p.path)) for p in self.params]
        except (KeyError, IndexError, TypeError) as error:
            raise ValueError(
                f"{name} lacks parameter {error}: evaluated points must set every "
                f"searched parameter ({[p.name for p in self.params]})"
            ) from None

    def state_dict(self) -> dict[str, Any]:
        """Observations, live trials, counters and the generator state, as JSON data.

        An observation is `[encoded, loss]` when that is all there is to it (one objective,
        feasible), as states always held; else `[encoded, losses, violation, feasible]`.
        """
        return {
            "observations": [
                [enc, o.losses[0]] if o.simple else [enc, *o.to_json()] for enc, o in self.outcomes
            ],
            "live": [[k, v] for k, v in self._live.items()],
            "n_suggested": self._n_suggested,
            "warm_started": self._warm_started,
            "rng": rng_state(self._rng),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore `state_dict()`: the next suggestions are those the original would make."""
        self.outcomes = [
            (list(enc), Outcome((float(rest[0]),)) if len(rest) == 1 else Outcome.from_json(rest))
            for enc, *rest in state["observations"]
        ]
        self._live = {k: list(v) for k, v in state["live"]}
        self._n_suggested = int(state["n_suggested"])
        self._warm_started = bool(state.get("warm_started", True))  # older states: none to do
        self._rng = load_rng(state["rng"])
