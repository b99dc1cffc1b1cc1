"""Whether a config lies in its search space."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from searchers import Domain
from searchers._paths import as_grid, iter_leaves, path_str

_MISSING = object()


def _value_at(config: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        try:
            config = config[key]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return config


def space_problems(config: Mapping[str, Any], space: Mapping[str, Any]) -> list[str]:
    """What in `config` does not lie in `space`: a value outside its domain, one not among
    its grid's values, a constant changed, or a value missing. Keys the space does not name
    (a `Repeater`'s index) are not looked at.

    Example:
        >>> from searchers import uniform
        >>> space_problems({"lr": 0.5, "layers": 2}, {"lr": uniform(0, 1), "layers": 2})
        []
        >>> space_problems({"lr": 1.5}, {"lr": uniform(0, 1)})
        ['lr = 1.5 is not in Float(low=0.0, high=1.0, log=False, base=10.0, q=None)']
    """
    problems = []
    for path, leaf in iter_leaves(space):
        value = _value_at(config, path)
        where = path_str(path)
        if value is _MISSING:
            problems.append(f"{where} is missing from the config")
            continue
        grid = as_grid(leaf)
        if isinstance(leaf, Domain):
            if not leaf.contains(value):
                problems.append(f"{where} = {value!r} is not in {leaf!r}")
        elif grid is not None:
            if not any(value == choice for choice in grid.values):
                problems.append(f"{where} = {value!r} is none of the grid's {list(grid.values)}")
        elif value != leaf:
            problems.append(f"{where} = {value!r}, but the space holds the constant {leaf!r}")
    return problems
