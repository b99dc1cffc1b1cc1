"""PBT's explore step: perturb or resample the hyperparameters a trial copies from its donor."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from searchers._space import Categorical, Domain

# A mutation is a list of values, a search-space Domain, a callable of no arguments, or a dict of
# mutations for a nested config.
Mutation = Any


def check_mutations(owner: str, mutations: Mapping[str, Mutation], path: str = "") -> None:
    """Raise a ValueError naming the key when a mutation is not a list, Domain, callable or dict."""
    for key, mutation in mutations.items():
        where = f"{path}{key}"
        if isinstance(mutation, Mapping):
            if not mutation:
                raise ValueError(
                    f"{owner}: hyperparam_mutations[{where!r}] is an empty dict: give it at least "
                    "one nested key or drop it"
                )
            check_mutations(owner, mutation, f"{where}/")
        elif isinstance(mutation, (list, tuple)):
            if not mutation:
                raise ValueError(
                    f"{owner}: hyperparam_mutations[{where!r}] is an empty list: list the values "
                    "to choose from, e.g. [0.1, 0.01, 0.001]"
                )
        elif not isinstance(mutation, Domain) and not callable(mutation):
            raise ValueError(
                f"{owner}: hyperparam_mutations[{where!r}] must be a list, a search-space domain "
                f"(e.g. tune.uniform(0, 1)), a callable of no arguments or a dict, got "
                f"{mutation!r} ({type(mutation).__name__})"
            )


def missing_keys(
    config: Mapping[str, Any], mutations: Mapping[str, Mutation], path: str = ""
) -> list[str]:
    """Keys (nested ones as 'a/b') that `mutations` names but `config` lacks."""
    missing = []
    for key, mutation in mutations.items():
        if key not in config:
            missing.append(f"{path}{key}")
        elif isinstance(mutation, Mapping):
            value = config[key]
            if not isinstance(value, Mapping):
                missing.append(f"{path}{key} (a dict of mutations, but the config holds {value!r})")
            else:
                missing.extend(missing_keys(value, mutation, f"{path}{key}/"))
    return missing


def _index(values: Sequence[Any], value: Any) -> int | None:
    for i, candidate in enumerate(values):
        try:
            if type(candidate) is type(value) and bool(candidate == value):
                return i
        except (TypeError, ValueError):
            continue
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def explore(
    config: Mapping[str, Any],
    mutations: Mapping[str, Mutation],
    rng: np.random.Generator,
    *,
    resample_probability: float,
    perturbation_factors: Sequence[float],
) -> dict[str, Any]:
    """A copy of `config` with every mutated key explored, as Ray Tune's PBT does.

    For each key of `mutations`, in order, one uniform draw decides whether to resample:

    * list (or `choice` domain): resample uniformly with probability `resample_probability`, or
      when the current value is not in the list; else shift to the left or right neighbour
      (clamped at the ends);
    * Domain or callable: resample (``domain.sample(rng, config)`` or ``fn()``) with probability
      `resample_probability`, or when the value is not a number; else multiply by one of
      `perturbation_factors`. A value that was an int stays an int (truncated, as Ray does);
    * dict: explore the nested config the same way.

    Example:
        >>> import numpy as np
        >>> explore({"lr": 0.1}, {"lr": [0.01, 0.1, 1.0]}, np.random.default_rng(0),
        ...         resample_probability=0.0, perturbation_factors=(1.2, 0.8))
        {'lr': 1.0}
    """
    new_config = dict(config)
    for key, mutation in mutations.items():
        if key not in config:
            continue
        old = config[key]
        if isinstance(mutation, Mapping):
            new_config[key] = explore(
                old,
                mutation,
                rng,
                resample_probability=resample_probability,
                perturbation_factors=perturbation_factors,
            )
            continue
        resample = bool(rng.random() < resample_probability)
        if isinstance(mutation, (list, tuple, Categorical)):
            values = list(mutation.categories if isinstance(mutation, Categorical) else mutation)
            index = _index(values, old)
            if resample or index is None:
                new_config[key] = values[int(rng.integers(len(values)))]
            else:
                shift = -1 if int(rng.integers(2)) == 0 else 1
                new_config[key] = values[min(max(index + shift, 0), len(values) - 1)]
            continue
        if resample or not _is_number(old):
            new = mutation.sample(rng, config) if isinstance(mutation, Domain) else mutation()
        else:
            new = old * perturbation_factors[int(rng.integers(len(perturbation_factors)))]
        if isinstance(old, numbers.Integral) and not isinstance(old, bool) and _is_number(new):
            new = int(new)
        new_config[key] = new
    return new_config


def apply_custom_explore(
    owner: str, config: dict[str, Any], fn: Callable[[dict[str, Any]], Any] | None
) -> dict[str, Any]:
    """Apply the user's `custom_explore_fn` last, checking that it returned a config."""
    if fn is None:
        return config
    explored = fn(config)
    if not isinstance(explored, Mapping):
        raise ValueError(
            f"{owner}: custom_explore_fn must return the explored config (a dict), got "
            f"{explored!r}: return the config you were given after changing it"
        )
    return dict(explored)
