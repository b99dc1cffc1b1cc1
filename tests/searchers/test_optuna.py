"""OptunaSearch: define-by-run spaces, Optuna distributions, several objectives, warm starts."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from searchers import (
    ConcurrencyLimiter,
    OptunaSearch,
    Repeater,
    choice,
    uniform,
)

optuna = pytest.importorskip("optuna")


def conditional(trial: Any) -> dict[str, Any]:
    kind = trial.suggest_categorical("kind", ["lin", "quad"])
    trial.suggest_float("model/x", -1.0, 1.0)
    if kind == "quad":
        trial.suggest_int("model/power", 2, 4)
    return {"epochs": 5}


def loss(config: dict[str, Any]) -> float:
    power = config["model"].get("power", 1)
    return abs(config["model"]["x"] - 0.25) ** power


def drive(searcher: Any, n: int, metric: str = "loss") -> list[dict[str, Any]]:
    configs = []
    for i in range(n):
        config = searcher.suggest(f"t{i}")
        assert isinstance(config, dict)
        configs.append(config)
        searcher.on_trial_complete(f"t{i}", {metric: loss(config), "gain": -loss(config)})
    return configs


def test_define_by_run_configs_are_nested_with_constants() -> None:
    searcher = OptunaSearch(conditional, metric="loss", mode="min", seed=0)
    searcher.set_search_properties(None, None, {"batch": 32})
    configs = drive(searcher, 12)
    for config in configs:
        assert config["epochs"] == 5 and config["batch"] == 32
        assert -1.0 <= config["model"]["x"] <= 1.0
        assert ("power" in config["model"]) == (config["kind"] == "quad")
    assert len(searcher._get_study().trials) == 12


def test_define_by_run_with_domains_in_param_space_is_an_error() -> None:
    searcher = OptunaSearch(conditional, metric="loss", mode="min")
    with pytest.raises(ValueError, match="define it in one place only"):
        searcher.set_search_properties(None, None, {"lr": uniform(0, 1)})


def test_define_by_run_must_return_none_or_a_dict() -> None:
    searcher = OptunaSearch(lambda trial: [trial.suggest_float("x", 0, 1)], metric="l", mode="min")
    with pytest.raises(TypeError, match="must return None or a dict of constants"):
        searcher.suggest("a")


def test_define_by_run_points_to_evaluate_come_first() -> None:
    searcher = OptunaSearch(conditional, metric="loss", mode="min", seed=0,
                            points_to_evaluate=[{"kind": "quad", "model": {"x": 0.5}}])
    first = searcher.suggest("a")
    assert first["kind"] == "quad" and first["model"]["x"] == 0.5 and "power" in first["model"]


def test_define_by_run_state_round_trip() -> None:
    original = OptunaSearch(conditional, metric="loss", mode="min", seed=0)
    drive(original, 6)
    live = original.suggest("live")
    state = json.loads(json.dumps(original.state_dict()))
    restored = OptunaSearch(conditional, metric="loss", mode="min", seed=0)
    restored.load_state_dict(state)
    assert len(restored._get_study().trials) == 6
    assert isinstance(live, dict)
    restored.on_trial_complete("live", {"loss": loss(live)})  # suggested before the restore
    assert len(restored._get_study().trials) == 7
    assert isinstance(restored.suggest("next"), dict)


def test_space_of_optuna_distributions() -> None:
    space = {"x": optuna.distributions.FloatDistribution(-1, 1),
             "opt": {"lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)}}
    searcher = OptunaSearch(space, metric="loss", mode="min", seed=0,
                            points_to_evaluate=[{"x": 0.5, "opt": {"lr": 0.01}}],
                            evaluated_rewards=[0.3])
    config = searcher.suggest("a")
    assert set(config) == {"x", "opt"} and 1e-4 <= config["opt"]["lr"] <= 1e-1
    assert len(searcher._get_study().trials) == 2  # the rewarded point, then this one


def test_mixed_optuna_and_other_values_is_an_error() -> None:
    with pytest.raises(ValueError, match="must hold only those"):
        OptunaSearch({"x": optuna.distributions.FloatDistribution(0, 1), "y": uniform(0, 1)})


def test_evaluated_rewards_are_told_not_run() -> None:
    space = {"x": uniform(-1, 1), "c": choice(["a", "b"])}
    searcher = OptunaSearch(space, metric="loss", mode="min", seed=0,
                            points_to_evaluate=[{"x": 0.1, "c": "a"}, {"x": 0.2, "c": "b"}],
                            evaluated_rewards=[1.0, 2.0])
    config = searcher.suggest("a")
    assert (config["x"], config["c"]) not in [(0.1, "a"), (0.2, "b")]
    assert [loss for _, loss in searcher.observations] == [1.0, 2.0]
    with pytest.raises(ValueError, match="one result per point"):
        OptunaSearch(space, points_to_evaluate=[{"x": 0.1, "c": "a"}], evaluated_rewards=[])
    with pytest.raises(ValueError, match="define-by-run function"):
        OptunaSearch(conditional, points_to_evaluate=[{"kind": "lin"}], evaluated_rewards=[1.0])


def test_multi_objective_study_gets_every_metric() -> None:
    searcher = OptunaSearch({"x": uniform(-1, 1)}, metric=["loss", "gain"], mode=["min", "max"],
                            seed=0, points_to_evaluate=[{"x": 0.5}],
                            evaluated_rewards=[[0.25, -0.25]])
    searcher.set_search_properties(None, None, {"model": {}})
    assert searcher.metric == ["loss", "gain"] and searcher.metrics == ("loss", "gain")
    for i in range(5):
        config = searcher.suggest(str(i))
        assert isinstance(config, dict)
        value = abs(config["x"] - 0.25)
        searcher.on_trial_complete(str(i), {"loss": value, "gain": -2 * value})
    study = searcher._get_study()
    assert [d.name for d in study.directions] == ["MINIMIZE", "MAXIMIZE"]
    assert all(len(t.values) == 2 for t in study.trials if t.values is not None)
    assert len(study.trials) == 6
    restored = OptunaSearch({"x": uniform(-1, 1)}, metric=["loss", "gain"], mode=["min", "max"])
    restored.load_state_dict(json.loads(json.dumps(searcher.state_dict())))
    assert len(restored._get_study().trials) == 6


def test_multi_objective_missing_metric_fails_the_trial(caplog: pytest.LogCaptureFixture) -> None:
    searcher = OptunaSearch({"x": uniform(-1, 1)}, metric=["loss", "gain"], mode=["min", "max"])
    searcher.suggest("a")
    with caplog.at_level(logging.WARNING, logger="searchers"):
        searcher.on_trial_complete("a", {"loss": 1.0})
    assert "has no finite metric 'gain'" in caplog.text
    assert searcher._get_study().trials[0].state.name == "FAIL"


@pytest.mark.parametrize(
    ("metric", "mode", "message"),
    [
        (["loss", "gain"], "min", "give one mode per metric"),
        (["loss", "gain"], ["min"], "give one mode per metric"),
        (["loss", "gain"], ["min", "best"], r"`mode` must be 'min' or 'max' .*got mode\[1\]="),
        (["loss", "loss"], ["min", "max"], "each metric may be listed once"),
        (3, "min", "must be a string or a non-empty list of strings"),
    ],
)
def test_bad_objectives(metric: Any, mode: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OptunaSearch(metric=metric, mode=mode)


def test_tuneconfig_metric_must_be_one_of_the_objectives() -> None:
    searcher = OptunaSearch(metric=["loss", "gain"], mode=["min", "max"])
    searcher.set_search_properties("gain", "max", {"x": uniform(0, 1)})  # one of them: fine
    other = OptunaSearch(metric=["loss", "gain"], mode=["min", "max"])
    with pytest.raises(ValueError, match="set it to one of the objectives with its mode"):
        other.set_search_properties("gain", "min", {"x": uniform(0, 1)})


def test_repeater_averages_every_objective() -> None:
    inner = OptunaSearch({"x": uniform(-1, 1)}, metric=["loss", "gain"], mode=["min", "max"],
                         seed=0)
    repeater = Repeater(ConcurrencyLimiter(inner, max_concurrent=4), repeat=2)
    repeater.set_search_properties(None, None, {})
    assert repeater.metrics == ("loss", "gain")
    repeater.suggest("a"), repeater.suggest("b")
    repeater.on_trial_complete("a", {"loss": 1.0, "gain": 4.0})
    repeater.on_trial_complete("b", {"loss": 3.0, "gain": 6.0})
    assert inner.state_dict()["told"][0]["values"] == [2.0, 5.0]
