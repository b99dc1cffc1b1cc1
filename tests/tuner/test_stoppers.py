"""Stoppers: Ray Tune semantics, validation, and state round-trips through JSON."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pytest

from tuner._stoppers import make_stopper, may_end_experiment
from tuner.exceptions import ConfigError
from tuner.stopper import (
    CombinedStopper,
    DictStopper,
    ExperimentPlateauStopper,
    FunctionStopper,
    MaximumIterationStopper,
    Stopper,
    TimeoutStopper,
    TrialPlateauStopper,
)


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _json_round_trip(stopper: Stopper, fresh: Stopper) -> Stopper:
    fresh.load_state_dict(json.loads(json.dumps(stopper.state_dict())))
    return fresh


# --- MaximumIterationStopper ------------------------------------------------------------------


def test_maximum_iteration_counts_per_trial() -> None:
    stopper = MaximumIterationStopper(max_iter=3)
    assert [stopper("a", {}) for _ in range(3)] == [False, False, True]
    assert stopper("b", {}) is False
    assert stopper.stop_all() is False


def test_maximum_iteration_state_round_trip() -> None:
    stopper = MaximumIterationStopper(3)
    stopper("a", {})
    stopper("a", {})
    restored = _json_round_trip(stopper, MaximumIterationStopper(3))
    assert restored("a", {}) is True


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_maximum_iteration_rejects_bad_values(bad: Any) -> None:
    with pytest.raises(ConfigError, match="max_iter must be an int >= 1"):
        MaximumIterationStopper(bad)


# --- TrialPlateauStopper ----------------------------------------------------------------------


def test_trial_plateau_waits_for_grace_and_window() -> None:
    stopper = TrialPlateauStopper("loss", std=0.01, num_results=3, grace_period=5)
    decisions = [stopper("a", {"loss": v}) for v in (1.0, 0.5, 0.5, 0.5, 0.5, 0.5)]
    assert decisions == [False, False, False, False, True, True]


def test_trial_plateau_not_while_changing_and_per_trial() -> None:
    stopper = TrialPlateauStopper("loss", num_results=2, grace_period=2)
    assert [stopper("a", {"loss": v}) for v in (1.0, 0.5, 0.25)] == [False, False, False]
    assert stopper("b", {"loss": 1.0}) is False
    assert stopper("a", {"loss": 0.25}) is True


def test_trial_plateau_threshold_by_mode() -> None:
    minimising = TrialPlateauStopper(
        "loss", num_results=2, grace_period=2, metric_threshold=0.1, mode="min"
    )
    assert [minimising("a", {"loss": 0.5}) for _ in range(3)] == [False] * 3
    assert [minimising("b", {"loss": 0.05}) for _ in range(2)] == [False, True]
    maximising = TrialPlateauStopper(
        "acc", num_results=2, grace_period=2, metric_threshold=0.9, mode="max"
    )
    assert [maximising("a", {"acc": 0.5}) for _ in range(3)] == [False] * 3
    assert [maximising("b", {"acc": 0.95}) for _ in range(2)] == [False, True]


def test_trial_plateau_nan_never_plateaus_and_numpy_ok() -> None:
    stopper = TrialPlateauStopper("loss", num_results=2, grace_period=0)
    assert [stopper("a", {"loss": float("nan")}) for _ in range(3)] == [False] * 3
    assert [stopper("b", {"loss": np.float32(1.0)}) for _ in range(2)] == [False, True]


def test_trial_plateau_state_round_trip() -> None:
    def make() -> TrialPlateauStopper:
        return TrialPlateauStopper("loss", num_results=3, grace_period=3)

    stopper = make()
    stopper("a", {"loss": 0.5})
    stopper("a", {"loss": 0.5})
    restored = _json_round_trip(stopper, make())
    assert restored("a", {"loss": 0.5}) is True


def test_trial_plateau_validation_and_missing_metric() -> None:
    with pytest.raises(ConfigError, match="when metric_threshold is set"):
        TrialPlateauStopper("loss", metric_threshold=0.1)
    with pytest.raises(ConfigError, match="TrialPlateauStopper: `mode` must be 'min' or 'max'"):
        TrialPlateauStopper("loss", mode="best")
    with pytest.raises(ConfigError, match="num_results must be >= 1"):
        TrialPlateauStopper("loss", num_results=0)
    with pytest.raises(
        ConfigError, match=r"'loss' is not in the reported result \(keys: \['acc'\]"
    ):
        TrialPlateauStopper("loss")("a", {"acc": 1})
    with pytest.raises(ConfigError, match="metric 'loss' must be a number, got str"):
        TrialPlateauStopper("loss")("a", {"loss": "low"})


# --- ExperimentPlateauStopper -----------------------------------------------------------------


def test_experiment_plateau_needs_top_values_within_std() -> None:
    stopper = ExperimentPlateauStopper("loss", std=0.01, top=3, mode="min")
    assert stopper("a", {"loss": 0.5}) is False
    assert stopper("b", {"loss": 0.9}) is False
    assert stopper("c", {"loss": 0.5}) is False  # top 3 = [0.5, 0.5, 0.9]: spread too wide
    assert stopper("d", {"loss": 0.5}) is True  # top 3 = [0.5, 0.5, 0.5]
    assert stopper.stop_all() is True


def test_experiment_plateau_mode_max_keeps_largest() -> None:
    stopper = ExperimentPlateauStopper("acc", std=0.01, top=2, mode="max")
    assert stopper("a", {"acc": 0.9}) is False
    assert stopper("b", {"acc": 0.1}) is False
    assert stopper("c", {"acc": 0.9}) is True


def test_experiment_plateau_patience_and_reset() -> None:
    stopper = ExperimentPlateauStopper("loss", std=0.01, top=2, patience=2)
    assert [stopper("a", {"loss": 0.5}) for _ in range(2)] == [False, False]  # plateau #1
    assert stopper("b", {"loss": 0.1}) is False  # top = [0.1, 0.5]: reset
    assert [stopper("b", {"loss": 0.1}) for _ in range(3)] == [False, False, True]


def test_experiment_plateau_state_round_trip() -> None:
    def make() -> ExperimentPlateauStopper:
        return ExperimentPlateauStopper("loss", std=0.01, top=2, patience=1)

    stopper = make()
    stopper("a", {"loss": 0.5})
    stopper("b", {"loss": 0.5})  # plateau #1, patience not yet used up
    restored = _json_round_trip(stopper, make())
    assert restored.stop_all() is False
    assert restored("c", {"loss": 0.5}) is True


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "best"}, "`mode` must be 'min' or 'max'"),
        ({"top": 1}, "top must be an int > 1"),
        ({"patience": -1}, "patience must be an int >= 0"),
        ({"std": 0}, "std must be > 0"),
    ],
)
def test_experiment_plateau_validation(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ExperimentPlateauStopper("loss", **kwargs)


# --- TimeoutStopper ---------------------------------------------------------------------------


def test_timeout_counts_from_first_check() -> None:
    clock = FakeClock()
    stopper = TimeoutStopper(60, clock=clock)
    clock.now += 1000  # time before the experiment runs does not count
    assert stopper.stop_all() is False
    clock.now += 59
    assert stopper("a", {}) is False
    assert stopper.stop_all() is False
    clock.now += 1
    assert stopper.stop_all() is True


def test_timeout_accepts_timedelta() -> None:
    clock = FakeClock()
    stopper = TimeoutStopper(datetime.timedelta(minutes=2), clock=clock)
    stopper.stop_all()
    clock.now += 119
    assert stopper.stop_all() is False
    clock.now += 1
    assert stopper.stop_all() is True


def test_timeout_restore_keeps_remaining_budget() -> None:
    clock = FakeClock()
    stopper = TimeoutStopper(100, clock=clock)
    stopper.stop_all()
    clock.now += 70
    state = json.loads(json.dumps(stopper.state_dict()))
    assert state == {"elapsed_s": 70.0}

    later = FakeClock(now=5.0)  # a new process: another monotonic origin
    restored = TimeoutStopper(100, clock=later)
    restored.load_state_dict(state)
    assert restored.state_dict() == {"elapsed_s": 70.0}
    assert restored.stop_all() is False
    later.now += 29
    assert restored.stop_all() is False
    later.now += 1
    assert restored.stop_all() is True


@pytest.mark.parametrize("bad", [0, -5, datetime.timedelta(0), "60"])
def test_timeout_rejects_bad_values(bad: Any) -> None:
    with pytest.raises(ConfigError, match="timeout must be"):
        TimeoutStopper(bad)


# --- CombinedStopper, FunctionStopper ---------------------------------------------------------


def test_combined_stops_on_any_and_every_stopper_sees_every_result() -> None:
    clock = FakeClock()
    iterations = MaximumIterationStopper(3)
    combined = CombinedStopper(
        FunctionStopper(lambda trial_id, result: result["loss"] < 0.1),
        iterations,
        TimeoutStopper(10, clock=clock),
    )
    assert combined("a", {"loss": 0.05}) is True
    assert iterations.state_dict() == {"iter": {"a": 1}}, "no short-circuit"
    assert combined("b", {"loss": 1}) is False
    assert combined.stop_all() is False
    clock.now += 10
    assert combined.stop_all() is True


def test_combined_state_round_trip() -> None:
    def make() -> CombinedStopper:
        return CombinedStopper(MaximumIterationStopper(2), TimeoutStopper(10, clock=FakeClock()))

    stopper = make()
    stopper("a", {})
    restored = _json_round_trip(stopper, make())
    assert restored("a", {}) is True
    with pytest.raises(ConfigError, match="must match its stoppers, got 1 states for 2"):
        make().load_state_dict({"stoppers": [{}]})


def test_combined_rejects_non_stoppers() -> None:
    with pytest.raises(ConfigError, match="wrap callables with FunctionStopper"):
        CombinedStopper(lambda t, r: True)  # type: ignore[arg-type]


def test_function_stopper() -> None:
    seen: list[tuple[str, Mapping[str, Any]]] = []

    def fn(trial_id: str, result: Mapping[str, Any]) -> bool:
        seen.append((trial_id, result))
        return result["x"] > 1

    stopper = FunctionStopper(fn)
    assert stopper("a", {"x": 1}) is False
    assert stopper("a", {"x": 2}) is True
    assert seen == [("a", {"x": 1}), ("a", {"x": 2})]
    assert stopper.state_dict() == {}
    with pytest.raises(ConfigError, match="takes a callable"):
        FunctionStopper(3)  # type: ignore[arg-type]


# --- DictStopper ------------------------------------------------------------------------------


def test_dict_stops_when_any_bound_reached() -> None:
    stopper = DictStopper({"training_iteration": 5, "mean_accuracy": 0.9})
    assert stopper("a", {"training_iteration": 1, "mean_accuracy": 0.5}) is False
    assert stopper("a", {"training_iteration": 5, "mean_accuracy": 0.5}) is True
    assert stopper("a", {"training_iteration": 2, "mean_accuracy": np.float64(0.95)}) is True
    assert stopper.stop_all() is False


def test_dict_nested_keys_with_slash() -> None:
    stopper = DictStopper({"eval/acc": 0.9})
    assert stopper("a", {"eval": {"acc": 0.5}}) is False
    assert stopper("a", {"eval": {"acc": 0.95}}) is True
    assert stopper("a", {"eval/acc": 0.95}) is True


def test_dict_missing_key_warns_once_and_does_not_stop(caplog: pytest.LogCaptureFixture) -> None:
    """As Ray Tune: a key some results lack (an evaluation every N steps) stops nothing."""
    stopper = DictStopper({"foo": 1, "loss": 5})
    with caplog.at_level("WARNING"):
        assert stopper("a", {"loss": 1, "bar": 2}) is False
        assert stopper("a", {"loss": 1, "bar": 2}) is False
        assert stopper("a", {"loss": 1, "foo": 1}) is True
    warnings = [r.getMessage() for r in caplog.records if "stop criterion" in r.getMessage()]
    assert warnings == [
        "stop criterion 'foo' is not in the reported result (keys: ['bar', 'loss']): trials that "
        "never report it run until they end; report it or fix RunConfig(stop=...)"
    ]


def test_dict_bool_criteria_compare_as_ray_does() -> None:
    stopper = DictStopper({"done": True, "training_iteration": 5})
    assert stopper("a", {"done": False, "training_iteration": 2}) is False
    assert stopper("a", {"done": True, "training_iteration": 2}) is True
    assert stopper("a", {"done": False, "training_iteration": 5}) is True
    solved = DictStopper({"mean_accuracy": 0.9})
    assert solved("a", {"mean_accuracy": True}) is True
    assert solved("a", {"mean_accuracy": np.bool_(False)}) is False


def test_dict_values_must_be_numbers() -> None:
    with pytest.raises(ConfigError, match="stop criterion 'loss' must be a number, got str"):
        DictStopper({"loss": "0.1"})  # type: ignore[dict-item]
    with pytest.raises(ConfigError, match="name nested values with '/'"):
        DictStopper({"eval": {"acc": 0.9}})  # type: ignore[dict-item]
    with pytest.raises(ConfigError, match="result value 'loss' for stop must be a number"):
        DictStopper({"loss": 1})("a", {"loss": None})


# --- make_stopper -----------------------------------------------------------------------------


def test_make_stopper_by_type() -> None:
    assert make_stopper(None) is None
    stopper = MaximumIterationStopper(1)
    assert make_stopper(stopper) is stopper
    assert isinstance(make_stopper({"loss": 1}), DictStopper)
    fn: Callable[[str, Mapping[str, Any]], bool] = lambda trial_id, result: True  # noqa: E731
    assert isinstance(make_stopper(fn), FunctionStopper)


@pytest.mark.parametrize(
    ("stop", "message"),
    [
        (3, "must be a dict of bounds, a function"),
        ("loss", "must be a dict of bounds, a function"),
        (MaximumIterationStopper, "got the class MaximumIterationStopper: pass an instance"),
    ],
)
def test_make_stopper_rejects_other_types(stop: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_stopper(stop)


class _EndsAll(MaximumIterationStopper):
    def stop_all(self) -> bool:
        return True


def test_may_end_experiment_only_where_stop_all_can_be_true() -> None:
    per_trial = [MaximumIterationStopper(1), TrialPlateauStopper("loss"),
                 FunctionStopper(lambda trial_id, result: False), DictStopper({"loss": 1})]
    for stopper in per_trial:
        assert not may_end_experiment(stopper), stopper
    assert not may_end_experiment(None)
    assert may_end_experiment(TimeoutStopper(60))
    assert may_end_experiment(ExperimentPlateauStopper("loss"))
    assert may_end_experiment(_EndsAll(1)), "a subclass that overrides stop_all may end it"
    assert not may_end_experiment(CombinedStopper(*per_trial))
    assert may_end_experiment(CombinedStopper(*per_trial, CombinedStopper(TimeoutStopper(60))))
    assert CombinedStopper(*per_trial).stoppers == tuple(per_trial)
