"""Results as the output files hold them: JSON text, flattened keys, plain Python values.

`to_json` is called once per result on the event loop's thread. It encodes with orjson
(about 15 times faster than `json`: float formatting dominates a result's encoding), and falls
back to the standard library where the two differ in what they can write: orjson writes NaN and
infinities as ``null`` and refuses integers beyond 64 bits and non-string keys, where `json`
writes ``NaN``, ``Infinity`` and the integer, and converts the keys. Either text reads back with
`json.loads` as the same values. The fallback skips what `json.JSONEncoder.encode` redoes on
every call (building the C encoder and two closures): the C encoder is built once.

Example:
    >>> to_json({"loss": 0.5, "n": 3})
    '{"loss":0.5,"n":3}'
    >>> to_json({"loss": float("nan"), "n": None})
    '{"loss": NaN, "n": null}'
    >>> flatten({"a": {"b": 1}, "c": 2})
    {'a/b': 1, 'c': 2}
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable, Mapping
from typing import Any

import orjson

SCALAR_TYPES = frozenset({float, int, str, bool, type(None)})
"""Value types that are never nested and that the loggers write as they are."""


def plain(value: Any) -> Any:
    """numpy scalars and arrays as Python values; anything else unchanged."""
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return value.tolist()
    return value


def json_default(value: Any) -> Any:
    """JSON for what `json` cannot write: numpy values as numbers, sets as lists, else repr."""
    converted = plain(value)
    if converted is not value:
        return converted
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return repr(value)


_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
"""Dataclasses and dates go to `json_default` (their repr), as with `json`."""
_ENCODER = json.JSONEncoder(default=json_default)
_c_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
_encode: Callable[[Any, int], list[str]] | None = None
if _c_make_encoder is not None:  # None without CPython's _json accelerator
    # No record of the containers it is in (markers=None): it would be shared by threads, and
    # a circular reference still fails, as a RecursionError.
    _encode = _c_make_encoder(
        None, json_default, json.encoder.encode_basestring_ascii, None, ": ", ", ",
        False, False, True,
    )


def to_json(value: Any, **kwargs: Any) -> str:
    """`value` as JSON text; what JSON cannot hold as `json_default` makes it.

    Non-string dict keys and circular references do not fail: the value is written from a
    sanitised copy (keys as strings, depth cut at 50).
    """
    if not kwargs:
        try:
            data = orjson.dumps(value, default=json_default, option=_ORJSON_OPTIONS)
        except TypeError:  # a big integer, a non-string key, a circular reference
            pass
        else:
            # `null` is None, or a NaN or an infinity orjson could not write: `json` tells.
            if b"null" not in data:
                return data.decode()
    try:
        if kwargs:
            return json.dumps(value, default=json_default, **kwargs)
        if _encode is not None:
            return "".join(_encode(value, 0))
        return _ENCODER.encode(value)
    except (TypeError, ValueError, RecursionError):
        return json.dumps(sanitise(value, depth=0), default=json_default, **kwargs)


def sanitise(value: Any, depth: int) -> Any:
    """A copy of `value` that JSON can hold: string keys, no deeper than 50 levels."""
    if depth > 50:
        return repr(value)
    if isinstance(value, Mapping):
        return {str(k): sanitise(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [sanitise(v, depth + 1) for v in value]
    return value


def all_scalars(result: Mapping[str, Any]) -> bool:
    """Whether every value of `result` is a float, int, str, bool or None (the common case)."""
    return SCALAR_TYPES.issuperset(map(type, result.values()))


def is_flat(result: Mapping[str, Any]) -> bool:
    """Whether no value of `result` is a mapping (then `flatten` would only copy it)."""
    if all_scalars(result):
        return True
    for value in result.values():
        kind = type(value)
        if kind is dict or (kind not in SCALAR_TYPES and isinstance(value, Mapping)):
            return False
    return True


def flatten(result: Mapping[str, Any], sep: str = "/") -> dict[str, Any]:
    """Flatten nested mappings into one level, joining keys with ``sep``.

    Example:
        >>> flatten({"a": {"b": 1, "c": {"d": 2}}, "e": {}})
        {'a/b': 1, 'a/c/d': 2, 'e': {}}
    """
    if is_flat(result):
        return dict(result)  # the common case: nothing nested
    flat: dict[str, Any] = {}
    _flatten_into(flat, result, "", sep)
    return flat


def _flatten_into(flat: dict[str, Any], mapping: Mapping[str, Any], prefix: str, sep: str) -> None:
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            _flatten_into(flat, value, name + sep, sep)
        else:
            flat[name] = value
