"""Loggers (Ray Tune's ``ray.tune.logger``): the `LoggerCallback` base, the file loggers every
experiment gets, and `pretty_print`.

Example:
    >>> print(pretty_print({"loss": 0.25, "training_iteration": 3, "config": {"lr": 0.1}}))
    loss: 0.25
    training_iteration: 3
    <BLANKLINE>
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from tuner._callback import LoggerCallback
from tuner.output._encode import json_default as _json_default
from tuner.output._loggers import CSVLoggerCallback, JsonLoggerCallback, TBXLoggerCallback

_FLOW_AFTER = 3  # lists longer than this are written on one line, as Ray's printer does
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")
_YAML_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "null", "none", "~"})


def pretty_print(result: Mapping[str, Any], exclude: set[str] | None = None) -> str:
    """A result as YAML-style text, keys sorted; ``config``, ``hist_stats``, None values and
    the keys in `exclude` left out (as Ray Tune prints results).

    Args:
        result: A result dict.
        exclude: Keys not to print.

    Example:
        >>> print(pretty_print({"b": [1, 2], "a": {"x": 1.5}, "c": None}), end="")
        a:
          x: 1.5
        b:
        - 1
        - 2
    """
    shown = {
        key: value
        for key, value in result.items()
        if value is not None
        and key not in ("config", "hist_stats")
        and (exclude is None or key not in exclude)
    }
    # Through JSON first, as Ray does: numpy values become numbers, anything else its repr.
    plain = json.loads(json.dumps(shown, default=_json_default))
    lines: list[str] = []
    _emit_mapping(plain, 0, lines)
    return "\n".join(lines) + "\n"


def _emit_mapping(mapping: Mapping[str, Any], indent: int, lines: list[str]) -> None:
    pad = " " * indent
    for key in sorted(mapping, key=str):
        value = mapping[key]
        head = f"{pad}{_scalar(str(key))}:"
        if isinstance(value, dict) and value:
            lines.append(head)
            _emit_mapping(value, indent + 2, lines)
        elif isinstance(value, list) and value and len(value) <= _FLOW_AFTER:
            lines.append(head)
            _emit_list(value, indent, lines)
        else:
            lines.append(f"{head} {_inline(value)}")


def _emit_list(items: list[Any], indent: int, lines: list[str]) -> None:
    pad = " " * indent
    for item in items:
        if isinstance(item, dict) and item:
            nested: list[str] = []
            _emit_mapping(item, indent + 2, nested)
            lines.append(f"{pad}- {nested[0].lstrip()}")
            lines.extend(nested[1:])
        else:
            lines.append(f"{pad}- {_inline(item)}")


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(str(k))}: {_inline(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    return _scalar(value)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text)  # quoted, escapes included: valid YAML


__all__ = [
    "CSVLoggerCallback",
    "JsonLoggerCallback",
    "LoggerCallback",
    "TBXLoggerCallback",
    "pretty_print",
]
