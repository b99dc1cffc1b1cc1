"""Every scheduler through the same life cycle, with the fake event loop from conftest."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from schedulers import (
    PB2,
    ASHAScheduler,
    FIFOScheduler,
    HyperBandScheduler,
    MedianStoppingRule,
    PopulationBasedTraining,
    PopulationBasedTrainingReplay,
    TrialScheduler,
    TrialStatus,
)
from searchers._space import uniform

REPLAY_LOG = [
    {
        "target_trial_id": "b",
        "donor_trial_id": "a",
        "target_iteration": 3,
        "donor_iteration": 3,
        "old_config": {"x": 1.0},
        "new_config": {"x": 1.5},
    }
]

# name -> (factory, number of trials)
FACTORIES: dict[str, tuple[Callable[[], TrialScheduler], int]] = {
    "fifo": (lambda: FIFOScheduler(metric="score", mode="max"), 5),
    "asha": (lambda: ASHAScheduler(metric="score", mode="max", max_t=9, reduction_factor=2), 8),
    "asha_brackets": (
        lambda: ASHAScheduler(metric="score", mode="max", max_t=9, reduction_factor=2, brackets=2),
        8,
    ),
    "hyperband": (lambda: HyperBandScheduler(metric="score", mode="max", max_t=9), 12),
    "median": (
        lambda: MedianStoppingRule(
            "training_iteration", metric="score", mode="max", grace_period=2, min_samples_required=2
        ),
        6,
    ),
    "median_soft": (
        lambda: MedianStoppingRule(
            "training_iteration", metric="score", mode="max", grace_period=2, hard_stop=False
        ),
        6,
    ),
    "pbt": (
        lambda: PopulationBasedTraining(
            "training_iteration",
            metric="score",
            mode="max",
            perturbation_interval=2,
            hyperparam_mutations={"x": uniform(0.5, 2.0)},
            seed=0,
        ),
        6,
    ),
    "pbt_synch": (
        lambda: PopulationBasedTraining(
            "training_iteration",
            metric="score",
            mode="max",
            perturbation_interval=2,
            hyperparam_mutations={"x": [0.5, 1.0, 1.5, 2.0]},
            synch=True,
            seed=0,
        ),
        6,
    ),
    "pb2": (
        lambda: PB2(
            "training_iteration",
            metric="score",
            mode="max",
            perturbation_interval=2,
            hyperparam_bounds={"x": [0.5, 2.0]},
            seed=0,
        ),
        6,
    ),
    "replay": (lambda: PopulationBasedTrainingReplay(REPLAY_LOG), 1),
}


@pytest.fixture(params=sorted(FACTORIES))
def factory(request: pytest.FixtureRequest) -> tuple[Callable[[], TrialScheduler], int]:
    return FACTORIES[request.param]


def configs(n: int) -> list[dict[str, Any]]:
    return [{"x": 0.5 + 0.25 * (i % 7)} for i in range(n)] if n > 1 else [{"x": 1.0}]


def test_runs_every_trial_to_an_end(factory: Any, fake_loop: Any) -> None:
    make, n = factory
    loop = fake_loop(make(), configs(n), workers=3, max_iter=10)
    loop.run()  # asserts choose_trial_to_run never picks a finished trial
    assert all(t.status is TrialStatus.TERMINATED for t in loop.trials.values())


def test_state_is_json_and_a_restored_scheduler_decides_the_same(
    factory: Any, fake_loop: Any
) -> None:
    make, n = factory
    original = fake_loop(make(), configs(n), workers=3, max_iter=10)
    for _ in range(13):
        original.step()
    state = json.loads(json.dumps(original.scheduler.state_dict()))
    fresh = make()
    fresh.set_search_properties("score", "max")
    fresh.load_state_dict(state)
    restored = original.clone_with(fresh)
    original.log = []
    for _ in range(2000):
        if not original.step():
            break
        assert restored.step()
    assert not restored.step()
    assert restored.log == original.log
    assert json.dumps(original.scheduler.state_dict()) == json.dumps(fresh.state_dict())


def test_error_and_remove_hooks_are_safe_at_any_time(factory: Any, fake_loop: Any) -> None:
    make, n = factory
    loop = fake_loop(make(), configs(n), workers=2, max_iter=10)
    for _ in range(7):
        loop.step()
    first = next(iter(loop.trials.values()))
    if not first.status.is_finished:
        first.status = TrialStatus.ERROR
        loop.running = [t for t in loop.running if t != first.trial_id]
        loop.scheduler.on_trial_error(first.view())
    loop.scheduler.on_trial_remove(first.view())  # twice, and for an ended trial: ignored
    loop.run()
    assert all(t.status.is_finished for t in loop.trials.values())
