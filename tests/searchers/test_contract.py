"""Every searcher through the same checks: suggest, results, completion, errors, state."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import pytest

from searchers import (
    FINISHED,
    BasicVariantGenerator,
    BayesOptSearch,
    ConcurrencyLimiter,
    OptunaSearch,
    Repeater,
    Searcher,
    TPESearch,
    choice,
    grid_search,
    lograndint,
    loguniform,
    qrandint,
    quniform,
    randint,
    randn,
    sample_from,
)
from searchers._paths import find_domains, get_value

MIXED_SPACE: dict[str, Any] = {
    "lr": loguniform(1e-4, 1e-1),
    "model": {"layers": randint(1, 5), "units": qrandint(16, 128, 16), "act": choice(["relu", "tanh"])},
    "drop": [quniform(0.0, 0.5, 0.1), "fixed"],
    "noise": randn(0.0, 1.0),
    "width": lograndint(1, 1000),
    "double_lr": sample_from(lambda spec: spec.config.lr * 2),
    "const": 7,
}
NUMERIC_SPACE: dict[str, Any] = {
    key: value for key, value in MIXED_SPACE.items() if key != "model"
} | {"model": {"layers": randint(1, 5), "units": qrandint(16, 128, 16)}}


def objective(config: dict[str, Any]) -> float:
    return (math.log10(config["lr"]) + 2.5) ** 2 + config["drop"][0] + abs(config["noise"]) * 0.1


Factory = Callable[[], tuple[Searcher, dict[str, Any]]]


def _bvg() -> tuple[Searcher, dict[str, Any]]:
    searcher = BasicVariantGenerator(seed=1, points_to_evaluate=[{"lr": 0.01}])
    searcher.set_num_samples(-1)
    return searcher, MIXED_SPACE | {"grid": grid_search(["a", "b", "c"])}


FACTORIES: dict[str, Factory] = {
    "bvg": _bvg,
    "limiter(tpe)": lambda: (
        ConcurrencyLimiter(TPESearch(n_startup_trials=5, seed=2), max_concurrent=2),
        MIXED_SPACE,
    ),
    "repeater(bvg)": lambda: (Repeater(BasicVariantGenerator(seed=3, num_samples=100), 2),
                              MIXED_SPACE),
    "tpe": lambda: (TPESearch(n_startup_trials=5, seed=4, points_to_evaluate=[{"lr": 0.01}]),
                    MIXED_SPACE),
    "bayesopt": lambda: (BayesOptSearch(random_search_steps=5, seed=5), NUMERIC_SPACE),
    "optuna": lambda: (OptunaSearch(seed=6, points_to_evaluate=[{"lr": 0.01}]), MIXED_SPACE),
}
DETERMINISTIC = {"bvg", "limiter(tpe)", "repeater(bvg)", "tpe", "bayesopt"}


@pytest.fixture(params=sorted(FACTORIES))
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def build(name: str) -> tuple[Searcher, dict[str, Any]]:
    searcher, space = FACTORIES[name]()
    searcher.set_search_properties("loss", "min", space)
    return searcher, space


class Driver:
    """Suggests and completes trials: two at a time, some erroring or lacking the metric."""

    def __init__(self, searcher: Searcher) -> None:
        self.searcher = searcher
        self.live: list[tuple[str, dict[str, Any]]] = []
        self.count = 0

    def complete_oldest(self) -> None:
        trial_id, config = self.live.pop(0)
        number = int(trial_id[1:])
        self.searcher.on_trial_result(trial_id, {"loss": 1.0, "training_iteration": 1})
        if number % 7 == 3:
            self.searcher.on_trial_complete(trial_id, None, error=True)
        elif number % 11 == 5:
            self.searcher.on_trial_complete(trial_id, {"other": 1.0})
        else:
            self.searcher.on_trial_complete(trial_id, {"loss": objective(config)})

    def run(self, n: int) -> list[dict[str, Any]]:
        configs: list[dict[str, Any]] = []
        while len(configs) < n:
            trial_id = f"t{self.count}"
            config = self.searcher.suggest(trial_id)
            if config is None:
                self.complete_oldest()
                continue
            assert config is not FINISHED
            assert isinstance(config, dict)
            self.count += 1
            configs.append(config)
            self.live.append((trial_id, config))
            if len(self.live) >= 2:
                self.complete_oldest()
        return configs


def assert_in_space(config: dict[str, Any], space: dict[str, Any]) -> None:
    for path, domain in find_domains(space):
        value = get_value(config, path)
        assert domain.contains(value), (path, value, domain)
    assert config["const"] == 7 and config["drop"][1] == "fixed"
    assert config["double_lr"] == pytest.approx(config["lr"] * 2)


def test_suggestions_lie_in_the_space(name: str) -> None:
    searcher, space = build(name)
    configs = Driver(searcher).run(30)
    for config in configs:
        assert_in_space(config, space)
    assert len({json.dumps(c, sort_keys=True) for c in configs}) > 5


def test_state_is_json_at_every_stage(name: str) -> None:
    searcher, _ = build(name)
    json.dumps(searcher.state_dict())
    driver = Driver(searcher)
    for _ in range(3):
        driver.run(7)
        json.dumps(searcher.state_dict())


def test_restored_searcher_continues(name: str) -> None:
    original, space = build(name)
    driver = Driver(original)
    driver.run(13)
    state = json.loads(json.dumps(original.state_dict()))
    restored, _ = build(name)
    restored.load_state_dict(state)
    twin = Driver(restored)
    twin.live, twin.count = list(driver.live), driver.count
    expected, got = driver.run(10), twin.run(10)
    for config in got:
        assert_in_space(config, space)
    if name in DETERMINISTIC:
        assert got == expected


def test_unknown_and_repeated_completions_are_ignored(name: str) -> None:
    searcher, _ = build(name)
    searcher.on_trial_complete("never-suggested", {"loss": 1.0})
    config = searcher.suggest("a")
    assert isinstance(config, dict)
    searcher.on_trial_complete("a", {"loss": 1.0})
    searcher.on_trial_complete("a", {"loss": 2.0})
    assert isinstance(searcher.suggest("b"), dict)


def test_max_mode_is_accepted(name: str) -> None:
    searcher, space = FACTORIES[name]()
    searcher.set_search_properties("score", "max", space)
    for i in range(8):
        config = searcher.suggest(str(i))
        assert isinstance(config, dict)
        searcher.on_trial_complete(str(i), {"score": -objective(config)})


def test_conflicting_metric_is_an_error(name: str) -> None:
    searcher, space = FACTORIES[name]()
    searcher.set_search_properties("loss", "min", space)
    if searcher.metric is None:
        pytest.skip("takes no metric of its own")
    with pytest.raises(ValueError, match="set it in one place only"):
        type(searcher).set_search_properties(searcher, "acc", "min", space)
