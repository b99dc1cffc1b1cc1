"""Whether a value is plain JSON data: what `state_dict()` must return."""

from __future__ import annotations

from typing import Any

from searchers._objective import is_finite_number


def json_problem(value: Any, where: str = "state") -> str | None:
    """What keeps `value` from being plain JSON data, or None when it is.

    Plain JSON data is what `json.loads` gives back: None, bools, ints, finite floats, strings,
    lists, and dicts with string keys, nested. Tuples, int keys, numpy numbers, NaN and
    infinities are not: they change or fail on a round trip through a JSON file.

    Example:
        >>> json_problem({"rungs": [[1, 2.5], None]}) is None
        True
        >>> json_problem({"rungs": {1: 2}})
        "state['rungs'] has the key 1 (int): JSON keys are strings"
    """
    if value is None or isinstance(value, bool | str):
        return None
    if type(value) is int:
        return None
    if type(value) is float:  # exactly: a numpy float is not plain JSON data
        if is_finite_number(value):
            return None
        return f"{where} is {value!r}, which JSON has no number for"
    if type(value) is list:
        for i, item in enumerate(value):
            problem = json_problem(item, f"{where}[{i}]")
            if problem is not None:
                return problem
        return None
    if type(value) is dict:
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{where} has the key {key!r} ({type(key).__name__}): JSON keys are strings"
            problem = json_problem(item, f"{where}[{key!r}]")
            if problem is not None:
                return problem
        return None
    return (
        f"{where} is {value!r} ({type(value).__module__}.{type(value).__qualname__}), not JSON "
        "data: return only None, bool, int, float, str, list and dict with str keys"
    )
