"""What `OptunaSearch` translates: domains to Optuna distributions, metrics, flat names.

Optuna is imported by the caller (`import_optuna()`), never at import of this module, so that
`import searchers` stays fast without it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from searchers._model import NORMAL_SPAN, Param
from searchers._objective import as_finite
from searchers._space import Categorical, Float, Integer, Normal

SEPARATOR = "/"
"""Joins the keys of a nested parameter into one Optuna name (`model/lr`), as Ray Tune does."""


def import_optuna() -> Any:
    """The optuna module, or an ImportError that says how to install it."""
    try:
        import optuna
    except ImportError as error:
        raise ImportError(
            "install optuna to use OptunaSearch (pip install 'tuner[optuna]')"
        ) from error
    return optuna


def finite_values(result: Mapping[str, Any], metrics: Sequence[str]) -> list[float] | str:
    """The result's values of `metrics`, or why not: the first metric it lacks as a number."""
    values = []
    for metric in metrics:
        value = result.get(metric)
        number = as_finite(value)
        if number is None:
            return f"has no finite metric {metric!r} (got {value!r})"
        values.append(number)
    return values


def flatten(space: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{"a": {"b": x}}` as `{"a/b": x}`; dicts only (an Optuna space holds no lists)."""
    flat: dict[str, Any] = {}
    for key, value in space.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}{SEPARATOR}"))
        else:
            flat[name] = value
    return flat


def unflatten(params: Mapping[str, Any]) -> dict[str, Any]:
    """`{"a/b": x}` as `{"a": {"b": x}}`, the config a trial receives."""
    config: dict[str, Any] = {}
    for name, value in params.items():
        *parents, leaf = str(name).split(SEPARATOR)
        node = config
        for key in parents:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                raise ValueError(
                    f"parameter {name!r} nests under {key!r}, which is a value of its own: "
                    "rename one of them"
                )
            node = child
        node[leaf] = value
    return config


def native_space(space: Any, optuna: Any) -> dict[str, Any] | None:
    """The flat `{name: distribution}` of a space of Optuna distributions; None for any other.

    Raises:
        ValueError: A space mixing Optuna distributions with other values.
    """
    if not isinstance(space, Mapping):
        return None
    flat = flatten(space)
    native = {k: isinstance(v, optuna.distributions.BaseDistribution) for k, v in flat.items()}
    if not any(native.values()):
        return None
    if not all(native.values()):
        others = sorted(k for k, is_native in native.items() if not is_native)
        raise ValueError(
            f"an OptunaSearch space of optuna distributions must hold only those, got other "
            f"values at {others}: make them distributions, or write the whole space with "
            "tuner domains (uniform, choice, ...)"
        )
    return flat


def distribution(optuna: Any, param: Param) -> Any:
    """The Optuna distribution `param` is searched in (a quantised float over multiples of q,
    a categorical by the index of its choice)."""
    dist = optuna.distributions
    domain = param.domain
    if isinstance(domain, Categorical):
        return dist.CategoricalDistribution(list(range(len(domain.categories))))
    if isinstance(domain, Float):
        if domain.q is not None and not domain.log:
            q = domain.q
            return dist.IntDistribution(math.ceil(domain.low / q - 1e-9),
                                        math.floor(domain.high / q + 1e-9))
        return dist.FloatDistribution(domain.low, domain.high, log=domain.log)
    if isinstance(domain, Integer):
        q = domain.q or 1
        return dist.IntDistribution(-((-domain.low) // q), (domain.high - 1) // q,
                                    log=domain.log)
    if isinstance(domain, Normal):
        span = NORMAL_SPAN * domain.sd
        return dist.FloatDistribution(domain.mean - span, domain.mean + span)
    raise ValueError(f"OptunaSearch cannot search {domain!r} at {param.name!r}")


def from_optuna(param: Param, value: Any) -> Any:
    """The config value of an Optuna parameter value."""
    domain = param.domain
    if isinstance(domain, Categorical):
        return domain.categories[int(value)]
    if isinstance(domain, Float):
        return domain.quantize(value * domain.q if domain.q and not domain.log else value)
    if isinstance(domain, Integer):
        return int(value) * (domain.q or 1)
    if isinstance(domain, Normal):
        return domain.quantize(value)
    raise ValueError(f"OptunaSearch cannot search {domain!r} at {param.name!r}")


def to_optuna(optuna: Any, param: Param, encoded: float | int) -> Any:
    """The Optuna parameter value of an encoded config value (within the distribution)."""
    domain = param.domain
    bounds = distribution(optuna, param)
    if isinstance(domain, Categorical):
        return int(encoded)
    if isinstance(domain, Float) and domain.q is not None and not domain.log:
        value: Any = round(encoded / domain.q)
    elif isinstance(domain, Integer):
        value = int(encoded) // (domain.q or 1)
    else:
        value = float(encoded)
    return min(max(value, bounds.low), bounds.high)
