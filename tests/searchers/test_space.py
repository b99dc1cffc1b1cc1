"""Domains: ranges, distributions, quantisation, bounds and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchers import (
    Categorical,
    Float,
    GridSearch,
    Integer,
    Normal,
    choice,
    grid_search,
    lograndint,
    loguniform,
    qlograndint,
    qloguniform,
    qrandint,
    qrandn,
    quniform,
    randint,
    randn,
    sample_from,
    uniform,
)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def draws(domain: object, rng: np.random.Generator, n: int = 4000) -> list:
    return [domain.sample(rng) for _ in range(n)]  # type: ignore[attr-defined]


def test_uniform_range_and_mean(rng: np.random.Generator) -> None:
    values = np.array(draws(uniform(2.0, 4.0), rng))
    assert values.min() >= 2.0 and values.max() < 4.0
    assert abs(values.mean() - 3.0) < 0.05
    assert all(type(v) is float for v in values.tolist())


def test_loguniform_is_uniform_in_log_space(rng: np.random.Generator) -> None:
    domain = loguniform(1e-4, 1e-0)
    values = np.array(draws(domain, rng))
    assert values.min() >= 1e-4 and values.max() < 1.0
    assert abs(np.log10(values).mean() - (-2.0)) < 0.05
    assert all(domain.contains(v) for v in values)


def test_quniform_snaps_to_grid_and_reaches_upper_bound(rng: np.random.Generator) -> None:
    domain = quniform(0.0, 1.0, 0.25)
    values = set(draws(domain, rng, 2000))
    assert values == {0.0, 0.25, 0.5, 0.75, 1.0}
    assert domain.contains(0.75) and not domain.contains(0.3)


def test_quniform_keeps_values_inside_bounds(rng: np.random.Generator) -> None:
    domain = quniform(0.05, 0.95, 0.1)
    values = draws(domain, rng, 2000)
    assert min(values) >= 0.1 - 1e-12 and max(values) <= 0.9 + 1e-12
    assert all(domain.contains(v) for v in values)


def test_qloguniform(rng: np.random.Generator) -> None:
    domain = qloguniform(1, 1000, 5)
    values = draws(domain, rng)
    assert all(domain.contains(v) and 5 <= v <= 1000 for v in values)
    assert np.median(values) < 100  # log scale favours small values


def test_randn_mean_and_sd(rng: np.random.Generator) -> None:
    values = np.array(draws(randn(3.0, 2.0), rng, 10000))
    assert abs(values.mean() - 3.0) < 0.1 and abs(values.std() - 2.0) < 0.1


def test_qrandn_on_grid(rng: np.random.Generator) -> None:
    domain = qrandn(0.0, 1.0, 0.5)
    assert all(domain.contains(v) and (v / 0.5).is_integer() for v in draws(domain, rng))


def test_randint_upper_bound_is_exclusive(rng: np.random.Generator) -> None:
    domain = randint(0, 3)
    assert set(draws(domain, rng, 500)) == {0, 1, 2}
    assert not domain.contains(3) and domain.contains(2) and not domain.contains(1.0)
    assert all(type(v) is int for v in draws(domain, rng, 10))


def test_qrandint_upper_bound_is_inclusive(rng: np.random.Generator) -> None:
    domain = qrandint(0, 10, 5)
    assert set(draws(domain, rng, 500)) == {0, 5, 10}
    assert domain.contains(10) and not domain.contains(7)
    assert set(draws(qrandint(1, 3), rng, 500)) == {1, 2, 3}


def test_lograndint_exclusive_and_log_scaled(rng: np.random.Generator) -> None:
    values = draws(lograndint(1, 100), rng)
    assert min(values) >= 1 and max(values) <= 99
    assert np.median(values) < 20


def test_qlograndint_inclusive(rng: np.random.Generator) -> None:
    domain = qlograndint(2, 64, 2)
    values = draws(domain, rng)
    assert all(v % 2 == 0 and 2 <= v <= 64 for v in values)
    assert 64 in values or domain.contains(64)


def test_choice_each_category(rng: np.random.Generator) -> None:
    domain = choice(["a", "b", "c"])
    counts = {c: 0 for c in "abc"}
    for v in draws(domain, rng, 3000):
        counts[v] += 1
    assert all(900 < n < 1100 for n in counts.values())
    assert domain.contains("a") and not domain.contains("d")


def test_seed_gives_same_values() -> None:
    domain = uniform(0, 1)
    assert draws(domain, np.random.default_rng(7), 5) == draws(domain, np.random.default_rng(7), 5)


def test_to_dict_is_json() -> None:
    import json

    for domain in (uniform(0, 1), randint(0, 3), randn(), choice([1, object()]),
                   grid_search([1, 2]), sample_from(lambda spec: 1)):
        json.dumps(domain.to_dict())


def test_sample_from_without_arguments(rng: np.random.Generator) -> None:
    assert sample_from(lambda: 5).sample(rng) == 5


def test_sample_from_reads_config_by_attribute_and_item(rng: np.random.Generator) -> None:
    domain = sample_from(lambda spec: spec.config.a + spec.config["b"]["c"] + spec.config.b.c)
    assert domain.sample(rng, {"a": 1, "b": {"c": 2}}) == 5


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: loguniform(0, 1), "`low` must be > 0 for a log scale, got low=0"),
        (lambda: randint(5, 5), "`low` must be < `high`, got low=5, high=5"),
        (lambda: uniform(3, 1), "`low` must be < `high`, got low=3.0, high=1.0"),
        (lambda: qrandint(3, 1), "`low` must be < `high`, got low=3, high=1"),
        (lambda: choice([]), "`categories` must not be empty"),
        (lambda: grid_search([]), "grid_search() values must not be empty"),
        (lambda: quniform(0, 1, 0), "`q` must be > 0, got q=0"),
        (lambda: qrandint(0, 10, -1), "`q` must be > 0, got q=-1"),
        (lambda: randn(0, 0), "`sd` must be > 0, got sd=0"),
        (lambda: qrandn(0, 1, -0.5), "`q` must be > 0, got q=-0.5"),
        (lambda: sample_from(3), "sample_from() takes a callable, got 3"),
        (lambda: randint(0.5, 3), "`low` must be an integer, got low=0.5"),
        (lambda: uniform(0, float("inf")), "`high` must be a finite number"),
        (lambda: quniform(0.1, 0.2, 1.0), "no multiple of q=1.0"),
        (lambda: choice("abc"), "`categories` must be a list"),
        (lambda: lograndint(-1, 10), "`low` must be > 0 for a log scale, got low=-1"),
    ],
)
def test_bad_input_states_rule_and_value(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=r"got|no multiple") as info:
        make()  # type: ignore[operator]
    assert message in str(info.value)


def test_domains_are_frozen_values() -> None:
    assert uniform(0, 1) == Float(0.0, 1.0)
    assert randint(0, 3) == Integer(0, 3)
    assert randn() == Normal()
    assert choice([1, 2]) == Categorical((1, 2))
    assert grid_search([1]) == GridSearch((1,))
    with pytest.raises(AttributeError):
        uniform(0, 1).low = 2  # type: ignore[misc]


finite = st.floats(-1e6, 1e6, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(low=finite, width=st.floats(1e-3, 1e6), seed=st.integers(0, 2**32))
def test_uniform_stays_in_bounds(low: float, width: float, seed: int) -> None:
    domain = uniform(low, low + width)
    rng = np.random.default_rng(seed)
    assert all(domain.contains(domain.sample(rng)) for _ in range(20))


@settings(max_examples=60, deadline=None)
@given(low=st.floats(1e-8, 1e3), ratio=st.floats(1.001, 1e6), seed=st.integers(0, 2**32))
def test_loguniform_stays_in_bounds(low: float, ratio: float, seed: int) -> None:
    domain = loguniform(low, low * ratio)
    rng = np.random.default_rng(seed)
    assert all(domain.contains(domain.sample(rng)) for _ in range(20))


@settings(max_examples=80, deadline=None)
@given(
    low=st.integers(-1000, 1000),
    width=st.integers(1, 1000),
    q=st.integers(1, 20),
    log=st.booleans(),
    seed=st.integers(0, 2**32),
)
def test_integer_domains_stay_in_bounds(low: int, width: int, q: int, log: bool, seed: int) -> None:
    if log:
        low = abs(low) + 1
    high = low + width
    rng = np.random.default_rng(seed)
    try:
        domain = Integer(low, high, log=log, q=q)
    except ValueError as error:  # no multiple of q in range: the only allowed refusal
        assert "no multiple" in str(error)
        return
    for _ in range(20):
        value = domain.sample(rng)
        assert domain.contains(value) and low <= value < high and value % q == 0


@settings(max_examples=60, deadline=None)
@given(low=finite, width=st.floats(1e-2, 1e4), q=st.floats(1e-3, 10.0), seed=st.integers(0, 2**32))
def test_quantized_floats_stay_in_bounds(low: float, width: float, q: float, seed: int) -> None:
    try:
        domain = quniform(low, low + width, q)
    except ValueError as error:
        assert "no multiple" in str(error)
        return
    rng = np.random.default_rng(seed)
    for _ in range(20):
        value = domain.sample(rng)
        assert domain.contains(value)
        assert low - 1e-6 * max(1.0, abs(low)) <= value <= low + width + 1e-6 * max(1.0, abs(low))
        assert math.isfinite(value)
