"""What an objective is made of: metric values as numbers, the mode, and picking the best.

One place for the rules that searchers, schedulers, the analysis and checkpoint retention all
follow: a metric value counts only if it is a real number (a bool is not one), a mode is "min"
or "max", and the best of a list is found the same way everywhere. Pure Python; numpy numbers
are real numbers here without numpy being imported.

Example:
    >>> as_finite(0.5), as_finite(float("nan")), as_finite(True), as_finite("0.5")
    (0.5, None, None, None)
    >>> best_by([{"loss": 0.3}, {"loss": float("nan")}, {"loss": 0.1}],
    ...         lambda r: as_real(r["loss"]), "min")
    ({'loss': 0.1}, 0.1)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable
from typing import Literal, TypeVar, overload

T = TypeVar("T")

Mode = Literal["min", "max"]
"""The two modes: "min" (lower is better) and "max" (higher is better)."""

MODES: tuple[Mode, ...] = ("min", "max")


def as_real(value: object) -> float | None:
    """`value` as a float if it is a real number (NaN and infinities included), else None.

    Real numbers are ints, floats and what registers as `numbers.Real` (numpy's integer and
    float scalars, `Fraction`); bools, strings, complex numbers and None are not. An int too
    large for a float counts as the infinity of its sign.
    """
    if type(value) is float:  # the common case first: no ABC look-up
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    try:
        return float(value)
    except OverflowError:  # only an int (or Fraction) this large
        return -math.inf if value < 0 else math.inf


def as_finite(value: object) -> float | None:
    """`value` as a float if it is a finite real number (see `as_real`), else None."""
    number = as_real(value)
    return number if number is not None and math.isfinite(number) else None


def is_finite_number(value: object) -> bool:
    """Whether `value` is a finite real number: an int or float (numpy's too), not a bool.

    Example:
        >>> [is_finite_number(v) for v in (1, 2.5, True, float("inf"), "3", None)]
        [True, True, False, False, False, False]
    """
    return as_finite(value) is not None


@overload
def check_mode(
    mode: object,
    *,
    name: str = ...,
    owner: str = ...,
    allow_none: Literal[False] = ...,
    error: type[Exception] = ...,
) -> Mode: ...


@overload
def check_mode(
    mode: object,
    *,
    name: str = ...,
    owner: str = ...,
    allow_none: bool,
    error: type[Exception] = ...,
) -> Mode | None: ...


def check_mode(
    mode: object,
    *,
    name: str = "mode",
    owner: str = "",
    allow_none: bool = False,
    error: type[Exception] = ValueError,
) -> Mode | None:
    """`mode` if it is "min" or "max" (or None, where `allow_none`); else raise `error`.

    Args:
        mode: The value to check.
        name: The argument's name, as the user wrote it (`"checkpoint_score_order"`).
        owner: What the argument was given to (`"TuneConfig"`); the message starts with it.
        allow_none: Whether None (not set yet) passes.
        error: The exception to raise (`tuner` raises its `ConfigError`).

    Example:
        >>> check_mode("max")
        'max'
        >>> check_mode("best", owner="TuneConfig")
        Traceback (most recent call last):
        ...
        ValueError: TuneConfig: `mode` must be 'min' or 'max', got mode='best': pass 'min' \
(lower is better) or 'max' (higher is better)
    """
    if mode in MODES or (allow_none and mode is None):
        return mode
    where = f"{owner}: " if owner else ""
    raise error(
        f"{where}`{name}` must be 'min' or 'max', got {name}={mode!r}: pass 'min' (lower is "
        "better) or 'max' (higher is better)"
    )


def rank_key(score: float, mode: str) -> tuple[bool, float]:
    """Sort key, best first in `mode`: NaN after every number, infinities where they belong."""
    if math.isnan(score):
        return (True, 0.0)
    return (False, score if mode == "min" else -score)


def best_by(
    items: Iterable[T], score: Callable[[T], float | None], mode: str
) -> tuple[T, float] | None:
    """The item whose score is best in `mode`, and that score; None if no item has a score.

    Items scored None are skipped; NaN ranks after every number (so it is best only when every
    score is NaN: pass a `score` that gives None for NaN, e.g. `as_finite`, to skip it). Ties go
    to the first item.
    """
    found: tuple[T, float] | None = None
    for item in items:
        value = score(item)
        if value is None:
            continue
        if found is None or rank_key(value, mode) < rank_key(found[1], mode):
            found = (item, value)
    return found


def rank_by(items: Iterable[T], score: Callable[[T], float | None], mode: str) -> list[T]:
    """`items` best first by `score` in `mode`, then those scored None, in their order.

    The sort is stable: items with equal scores keep their order. NaN ranks after every number.

    Example:
        >>> rank_by(["b", "a", "c", "x"], {"a": 1.0, "b": 2.0, "c": 2.0}.get, "max")
        ['b', 'c', 'a', 'x']
    """
    scored: list[tuple[tuple[bool, float], T]] = []
    unscored: list[T] = []
    for item in items:
        value = score(item)
        if value is None:
            unscored.append(item)
        else:
            scored.append((rank_key(value, mode), item))
    scored.sort(key=lambda pair: pair[0])
    return [item for _, item in scored] + unscored
