"""Reading a stopper's arguments and the values it watches in a result: numbers, keys, modes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from searchers._objective import as_real
from tuner.exceptions import ConfigError


def number(value: Any, what: str) -> float:
    """`value` as a float (numpy scalars and 0-d arrays too); ConfigError naming `what` if it is
    no number."""
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        value = value.item()  # a 0-d array is no `numbers.Real`, its item is
    real = as_real(value)
    if real is None:
        raise ConfigError(f"{what} must be a number, got {type(value).__name__} {value!r}")
    return real


def find(result: Mapping[str, Any], key: str) -> tuple[bool, Any]:
    """``(True, result[key])``, where ``a/b`` also finds ``result["a"]["b"]``; else (False, None)."""
    if key in result:
        return True, result[key]
    node: Any = result
    for part in key.split("/"):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def lookup(result: Mapping[str, Any], key: str, fix: str) -> Any:
    """``result[key]`` as `find` reads it; ConfigError telling to report it or fix `fix` if absent."""
    found, value = find(result, key)
    if not found:
        raise ConfigError(
            f"stop criterion '{key}' is not in the reported result (keys: "
            f"{sorted(map(str, result))}): report it or fix {fix}"
        )
    return value

