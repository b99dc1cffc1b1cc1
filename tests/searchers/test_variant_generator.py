"""BasicVariantGenerator: grid x random expansion, points first, seeds, laziness, state."""

from __future__ import annotations

import itertools
import json
import time
import tracemalloc
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchers import (
    FINISHED,
    BasicVariantGenerator,
    choice,
    grid_search,
    randint,
    sample_from,
    uniform,
)


def make(space: dict[str, Any], **kwargs: Any) -> BasicVariantGenerator:
    num_samples = kwargs.pop("num_samples", 1)
    searcher = BasicVariantGenerator(seed=kwargs.pop("seed", 0), **kwargs)
    searcher.set_search_properties(None, None, space)
    searcher.set_num_samples(num_samples)
    return searcher


def drain(searcher: BasicVariantGenerator, limit: int = 10_000) -> list[dict[str, Any]]:
    configs = []
    for i in range(limit):
        config = searcher.suggest(f"t{i}")
        if config is FINISHED:
            return configs
        assert isinstance(config, dict)
        configs.append(config)
    raise AssertionError("did not finish")


def test_grid_times_num_samples() -> None:
    space = {"a": grid_search([1, 2, 3]), "b": grid_search(["x", "y"]), "c": uniform(0, 1)}
    searcher = make(space, num_samples=4)
    assert searcher.total_trials == 24
    configs = drain(searcher)
    assert len(configs) == 24
    combos = [(c["a"], c["b"]) for c in configs]
    assert all(combos.count(combo) == 4 for combo in set(combos))
    assert len({c["c"] for c in configs}) == 24  # fresh draws at every grid point
    # the first grid varies fastest, and each walk covers the whole grid in order
    assert combos[:6] == [(1, "x"), (2, "x"), (3, "x"), (1, "y"), (2, "y"), (3, "y")]


def test_plain_random_search() -> None:
    configs = drain(make({"x": randint(0, 100), "k": 3}, num_samples=10))
    assert len(configs) == 10 and all(c["k"] == 3 for c in configs)


def test_dict_form_grid_search() -> None:
    configs = drain(make({"a": {"grid_search": [1, 2]}}))
    assert [c["a"] for c in configs] == [1, 2]


def test_points_to_evaluate_come_first_and_count_as_samples() -> None:
    points = [{"a": 10.0}, {"b": {"c": 7}}]
    space = {"a": uniform(0, 1), "b": {"c": randint(0, 5), "d": 1}}
    searcher = make(space, num_samples=5, points_to_evaluate=points)
    assert searcher.total_trials == 5
    configs = drain(searcher)
    assert configs[0]["a"] == 10.0 and 0 <= configs[0]["b"]["c"] < 5
    assert configs[1]["b"] == {"c": 7, "d": 1} and 0 <= configs[1]["a"] < 1
    assert len(configs) == 5


def test_points_expand_the_grid_they_do_not_fix() -> None:
    space = {"a": grid_search([1, 2]), "b": grid_search([3, 4])}
    searcher = make(space, num_samples=2, points_to_evaluate=[{"a": 9}])
    assert searcher.total_trials == 2 + 4
    configs = drain(searcher)
    assert configs[:2] == [{"a": 9, "b": 3}, {"a": 9, "b": 4}]


def test_more_points_than_samples_still_runs_every_point() -> None:
    searcher = make({"a": uniform(0, 1)}, num_samples=1, points_to_evaluate=[{"a": 1}, {"a": 2}])
    assert [c["a"] for c in drain(searcher)] == [1, 2]


def test_seed_reproducible_and_different_seeds_differ() -> None:
    space = {"a": uniform(0, 1), "b": choice(["x", "y", "z"]), "g": grid_search([1, 2])}
    first = drain(make(space, num_samples=5, seed=3))
    assert first == drain(make(space, num_samples=5, seed=3))
    assert first != drain(make(space, num_samples=5, seed=4))


def test_random_state_generator_is_accepted() -> None:
    import numpy as np

    space = {"a": uniform(0, 1)}
    searcher = BasicVariantGenerator(random_state=np.random.default_rng(3), num_samples=3)
    searcher.set_search_properties(None, None, space)
    assert drain(searcher) == drain(make(space, num_samples=3, seed=3))


def test_lazy_billion_point_grid() -> None:
    space = {name: grid_search(range(1000)) for name in ("a", "b", "c")}
    tracemalloc.start()
    searcher = make(space, num_samples=3)
    configs = [searcher.suggest(str(i)) for i in range(1001)]
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 5_000_000
    assert searcher.total_trials == 3 * 10**9
    assert configs[1000] == {"a": 0, "b": 1, "c": 0}
    state = searcher.state_dict()
    state["index"] = 10**9 - 1  # jump to the last point of the first walk
    searcher.load_state_dict(state)
    assert searcher.suggest("last") == {"a": 999, "b": 999, "c": 999}
    assert searcher.suggest("next") == {"a": 0, "b": 0, "c": 0}


def test_state_round_trip_mid_sequence_gives_identical_continuation() -> None:
    space = {"a": uniform(0, 1), "g": grid_search([1, 2, 3]), "n": {"k": randint(0, 10**6)}}
    original = make(space, num_samples=4, points_to_evaluate=[{"a": 5}])
    drain_part = [original.suggest(str(i)) for i in range(5)]
    original.on_trial_complete("0")
    state = json.loads(json.dumps(original.state_dict()))
    restored = make(space, num_samples=1, seed=99, points_to_evaluate=[{"a": 5}])
    restored.load_state_dict(state)
    assert drain(restored) == drain(original)
    assert len(drain_part) + 0 == 5


def test_state_saved_before_the_first_draw_restores_the_same_draws() -> None:
    """The generator is made on first draw; a state saved before it (grid points and points to
    evaluate draw nothing) holds the seed, and the restored searcher draws what the original
    does, also with a fresh-entropy seed."""
    space = {"a": uniform(0, 1), "g": grid_search([1, 2])}
    for seed in (3, None):
        original = BasicVariantGenerator(seed=seed, points_to_evaluate=[{"a": 0.5, "g": 1}])
        original.set_search_properties(None, None, space)
        original.set_num_samples(5)
        assert original.suggest("0") == {"a": 0.5, "g": 1}  # nothing drawn
        state = json.loads(json.dumps(original.state_dict()))
        assert set(state["rng"]) == {"seed"}
        restored = make(space, num_samples=1, seed=99, points_to_evaluate=[{"a": 0.5, "g": 1}])
        restored.load_state_dict(state)
        assert drain(restored) == drain(original)
        assert "bit_generator" in original.state_dict()["rng"]


def test_constant_grid_search_holds_random_values_per_walk() -> None:
    space = {"g": grid_search([1, 2, 3]), "a": uniform(0, 1), "c": choice(list(range(100)))}
    configs = drain(make(space, num_samples=2, constant_grid_search=True))
    first, second = configs[:3], configs[3:]
    assert len({c["a"] for c in first}) == 1 and len({c["c"] for c in first}) == 1
    assert [c["g"] for c in first] == [1, 2, 3]
    assert first[0]["a"] != second[0]["a"]


def test_constant_grid_search_state_round_trip() -> None:
    space = {"g": grid_search([1, 2, 3]), "a": uniform(0, 1)}
    original = make(space, num_samples=3, constant_grid_search=True)
    [original.suggest(str(i)) for i in range(4)]
    restored = make(space, num_samples=3, constant_grid_search=True, seed=5)
    restored.load_state_dict(json.loads(json.dumps(original.state_dict())))
    assert drain(restored) == drain(original)


def test_nested_dicts_and_lists() -> None:
    space = {
        "model": {"layers": [{"units": randint(1, 4)}, {"units": grid_search([8, 16])}]},
        "opt": [uniform(0, 1), "sgd", (1, 2)],
    }
    configs = drain(make(space))
    assert [c["model"]["layers"][1]["units"] for c in configs] == [8, 16]
    for config in configs:
        assert 1 <= config["model"]["layers"][0]["units"] < 4
        assert config["opt"][1:] == ["sgd", (1, 2)] and 0 <= config["opt"][0] < 1
    assert isinstance(space["opt"][0], type(uniform(0, 1)))  # the space itself is untouched


def test_sample_from_reads_other_values() -> None:
    space = {
        "a": uniform(1, 2),
        "twice": sample_from(lambda spec: spec.config.a * 2),
        "thrice": sample_from(lambda spec: spec.config["twice"] * 1.5),  # reads a function
        "early": sample_from(lambda spec: spec.config.late + 1),  # path order is wrong: retried
        "late": sample_from(lambda spec: spec.config.g * 10),
        "g": grid_search([1, 2]),
        "nested": {"x": sample_from(lambda spec: spec.config.nested.y[0] - 1), "y": [randint(5, 6)]},
    }
    for config in drain(make(space, num_samples=2)):
        assert config["twice"] == pytest.approx(config["a"] * 2)
        assert config["thrice"] == pytest.approx(config["a"] * 3)
        assert config["late"] == config["g"] * 10 and config["early"] == config["late"] + 1
        assert config["nested"]["x"] == 4


def test_sample_from_cycle_is_an_error() -> None:
    space = {
        "a": sample_from(lambda spec: spec.config.b),
        "b": sample_from(lambda spec: spec.config.a),
    }
    with pytest.raises(ValueError, match="'a', 'b' read values that never resolve"):
        make(space).suggest("0")


def test_sample_from_may_use_the_searchers_rng() -> None:
    space = {"r": sample_from(lambda spec: float(spec.rng.uniform()))}
    assert drain(make(space, num_samples=3)) == drain(make(space, num_samples=3))


def test_max_concurrent_waits_for_completion() -> None:
    searcher = make({"a": uniform(0, 1)}, num_samples=5, max_concurrent=2)
    assert isinstance(searcher.suggest("0"), dict) and isinstance(searcher.suggest("1"), dict)
    assert searcher.suggest("2") is None
    searcher.on_trial_complete("0", {"loss": 1.0})
    assert isinstance(searcher.suggest("2"), dict)
    assert searcher.suggest("3") is None


def test_forever_keeps_repeating_the_grid() -> None:
    searcher = make({"g": grid_search([1, 2]), "a": uniform(0, 1)}, num_samples=-1)
    assert searcher.total_trials is None
    configs = [searcher.suggest(str(i)) for i in range(101)]
    assert all(isinstance(c, dict) for c in configs)
    assert [c["g"] for c in configs[:4]] == [1, 2, 1, 2]  # type: ignore[index]


def test_suggest_is_fast_on_a_huge_grid() -> None:
    searcher = make({f"p{i}": grid_search(range(1000)) for i in range(3)}, num_samples=-1)
    start = time.perf_counter()
    for i in range(2000):
        searcher.suggest(str(i))
    assert time.perf_counter() - start < 5  # generous; the real timing lives in bench/


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seed": 1, "random_state": 2}, "pass `seed` or `random_state`, not both"),
        ({"max_concurrent": -1}, "`max_concurrent` must be an int >= 0"),
        ({"num_samples": 0}, "`num_samples` must be an int >= 1 or -1"),
        ({"points_to_evaluate": [1]}, "`points_to_evaluate` must be a list of dicts"),
        ({"seed": "x"}, "`seed` must be an int or None"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="got") as info:
        BasicVariantGenerator(**kwargs)
    assert message in str(info.value)


def test_nested_grid_is_an_error() -> None:
    with pytest.raises(ValueError, match="may not hold another grid_search"):
        make({"a": grid_search([{"b": grid_search([1, 2])}])})


def test_suggest_before_space_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="set_search_properties"):
        BasicVariantGenerator().suggest("0")


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 4), min_size=0, max_size=4),
    num_samples=st.integers(1, 3),
)
def test_lazy_grid_matches_the_cartesian_product(sizes: list[int], num_samples: int) -> None:
    space: dict[str, Any] = {f"g{i}": grid_search(range(n)) for i, n in enumerate(sizes)}
    space["r"] = uniform(0, 1)
    configs = drain(make(space, num_samples=num_samples))
    names = [f"g{i}" for i in range(len(sizes))]
    # the first grid varies fastest: the product of the reversed axes, read back reversed
    walk = [tuple(reversed(p)) for p in itertools.product(*(range(n) for n in reversed(sizes)))]
    assert [tuple(c[k] for k in names) for c in configs] == walk * num_samples


def test_sample_from_spec_copies_safely() -> None:
    import copy

    from searchers._paths import GuardedMapping

    guarded = copy.copy(GuardedMapping({"a": 1}))
    assert guarded.a == 1
