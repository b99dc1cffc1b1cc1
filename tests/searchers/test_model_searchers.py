"""TPESearch, BayesOptSearch and OptunaSearch: validation, modelling, observations."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import numpy as np
import pytest

from searchers import (
    BayesOptSearch,
    OptunaSearch,
    TPESearch,
    choice,
    grid_search,
    qloguniform,
    qrandn,
    randint,
    sample_from,
    uniform,
)
from searchers._stats import erfc, log_interval_mass, norm_cdf

MODEL_SEARCHERS = [TPESearch, BayesOptSearch, OptunaSearch]


@pytest.mark.parametrize("cls", MODEL_SEARCHERS)
def test_grid_search_names_the_parameter(cls: Any) -> None:
    with pytest.raises(ValueError, match="grid_search \\(parameter 'opt/kind'\\)"):
        cls({"x": uniform(0, 1), "opt": {"kind": grid_search([1, 2])}}, metric="l", mode="min")


def test_bayesopt_rejects_categorical_by_path() -> None:
    with pytest.raises(ValueError, match="categorical\\) at parameter 'a/b'"):
        BayesOptSearch({"a": {"b": choice([1, 2])}}, metric="l", mode="min")


@pytest.mark.parametrize("cls", MODEL_SEARCHERS)
def test_missing_metric_names_tuneconfig(cls: Any) -> None:
    searcher = cls({"x": uniform(0, 1)})
    with pytest.raises(ValueError, match=r"TuneConfig\(metric=\.\.\., mode=\.\.\.\)"):
        searcher.suggest("a")


@pytest.mark.parametrize("cls", MODEL_SEARCHERS)
def test_space_given_twice_is_an_error(cls: Any) -> None:
    searcher = cls({"x": uniform(0, 1)}, metric="l", mode="min")
    with pytest.raises(ValueError, match="define it in one place only"):
        searcher.set_search_properties("l", "min", {"y": uniform(0, 1)})


@pytest.mark.parametrize("cls", MODEL_SEARCHERS)
def test_tuner_constants_join_the_searchers_space(cls: Any) -> None:
    searcher = cls({"x": uniform(0, 1)}, metric="l", mode="min", seed=0)
    searcher.set_search_properties(None, None, {"epochs": 3})
    config = searcher.suggest("a")
    assert config["epochs"] == 3 and 0 <= config["x"] <= 1


@pytest.mark.parametrize("cls", MODEL_SEARCHERS)
def test_points_to_evaluate_first(cls: Any) -> None:
    searcher = cls({"x": uniform(0, 1), "y": randint(0, 5)}, metric="l", mode="min",
                   points_to_evaluate=[{"x": 0.25}], seed=0)
    config = searcher.suggest("a")
    assert config["x"] == 0.25 and 0 <= config["y"] < 5


def test_point_outside_a_choice_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"points_to_evaluate\[0\]: 'c'='z' is not one of"):
        TPESearch({"c": choice(["a", "b"])}, points_to_evaluate=[{"c": "z"}])


@pytest.mark.parametrize("cls", MODEL_SEARCHERS)
def test_errored_and_metricless_trials_are_not_observed(
    cls: Any, caplog: pytest.LogCaptureFixture
) -> None:
    searcher = cls({"x": uniform(0, 1)}, metric="l", mode="min", seed=0)
    for trial_id in "abcd":
        searcher.suggest(trial_id)
    with caplog.at_level(logging.INFO, logger="searchers"):
        searcher.on_trial_complete("a", {"l": 1.0})
        searcher.on_trial_complete("b", {"l": 1.0}, error=True)
        searcher.on_trial_complete("c", {"other": 1.0})
        searcher.on_trial_complete("d", {"l": float("nan")})
    assert len(searcher.observations) == 1
    assert "has no finite metric 'l'" in caplog.text


@pytest.mark.parametrize("cls", MODEL_SEARCHERS)
def test_add_evaluated_points(cls: Any) -> None:
    searcher = cls({"x": uniform(0, 1), "n": {"k": randint(0, 3)}}, metric="l", mode="max")
    searcher.add_evaluated_points([{"x": 0.5, "n": {"k": 1}}], [{"l": 2.0}])
    assert searcher.observations == [([0.5, 1], -2.0)]
    with pytest.raises(ValueError, match="lacks parameter"):
        searcher.add_evaluated_points([{"x": 0.5}], [{"l": 2.0}])


def quadratic(config: dict[str, Any]) -> float:
    return (config["x"] - 0.3) ** 2 + (config["y"] + 0.5) ** 2


@pytest.mark.parametrize("cls", [TPESearch, BayesOptSearch])
def test_model_beats_random_on_a_quadratic(cls: Any) -> None:
    space = {"x": uniform(-2, 2), "y": uniform(-2, 2)}
    regrets = {"model": [], "random": []}
    for seed in range(3):
        searcher = cls(space, metric="l", mode="min", seed=seed)
        best = min(_run(searcher, 30))
        regrets["model"].append(best)
        rng = np.random.default_rng(seed)
        regrets["random"].append(min(
            quadratic({"x": rng.uniform(-2, 2), "y": rng.uniform(-2, 2)}) for _ in range(30)
        ))
    assert np.median(regrets["model"]) < np.median(regrets["random"])


def _run(searcher: Any, n: int) -> list[float]:
    losses = []
    for i in range(n):
        config = searcher.suggest(str(i))
        loss = quadratic(config)
        losses.append(loss)
        searcher.on_trial_complete(str(i), {"l": loss})
    return losses


def test_tpe_conditional_sample_from_uses_the_chosen_values() -> None:
    space = {
        "kind": choice(["a", "b"]),
        "size": randint(1, 10),
        "derived": sample_from(lambda spec: f"{spec.config.kind}{spec.config['size']}"),
    }
    searcher = TPESearch(space, metric="l", mode="min", n_startup_trials=3, seed=0)
    for i in range(12):
        config = searcher.suggest(str(i))
        assert config["derived"] == f"{config['kind']}{config['size']}"
        searcher.on_trial_complete(str(i), {"l": float(config["size"])})


def test_tpe_handles_quantised_and_normal_domains() -> None:
    space = {"q": qloguniform(1, 100, 5), "n": qrandn(0, 2, 0.5)}
    searcher = TPESearch(space, metric="l", mode="min", n_startup_trials=3, seed=0)
    for i in range(15):
        config = searcher.suggest(str(i))
        assert space["q"].contains(config["q"]) and space["n"].contains(config["n"])
        searcher.on_trial_complete(str(i), {"l": config["q"] + abs(config["n"])})


def test_bayesopt_constant_liar_spreads_pending_suggestions() -> None:
    searcher = BayesOptSearch({"x": uniform(0, 1)}, metric="l", mode="min",
                              random_search_steps=4, seed=0)
    for i in range(6):
        config = searcher.suggest(str(i))
        searcher.on_trial_complete(str(i), {"l": (config["x"] - 0.5) ** 2})
    pending = [searcher.suggest(f"p{i}")["x"] for i in range(3)]
    assert len({round(x, 6) for x in pending}) == 3


def test_bayesopt_caps_its_training_set() -> None:
    searcher = BayesOptSearch({"x": uniform(0, 1)}, metric="l", mode="min", max_gp_points=20,
                              random_search_steps=2, seed=0)
    searcher.add_evaluated_points([{"x": i / 100} for i in range(100)],
                                  [{"l": (i / 100 - 0.42) ** 2} for i in range(100)])
    assert len(searcher._training_set(20)) == 20
    assert 0 <= searcher.suggest("a")["x"] <= 1


def test_bayesopt_rbf_kernel() -> None:
    searcher = BayesOptSearch({"x": uniform(-2, 2), "y": uniform(-2, 2)}, metric="l",
                              mode="min", kernel="rbf", seed=0)
    assert min(_run(searcher, 20)) < 0.5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"random_search_steps": -1}, "`random_search_steps` must be an int >= 0"),
        ({"kernel": "linear"}, "`kernel` must be 'matern52' or 'rbf'"),
        ({"xi": -1.0}, "`xi` must be >= 0"),
        ({"patience": 0}, "`patience` must be an int >= 1"),
        ({"repeat_float_precision": -1}, "`repeat_float_precision` must be an int >= 0"),
        ({"utility_kwargs": {"kind": "lcb"}}, r"utility_kwargs\['kind'\] must be one of"),
        ({"utility_kwargs": {"kappa_decay": 0.9}}, "takes the keys 'kind', 'kappa' and 'xi'"),
        ({"utility_kwargs": {"kappa": -1}}, "`kappa` must be >= 0"),
        ({"utility_kwargs": {"xi": 0.1}, "xi": 0.1}, "`xi` was given twice"),
        ({"seed": 1, "random_state": 2}, "pass `seed` or `random_state`, not both"),
        ({"analysis": 3}, "`analysis` must be a ResultGrid"),
    ],
)
def test_bayesopt_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BayesOptSearch(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_startup_trials": 0}, "`n_startup_trials` must be an int >= 1"),
        ({"n_ei_candidates": 0}, "`n_ei_candidates` must be an int >= 1"),
        ({"gamma": 0.0}, "`gamma` must be in"),
        ({"mode": "best"}, "`mode` must be 'min' or 'max'"),
    ],
)
def test_tpe_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TPESearch(**kwargs)


def test_optuna_missing_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(ImportError, match=r"pip install 'tuner\[optuna\]'"):
        OptunaSearch()


def test_optuna_custom_sampler_and_restore_replays_observations() -> None:
    import optuna

    space = {"x": uniform(0, 1), "c": choice(["a", "b"]), "k": randint(1, 4)}
    searcher = OptunaSearch(space, metric="l", mode="min",
                            sampler=optuna.samplers.RandomSampler(seed=0))
    for i in range(5):
        config = searcher.suggest(str(i))
        searcher.on_trial_complete(str(i), {"l": config["x"]})
    searcher.suggest("live")
    restored = OptunaSearch(space, metric="l", mode="min", seed=1)
    restored.load_state_dict(json.loads(json.dumps(searcher.state_dict())))
    assert len(restored._get_study().trials) == 5
    restored.on_trial_complete("live", {"l": 0.5})  # suggested before the restore
    assert len(restored._get_study().trials) == 6
    with pytest.raises(ValueError, match=r"optuna\.samplers\.BaseSampler"):
        OptunaSearch(sampler="tpe")


def test_normal_cdf_matches_known_values() -> None:
    assert norm_cdf(0.0) == pytest.approx(0.5, abs=1e-7)
    assert norm_cdf(1.959963984540054) == pytest.approx(0.975, abs=1e-7)
    assert erfc(10.0) == pytest.approx(2.088487583762545e-45, rel=1e-6)
    assert log_interval_mass(10.0, 11.0) == pytest.approx(-53.2313102, rel=1e-6)
