"""HyperBandForBOHB: Ray's bracket order for BOHB, its budgets, `stop_last_trials`, the contract,
and Ray's BOHB example (imports changed) running to completion."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tuner as tune
from schedulers import (
    Decision,
    HyperBandForBOHB,
    HyperBandScheduler,
    TrialScheduler,
    TrialStatus,
    TrialView,
)
from searchers import ConcurrencyLimiter, Fidelity, TuneBOHB
from tuner import RunConfig, SimulatedExecutor, TuneConfig, Tuner
from tuner.testing import SchedulerContract, contract_trainable


def test_brackets_fill_from_the_most_exploratory_one() -> None:
    scheduler = HyperBandForBOHB(max_t=9, reduction_factor=3)
    assert scheduler.milestones == [[1, 3, 9], [3, 9], [9]]
    assert HyperBandScheduler(max_t=9, reduction_factor=3).milestones == [[9], [3, 9], [1, 3, 9]]
    assert scheduler.fidelity == Fidelity("training_iteration", (1, 3, 9))
    # Ray's example: max_t=100, reduction_factor=4 (r0 = int(100 / 4**s)).
    assert HyperBandForBOHB(max_t=100, reduction_factor=4).milestones == [
        [1, 4, 16, 100], [6, 24, 100], [25, 100], [100]]


def test_the_first_bracket_takes_nine_trials_and_halves_to_three() -> None:
    scheduler = HyperBandForBOHB(metric="loss", mode="min", max_t=9, reduction_factor=3)
    views = [TrialView(f"t{i}", {}, TrialStatus.RUNNING) for i in range(9)]
    for view in views:
        scheduler.on_trial_add(view)
    decisions = [scheduler.on_trial_result(v, {"training_iteration": 1, "loss": float(i)})
                 for i, v in enumerate(views)]
    # All pause at milestone 1 until the ninth arrives; the halving keeps the best 3 (t0-t2):
    # the ninth, a loser, stops at once; the other losers are stopped through `suggest`.
    assert decisions == [Decision.PAUSE] * 8 + [Decision.STOP]


def counting(config: dict[str, Any]) -> None:
    for step in range(1, 13):
        tune.report({"loss": config["x"] / step, "time_this_iter_s": 1.0})


@pytest.mark.parametrize("stop_last_trials, last", [(True, 9), (False, 12)])
def test_stop_last_trials_false_lets_trials_go_on_past_max_t(
    tmp_path: Path, stop_last_trials: bool, last: int
) -> None:
    grid = Tuner(
        counting, param_space={"x": tune.uniform(0, 1)},
        tune_config=TuneConfig(metric="loss", mode="min", num_samples=9, seed=0,
                               scheduler=HyperBandForBOHB(max_t=9, reduction_factor=3,
                                                          stop_last_trials=stop_last_trials)),
        run_config=RunConfig(storage_path=str(tmp_path), verbose=0,
                             stop={"training_iteration": 12}),
        executor=SimulatedExecutor(n_workers=3),
    ).fit()
    iterations = sorted(r.metrics["training_iteration"] for r in grid)
    # One bracket of 9: 6 stop at 1, 2 at 3, the best runs to max_t 9 (or on to the stop at 12).
    assert iterations == [1] * 6 + [3] * 2 + [last]
    with pytest.raises(ValueError, match=r"stop_last_trials.*True or False"):
        HyperBandForBOHB(stop_last_trials="no")  # type: ignore[arg-type]


class TestHyperBandForBOHB(SchedulerContract):
    num_samples = 12  # a first bracket of 9, then the next one
    interrupt_after = 6  # most trials stop at the first milestone: few results in all
    save_period_s = 1.0  # so that a crash after 6 results finds a state with trials in it

    def make_scheduler(self) -> TrialScheduler:
        return HyperBandForBOHB(max_t=9, reduction_factor=3)


class TestHyperBandForBOHBGoingOnPastMaxT(SchedulerContract):
    iterations = 12
    num_samples = 12
    interrupt_after = 6
    save_period_s = 1.0

    def make_scheduler(self) -> TrialScheduler:
        return HyperBandForBOHB(max_t=9, reduction_factor=3, stop_last_trials=False)


def test_tune_bohb_learns_through_the_contract_trainable(tmp_path: Path) -> None:
    searcher = TuneBOHB(seed=0)
    Tuner(contract_trainable, param_space={"x": tune.uniform(0, 1), "iterations": 9},
          tune_config=TuneConfig(metric="loss", mode="min", num_samples=20, search_alg=searcher,
                                 scheduler=HyperBandForBOHB(max_t=9, reduction_factor=3)),
          run_config=RunConfig(storage_path=str(tmp_path), verbose=0),
          executor=SimulatedExecutor(n_workers=2)).fit()
    assert len(searcher.observations_at(1)) >= 9
    assert set(searcher.budgets) <= {1.0, 3.0, 9.0}


# ------------------------------------------------------------ Ray's bohb_example.py
class MyTrainableClass(tune.Trainable):
    """The trainable of Ray's `bohb_example.py`: a sigmoid whose slope and height are `width`
    and `height`, checkpointing its timestep to a JSON file (Ray's example sleeps 0.1 s a step;
    left out here)."""

    def setup(self, config: dict[str, Any]) -> None:
        self.timestep = 0

    def step(self) -> dict[str, Any]:
        self.timestep += 1
        v = np.tanh(float(self.timestep) / self.config.get("width", 1))
        v *= self.config.get("height", 1)
        return {"episode_reward_mean": v}

    def save_checkpoint(self, checkpoint_dir: str) -> str:
        path = os.path.join(checkpoint_dir, "checkpoint")
        with open(path, "w") as f:
            f.write(json.dumps({"timestep": self.timestep}))
        return path

    def load_checkpoint(self, checkpoint_path: str) -> None:
        with open(checkpoint_path) as f:
            self.timestep = json.loads(f.read())["timestep"]


@pytest.mark.slow
def test_rays_bohb_example_runs_with_imports_changed(tmp_path: Path) -> None:
    """Ray's `python/ray/tune/examples/bohb_example.py` (Ray 2.x): `from ray import air, tune`
    -> `import tuner as air, tuner as tune`; `HyperBandForBOHB` from `schedulers`, `TuneBOHB`
    from `searchers`; `ray.init` dropped. Real worker processes (the default executor)."""
    air = tune
    config = {
        "iterations": 100,
        "width": tune.uniform(0, 20),
        "height": tune.uniform(-100, 100),
        "activation": tune.choice(["relu", "tanh"]),
    }
    bohb_hyperband = HyperBandForBOHB(
        time_attr="training_iteration",
        max_t=100,
        reduction_factor=4,
        stop_last_trials=False,
    )
    bohb_search = TuneBOHB(
        # space=config_space,  # If you want to set the space manually
    )
    bohb_search = ConcurrencyLimiter(bohb_search, max_concurrent=4)  # type: ignore[assignment]
    tuner = tune.Tuner(
        MyTrainableClass,
        run_config=air.RunConfig(name="bohb_test", stop={"training_iteration": 100},
                                 storage_path=str(tmp_path), verbose=0),
        tune_config=tune.TuneConfig(
            metric="episode_reward_mean",
            mode="max",
            scheduler=bohb_hyperband,
            search_alg=bohb_search,
            num_samples=10,
        ),
        param_space=config,
    )
    results = tuner.fit()
    best = results.get_best_result()
    print("Best hyperparameters found were: ", best.config)
    assert len(results) == 10 and not results.errors
    # Every trial ended at one of the brackets' milestones (or ran on to the stop at 100).
    assert {r.metrics["training_iteration"] for r in results} <= {1, 4, 6, 16, 24, 25, 100}
    assert best.metrics["training_iteration"] == 100  # the winner ran on to the stop
    assert best.metrics["episode_reward_mean"] == max(
        r.metrics["episode_reward_mean"] for r in results
        if r.metrics["training_iteration"] == 100)
    assert set(best.config) == {"iterations", "width", "height", "activation"}
