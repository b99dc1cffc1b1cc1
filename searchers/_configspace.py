"""A `ConfigSpace.ConfigurationSpace` (the space BOHB users of Ray Tune write) as a search space
of this package's domains, read by duck typing so that ConfigSpace is never imported here."""

from __future__ import annotations

from typing import Any

from searchers._space import choice, lograndint, loguniform, quniform, randint, uniform


def is_configspace(space: Any) -> bool:
    """Whether `space` is a ConfigSpace `ConfigurationSpace` (by its class, not by import)."""
    return type(space).__name__ == "ConfigurationSpace" and type(space).__module__.startswith(
        "ConfigSpace"
    )


def from_configspace(space: Any, owner: str) -> dict[str, Any]:
    """The search space a ConfigurationSpace describes: floats, integers (ConfigSpace's upper
    bound is inclusive, `randint`'s exclusive), categorical and ordinal choices, constants.

    Raises:
        ValueError: A condition, a forbidden clause or a kind of hyperparameter (a normal or
            beta prior) that has no equivalent here; the message names it and the way out.
    """
    conditions = _listed(space, "conditions", "get_conditions")
    forbidden = _listed(space, "forbidden_clauses", "get_forbiddens")
    if conditions or forbidden:
        raise ValueError(
            f"{owner} cannot take a ConfigSpace with conditions or forbidden clauses, got "
            f"{[str(c) for c in [*conditions, *forbidden]]}: write the space as a dict of "
            "domains (a conditional value as tune.sample_from)"
        )
    hyperparameters = (list(space.values()) if hasattr(space, "values")
                       else list(space.get_hyperparameters()))
    return {hp.name: _domain(hp, owner) for hp in hyperparameters}


def _listed(space: Any, attribute: str, getter: str) -> list[Any]:
    if hasattr(space, attribute):
        return list(getattr(space, attribute))
    return list(getattr(space, getter)()) if hasattr(space, getter) else []


def _domain(hp: Any, owner: str) -> Any:
    kind = type(hp).__name__
    if kind == "UniformFloatHyperparameter":
        low, high = float(hp.lower), float(hp.upper)
        q = getattr(hp, "q", None)
        if q is not None and not hp.log:
            return quniform(low, high, float(q))
        return loguniform(low, high) if hp.log else uniform(low, high)
    if kind == "UniformIntegerHyperparameter":
        low, high = int(hp.lower), int(hp.upper) + 1
        return lograndint(low, high) if hp.log else randint(low, high)
    if kind == "CategoricalHyperparameter":
        return choice(list(hp.choices))
    if kind == "OrdinalHyperparameter":
        return choice(list(hp.sequence))
    if kind == "Constant":
        return hp.value
    raise ValueError(
        f"{owner} cannot take ConfigSpace's {kind} ({hp.name!r}): use uniform, integer, "
        "categorical, ordinal or constant hyperparameters, or a dict of domains"
    )
