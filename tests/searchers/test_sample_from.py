"""`sample_from`: called with the config first (Ray Tune 2.x), with `spec` as the fallback."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from searchers import BasicVariantGenerator, TPESearch, randint, sample_from, uniform
from searchers._paths import resolve


def draw(space: dict[str, Any], seed: int = 0) -> dict[str, Any]:
    result: dict[str, Any] = resolve(space, np.random.default_rng(seed))
    return result


def test_config_form_by_item_attribute_and_get() -> None:
    config = draw({
        "a": uniform(1, 2),
        "by_item": sample_from(lambda config: config["a"] * 2),
        "by_attr": sample_from(lambda config: config.a * 3),
        "by_get": sample_from(lambda config: config.get("missing", 7)),
        "nested": {"b": sample_from(lambda config: config["a"] + 1)},
    })
    assert config["by_item"] == 2 * config["a"] and config["by_attr"] == 3 * config["a"]
    assert config["by_get"] == 7 and config["nested"]["b"] == config["a"] + 1


def test_spec_form_still_works_with_its_rng() -> None:
    config = draw({
        "a": randint(5, 10),
        "b": sample_from(lambda spec: spec.config.a * 2),
        "c": sample_from(lambda spec: int(spec.rng.integers(0, spec.config["a"]))),
    })
    assert config["b"] == 2 * config["a"] and 0 <= config["c"] < config["a"]


def test_functions_reading_later_functions_resolve_in_either_form() -> None:
    config = draw({
        "first": sample_from(lambda config: config["second"] + 1),  # waits for "second"
        "second": sample_from(lambda spec: spec.config.base * 2),
        "base": 4,
    })
    assert config == {"first": 9, "second": 8, "base": 4}


def test_a_key_missing_in_both_forms_raises_keyerror() -> None:
    with pytest.raises(KeyError, match="nope"):
        draw({"a": sample_from(lambda config: config["nope"])})


def test_a_cycle_is_still_named() -> None:
    with pytest.raises(ValueError, match="must not read each other in a cycle"):
        draw({"a": sample_from(lambda c: c["b"]), "b": sample_from(lambda c: c["a"])})


@pytest.mark.parametrize("make", [lambda: BasicVariantGenerator(seed=0),
                                  lambda: TPESearch(n_startup_trials=2, seed=0)])
def test_searchers_resolve_the_config_form(make: Any) -> None:
    searcher = make()
    searcher.set_search_properties("l", "min", {
        "lr": uniform(0.1, 1), "double": sample_from(lambda config: config["lr"] * 2)})
    searcher.set_num_samples(5)
    for i in range(5):
        config = searcher.suggest(str(i))
        assert config["double"] == pytest.approx(2 * config["lr"])
        searcher.on_trial_complete(str(i), {"l": config["lr"]})
