"""Argument checks and small conversions shared by the schedulers."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

from searchers._objective import as_finite, check_mode


def check_number(owner: str, name: str, value: Any, *, fix: str) -> float:
    """`value` as a float, or a ValueError naming the argument when it is not a finite number."""
    number = as_finite(value)
    if number is None:
        raise ValueError(f"{owner}: `{name}` must be a finite number, got {name}={value!r}: {fix}")
    return number


def check_positive(owner: str, name: str, value: Any, *, fix: str) -> float:
    """`value` as a float, or a ValueError when it is not a finite number > 0."""
    number = check_number(owner, name, value, fix=fix)
    if number <= 0:
        raise ValueError(f"{owner}: `{name}` must be > 0, got {name}={value!r}: {fix}")
    return number


def check_reduction_factor(owner: str, value: Any) -> float:
    """The reduction factor as a float, or a ValueError when it is not > 1."""
    number = check_number(owner, "reduction_factor", value, fix="use e.g. reduction_factor=3")
    if number <= 1:
        raise ValueError(
            f"{owner}: `reduction_factor` must be > 1 (the share of trials kept at each rung is "
            f"1/reduction_factor), got reduction_factor={value!r}: use e.g. reduction_factor=3"
        )
    return number


def score_sign(owner: str, mode: object) -> float:
    """+1 for mode 'max', -1 for 'min', so that a higher signed score is always better."""
    if mode is None:
        raise ValueError(
            f"{owner} needs a mode: pass mode='min' or mode='max' to it or to TuneConfig"
        )
    return 1.0 if check_mode(mode, owner=owner) == "max" else -1.0


def jsonable(value: Any) -> Any:
    """`value` as plain JSON data: numpy scalars become numbers, other objects their repr."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    return repr(value)
