"""PB2: GP-UCB explore stays within bounds and is reproducible with a seed."""

from __future__ import annotations

from typing import Any

import pytest

from schedulers import PB2, Decision, TrialStatus, TrialView, WaitingList

BOUNDS = {"lr": [0.001, 0.1], "opt": {"batch": [16, 128]}}


def make(**kwargs: Any) -> PB2:
    base: dict[str, Any] = {
        "time_attr": "training_iteration",
        "metric": "score",
        "mode": "max",
        "perturbation_interval": 2,
        "hyperparam_bounds": BOUNDS,
        "seed": 0,
    }
    return PB2(**{**base, **kwargs})


def run(seed: int) -> list[dict[str, Any]]:
    """8 trials, 5 intervals; the reward grows faster for lr near 0.03."""
    pb2 = make(seed=seed)
    configs = {
        f"t{i}": {"lr": 0.001 + 0.012 * i, "opt": {"batch": 16 + 14 * i}, "fixed": "x"}
        for i in range(8)
    }
    scores = dict.fromkeys(configs, 0.0)
    chosen = []
    for it in range(1, 11):
        for trial_id, config in configs.items():
            scores[trial_id] += 1 - abs(config["lr"] - 0.03) * 10
            view = TrialView(trial_id, config, TrialStatus.RUNNING, has_checkpoint=True)
            if it == 1:
                pb2.on_trial_add(view)
            result = {"training_iteration": it, "score": scores[trial_id]}
            if pb2.on_trial_result(view, result) is not Decision.PAUSE:
                continue
            paused = TrialView(trial_id, config, TrialStatus.PAUSED, has_checkpoint=True)
            suggestion = pb2.suggest(WaitingList([paused]))
            if suggestion is not None and suggestion.exploits:
                assert suggestion.config is not None
                configs[trial_id] = dict(suggestion.config)
                scores[trial_id] = scores[str(suggestion.checkpoint_trial_id)]
                chosen.append(configs[trial_id])
    return chosen


def test_choices_stay_within_bounds_and_keep_types() -> None:
    chosen = run(0)
    assert len(chosen) >= 3
    for config in chosen:
        assert 0.001 <= config["lr"] <= 0.1
        assert 16 <= config["opt"]["batch"] <= 128
        assert isinstance(config["opt"]["batch"], int)
        assert config["fixed"] == "x"


def test_reproducible_with_a_seed() -> None:
    assert run(0) == run(0)
    assert run(0) != run(1)


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        ({}, "`hyperparam_bounds` is empty"),
        (None, "`hyperparam_bounds` is empty"),
        ({"lr": [0.1]}, r"must be \[low, high\]"),
        ({"lr": [0.1, 0.01]}, "needs low < high"),
    ],
)
def test_bad_bounds(bounds: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make(hyperparam_bounds=bounds)
