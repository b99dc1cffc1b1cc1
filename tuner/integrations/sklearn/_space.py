"""From scikit-learn's parameter distributions and grids to the configs the engine runs.

Three roads, chosen by what the user passed:

- random search over lists and scipy distributions only (scikit-learn's own form): the
  candidates are drawn by scikit-learn's `ParameterSampler`, so the same `random_state` gives
  the same candidates as `RandomizedSearchCV`, and grid search enumerates `ParameterGrid`'s
  order; the engine runs exactly those configs, in that order;
- random search with tuner domains (``tuner.uniform`` ...) in the space: a search space for
  `BasicVariantGenerator`, scipy distributions drawn with the searcher's own generator;
- a model-based searcher: a search space of tuner domains (lists become `choice`,
  ``(low, high)`` tuples ranges, scipy's uniform, loguniform and randint their equivalents).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.model_selection import ParameterGrid, ParameterSampler

from searchers import Domain, GridSearch, Searcher, choice, loguniform, randint, uniform

SEARCH_OPTIMIZATIONS = ("random", "bayesian", "bohb", "hyperopt", "tpe", "optuna")
"""tune-sklearn's names (``"hyperopt"`` is this engine's TPE, as ``"tpe"``)."""

Distributions = Mapping[str, Any] | Sequence[Mapping[str, Any]]


class ScipyDistribution(Domain):
    """A scipy.stats distribution as a domain, drawn with the searcher's generator."""

    def __init__(self, distribution: Any) -> None:
        self.distribution = distribution

    def sample(self, rng: np.random.Generator, spec: Mapping[str, Any] | None = None) -> Any:
        value = self.distribution.rvs(random_state=rng)
        return value.item() if isinstance(value, np.generic) else value

    def contains(self, value: Any) -> bool:
        low, high = self.distribution.support()
        return bool(low <= value <= high)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "scipy", "distribution": repr(self.distribution)}


def spaces_of(distributions: Distributions, owner: str) -> list[dict[str, Any]]:
    """`distributions` as a list of dicts (one dict, or several to pick among)."""
    spaces = [distributions] if isinstance(distributions, Mapping) else distributions
    if isinstance(spaces, (str, bytes)) or not isinstance(spaces, Sequence) or not all(
        isinstance(s, Mapping) for s in spaces
    ) or not spaces:
        raise ValueError(
            f"{owner} takes a dict of parameter names to values to try, or a non-empty list "
            f"of such dicts, got {distributions!r}"
        )
    return [dict(s) for s in spaces]


def has_tuner_domains(spaces: list[dict[str, Any]]) -> bool:
    return any(isinstance(v, (Domain, GridSearch)) for s in spaces for v in s.values())


def sampled_candidates(
    spaces: list[dict[str, Any]], n_trials: int, random_state: Any
) -> list[dict[str, Any]]:
    """scikit-learn's own random candidates, as `RandomizedSearchCV` draws them."""
    for space in spaces:
        for name, value in space.items():
            if not (isinstance(value, list) or hasattr(value, "rvs")):
                raise ValueError(
                    f"param_distributions[{name!r}] must be a list of values, a scipy.stats "
                    f"distribution or a tuner domain (tuner.uniform(...)), got {value!r}"
                )
    return list(ParameterSampler(spaces, n_trials, random_state=random_state))


def grid_candidates(grid: Distributions) -> list[dict[str, Any]]:
    """`ParameterGrid`'s candidates, in its order; `tuner.grid_search([...])` is a list."""
    spaces = spaces_of(grid, "param_grid")
    plain = []
    for space in spaces:
        converted = {}
        for name, value in space.items():
            values = list(value.values) if isinstance(value, GridSearch) else value
            if isinstance(values, (str, bytes)) or not isinstance(values, Sequence | np.ndarray):
                raise ValueError(
                    f"param_grid[{name!r}] must be a list of the values to try, got {value!r}"
                )
            converted[name] = list(values)
        plain.append(converted)
    return list(ParameterGrid(plain))


def _plain(value: Any) -> bool:
    """Whether the engine stores `value` as JSON (numbers, strings, lists and dicts of them)."""
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if type(value).__module__ == "numpy" and getattr(value, "shape", None) == ():
        return True
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def encode_objects(
    candidates: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Candidates whose objects (estimators in a Pipeline search, ...) are replaced by tokens,
    and the table from token to object.

    A trial's config is saved as JSON, which an estimator is not (the engine would store and
    log its repr); the trial gets the object back from the table, `cv_results_` too.
    """
    tokens: dict[int, str] = {}
    objects: dict[str, Any] = {}
    encoded = []
    for candidate in candidates:
        plain = {}
        for name, value in candidate.items():
            if _plain(value):
                plain[name] = value
                continue
            token = tokens.get(id(value))
            if token is None:
                token = f"<object {len(objects)}: {value!r}>"
                tokens[id(value)], objects[token] = token, value
            plain[name] = token
        encoded.append(plain)
    return encoded, objects


def decode_objects(params: Mapping[str, Any], objects: Mapping[str, Any]) -> dict[str, Any]:
    """`params` with the tokens of `encode_objects` replaced by their objects again."""
    if not objects:
        return dict(params)
    return {k: objects.get(v, v) if isinstance(v, str) else v for k, v in params.items()}


def tuner_space(
    spaces: list[dict[str, Any]], *, model_based: bool, search: str
) -> dict[str, Any]:
    """A tuner search space for one dict of distributions."""
    if len(spaces) != 1:
        raise ValueError(
            f"a list of parameter dicts is supported by random search over lists and scipy "
            f"distributions only, got {len(spaces)} dicts with search_optimization={search!r}: "
            "pass one dict"
        )
    return {name: _domain(name, value, model_based, search) for name, value in spaces[0].items()}


def _domain(name: str, value: Any, model_based: bool, search: str) -> Any:
    if isinstance(value, (Domain, GridSearch)):
        return value
    if isinstance(value, list):
        return choice(value)
    if isinstance(value, tuple) and model_based:
        return _range(name, value)
    if hasattr(value, "rvs"):
        return _scipy_domain(name, value, search) if model_based else ScipyDistribution(value)
    forms = "a list, a (low, high) tuple, " if model_based else "a list, "
    raise ValueError(
        f"param_distributions[{name!r}] must be {forms}a scipy.stats distribution or a tuner "
        f"domain (tuner.uniform(...)), got {value!r}"
    )


def _range(name: str, bounds: tuple[Any, ...]) -> Domain:
    """tune-sklearn's ranges: (low, high) ints inclusive, floats, (low, high, "log-uniform")."""
    prior = bounds[2] if len(bounds) == 3 else "uniform"
    low, high = bounds[:2] if len(bounds) in (2, 3) else (None, None)
    numbers_ok = all(isinstance(b, numbers.Real) and not isinstance(b, bool) for b in (low, high))
    if not numbers_ok or prior not in ("uniform", "log-uniform") or not low < high:
        raise ValueError(
            f"param_distributions[{name!r}] as a tuple must be (low, high) or (low, high, "
            f"'log-uniform') with low < high, got {bounds!r}"
        )
    if isinstance(low, numbers.Integral) and isinstance(high, numbers.Integral):
        return randint(int(low), int(high) + 1)  # both ends included, as scikit-optimize's
    return loguniform(low, high) if prior == "log-uniform" else uniform(low, high)


def _scipy_domain(name: str, distribution: Any, search: str) -> Domain:
    kind = getattr(getattr(distribution, "dist", None), "name", type(distribution).__name__)
    low, high = distribution.support()
    if kind == "uniform":
        return uniform(float(low), float(high))
    if kind in ("loguniform", "reciprocal"):
        return loguniform(float(low), float(high))
    if kind == "randint":
        return randint(int(low), int(high) + 1)
    raise ValueError(
        f"param_distributions[{name!r}] is scipy.stats.{kind}, which "
        f"search_optimization={search!r} cannot model: use scipy's uniform, loguniform or "
        "randint, a (low, high) tuple, a list or a tuner domain (tuner.uniform(...))"
    )


def make_searcher(
    search: str | Searcher, seed: int | None, kwargs: Mapping[str, Any] | None
) -> Searcher:
    """The searcher a `search_optimization` name stands for."""
    if isinstance(search, Searcher):
        if kwargs:
            raise ValueError(
                f"search_kwargs={dict(kwargs)!r} apply to a searcher named by "
                "search_optimization, not to a Searcher passed built: build it with them"
            )
        return search
    options = dict(kwargs or {})
    if search == "bayesian":
        from searchers import BayesOptSearch

        return BayesOptSearch(random_state=seed, **options)
    if search in ("hyperopt", "tpe"):
        from searchers import TPESearch

        return TPESearch(seed=seed, **options)
    if search == "optuna":
        from searchers import OptunaSearch

        return OptunaSearch(seed=seed, **options)
    if search == "bohb":
        from searchers import TuneBOHB

        return TuneBOHB(seed=seed, **options)
    from searchers import BasicVariantGenerator

    return BasicVariantGenerator(seed=seed, **options)


def seed_of(random_state: Any) -> int | None:
    """An int seed for the engine's searchers from scikit-learn's `random_state`."""
    if random_state is None or isinstance(random_state, numbers.Integral):
        return None if random_state is None else int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**31 - 1))  # draws from it, as scikit-learn would
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**31 - 1))
    raise ValueError(
        f"random_state must be None, an int or a numpy RandomState/Generator, got "
        f"{random_state!r}"
    )
