"""A search space as JSON data, and back: what experiment state stores to restore a searcher."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from searchers._space import Categorical, Domain, Float, Function, GridSearch, Integer, Normal

_KEY = "__domain__"


class NotSerializableError(ValueError):
    """A search space holds something JSON cannot carry (a function, an object)."""


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=True)
    except (TypeError, ValueError):
        return False
    return True


def space_to_json(space: Any, path: str = "") -> Any:
    """The space with every domain replaced by `{"__domain__": {...}}`.

    Raises:
        NotSerializableError: naming the first path whose value JSON cannot carry.
    """
    if isinstance(space, Function):
        raise NotSerializableError(f"'{path}' is a sample_from function")
    if isinstance(space, Domain | GridSearch):
        description = space.to_dict()
        if isinstance(space, Categorical | GridSearch) and not _is_json(
            list(space.categories if isinstance(space, Categorical) else space.values)
        ):
            raise NotSerializableError(f"'{path}' holds values JSON cannot carry")
        return {_KEY: description}
    if isinstance(space, Mapping):
        return {str(k): space_to_json(v, f"{path}/{k}" if path else str(k)) for k, v in space.items()}
    if isinstance(space, list | tuple):
        return [space_to_json(v, f"{path}[{i}]") for i, v in enumerate(space)]
    if not _is_json(space):
        raise NotSerializableError(f"'{path}' is {type(space).__name__}, which JSON cannot carry")
    return space


def _domain(data: Mapping[str, Any]) -> Any:
    kind = data["type"]
    if kind == "float":
        return Float(data["low"], data["high"], data["log"], data["base"], data["q"])
    if kind == "int":
        return Integer(data["low"], data["high"], data["log"], data["base"], data["q"])
    if kind == "normal":
        return Normal(data["mean"], data["sd"], data["q"])
    if kind == "categorical":
        return Categorical(tuple(data["categories"]))
    if kind == "grid_search":
        return GridSearch(tuple(data["values"]))
    raise ValueError(f"unknown domain type {kind!r} in a stored search space")


def space_from_json(data: Any) -> Any:
    """Rebuild a space written by `space_to_json`."""
    if isinstance(data, Mapping):
        if set(data) == {_KEY}:
            return _domain(data[_KEY])
        return {k: space_from_json(v) for k, v in data.items()}
    if isinstance(data, list):
        return [space_from_json(v) for v in data]
    return data
