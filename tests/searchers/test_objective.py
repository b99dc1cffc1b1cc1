"""The objective's rules, written once: what counts as a metric value, a mode, the best."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from searchers._objective import as_finite, as_real, best_by, check_mode, is_finite_number, rank_by

NAN, INF = math.nan, math.inf


@pytest.mark.parametrize(
    ("value", "real", "finite"),
    [
        (1, 1.0, 1.0),
        (2.5, 2.5, 2.5),
        (np.float32(0.5), 0.5, 0.5),
        (np.int64(3), 3.0, 3.0),
        (Fraction(1, 4), 0.25, 0.25),
        (INF, INF, None),
        (10**400, INF, None),  # too large for a float: no OverflowError
        (-(10**400), -INF, None),
        (True, None, None),
        (np.bool_(True), None, None),
        ("1.0", None, None),
        (None, None, None),
        (1 + 2j, None, None),
        (np.complex64(1), None, None),
    ],
)
def test_what_counts_as_a_number(value: Any, real: float | None, finite: float | None) -> None:
    assert as_real(value) == real
    assert as_finite(value) == finite
    assert is_finite_number(value) is (finite is not None)


def test_nan_is_real_but_not_finite() -> None:
    number = as_real(NAN)
    assert number is not None and math.isnan(number)
    assert as_finite(NAN) is None and not is_finite_number(np.float64("nan"))


def test_check_mode_says_the_rule_the_value_and_the_fix() -> None:
    assert check_mode("min") == "min" and check_mode(None, allow_none=True) is None
    with pytest.raises(ValueError, match=r"^`mode` must be 'min' or 'max', got mode=None: pass "):
        check_mode(None)
    with pytest.raises(KeyError, match=r"CheckpointConfig: `order` must be .* got order='up'"):
        check_mode("up", name="order", owner="CheckpointConfig", error=KeyError)


def test_best_by_skips_none_ranks_nan_last_and_keeps_the_first_of_ties() -> None:
    items = [("a", 2.0), ("b", None), ("c", NAN), ("d", 1.0), ("e", 1.0), ("f", 2.0)]
    assert best_by(items, lambda i: i[1], "min") == (("d", 1.0), 1.0)
    assert best_by(items, lambda i: i[1], "max") == (("a", 2.0), 2.0)
    only_nan = best_by([("x", NAN), ("y", NAN)], lambda i: i[1], "max")
    assert only_nan is not None and only_nan[0] == ("x", NAN)
    assert best_by([1.0, INF, -INF], lambda v: v, "max") == (INF, INF)
    assert best_by([], lambda v: v, "min") is None


def test_rank_by_is_stable_and_puts_the_unscored_last_in_their_order() -> None:
    scores = {"a": 1.0, "b": 3.0, "c": 3.0, "d": NAN}
    assert rank_by(list("xabcdy"), scores.get, "max") == ["b", "c", "a", "d", "x", "y"]
    assert rank_by(list("xabcdy"), scores.get, "min") == ["a", "b", "c", "d", "x", "y"]
