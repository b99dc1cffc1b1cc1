"""Each scheduler through an interrupted experiment and `Tuner.restore`: its state carries over.

The first Ctrl-C is simulated by a callback that sends SIGINT to this process after N results
(as `tests/tuner/test_restore.py` does); the experiment pauses its trials and saves. The restore
rebuilds the scheduler from code (the same class and arguments) and loads its saved state.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from schedulers import (
    PB2,
    ASHAScheduler,
    HyperBandScheduler,
    MedianStoppingRule,
    PopulationBasedTraining,
    TrialScheduler,
)
from tuner import (
    Callback,
    Checkpoint,
    InProcessExecutor,
    RunConfig,
    SimulatedExecutor,
    TuneConfig,
    Tuner,
    get_checkpoint,
    grid_search,
    report,
    uniform,
)


class InterruptAfter(Callback):
    """Interrupts the experiment (as the first Ctrl-C would) after `n` results."""

    def __init__(self, n: int) -> None:
        self.n = n

    def on_trial_result(self, trial: Any, result: Any) -> None:
        self.n -= 1
        if self.n == 0:
            os.kill(os.getpid(), signal.SIGINT)


def counter(config: dict[str, Any]) -> None:
    """Adds `rate` to a value each step; checkpoints {step, value} every step."""
    step, value = 0, 0.0
    checkpoint = get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as d:
            state = json.loads(Path(d, "state.json").read_text())
        step, value = state["step"], state["value"]
    start = step
    while step < config["steps"]:
        step += 1
        value += config["rate"]
        with tempfile.TemporaryDirectory() as d:
            Path(d, "state.json").write_text(json.dumps({"step": step, "value": value}))
            # A step takes a second of virtual time on the SimulatedExecutor (PBT's runs).
            report({"value": value, "step": step, "start": start, "rate": config["rate"],
                    "time_this_iter_s": 1.0}, checkpoint=Checkpoint.from_directory(d))


RATES = [0.5, 1.0, 3.0, 2.0, 5.0, 4.0, 1.5, 6.0]

SCHEDULERS: dict[str, Callable[[], TrialScheduler]] = {
    "asha": lambda: ASHAScheduler(max_t=9, grace_period=1, reduction_factor=3),
    "hyperband": lambda: HyperBandScheduler(max_t=9, reduction_factor=3),
    "median": lambda: MedianStoppingRule(time_attr="training_iteration", grace_period=2,
                                         min_samples_required=1),
    "pbt": lambda: PopulationBasedTraining(
        time_attr="training_iteration", perturbation_interval=3, quantile_fraction=0.5,
        hyperparam_mutations={"rate": uniform(0.0, 6.0)}, seed=3),
    "pb2": lambda: PB2(time_attr="training_iteration", perturbation_interval=3,
                       quantile_fraction=0.5, hyperparam_bounds={"rate": [0.0, 6.0]}, seed=3),
}
POPULATION = {"pbt": 4, "pb2": 4}  # PBT needs its population alive at once


def make_executor(kind: str) -> Any:
    """One trial at a time; PBT's population at once, in virtual time, so that where the
    interrupt falls (and what is left to exploit after it) does not depend on thread timing."""
    if kind in POPULATION:
        return SimulatedExecutor(n_workers=POPULATION[kind])
    return InProcessExecutor(max_concurrent=1)


class InterruptOnFirstPerturbation(Callback):
    """Interrupts the experiment as soon as PBT logged its first perturbation."""

    def __init__(self, policy: Path) -> None:
        self.policy = policy
        self.sent = False

    def on_trial_result(self, trial: Any, result: Any) -> None:
        if not self.sent and self.policy.exists():
            self.sent = True
            os.kill(os.getpid(), signal.SIGINT)


def run_interrupted(
    tmp_path: Path, kind: str, rates: list[float], interrupt_after: int | None
) -> str:
    executor = make_executor(kind)
    trigger: Callback = (
        InterruptAfter(interrupt_after)
        if interrupt_after is not None
        else InterruptOnFirstPerturbation(tmp_path / kind / "pbt_policy.jsonl")
    )
    first = Tuner(
        counter,
        param_space={"rate": grid_search(rates), "steps": 9},
        tune_config=TuneConfig(metric="value", mode="max", scheduler=SCHEDULERS[kind]()),
        run_config=RunConfig(storage_path=str(tmp_path), name=kind, verbose=0,
                             callbacks=[trigger]),
        executor=executor,
    ).fit()
    assert {r.status for r in first} != {"TERMINATED"}, "the interrupt came too late"
    return str(tmp_path / kind)


def restore(path: str, kind: str) -> tuple[Any, TrialScheduler]:
    scheduler = SCHEDULERS[kind]()
    grid = Tuner.restore(
        path, counter, tune_config=TuneConfig(scheduler=scheduler),
        executor=make_executor(kind),
    ).fit()
    assert {r.status for r in grid} == {"TERMINATED"}
    return grid, scheduler


def test_asha_keeps_its_rungs_across_a_restore(tmp_path: Path) -> None:
    path = run_interrupted(tmp_path, "asha", RATES, interrupt_after=14)
    grid, asha = restore(path, "asha")
    assert len(grid) == len(RATES)
    # Rung 1 recorded every trial, before and after the interrupt, so later ones were judged
    # against earlier ones: the worst of the late trials stopped at the first rung.
    first_rung = asha.state_dict()["recorded"][0][0]
    assert set(first_rung) == {r.trial_id for r in grid}
    final = {r.config["rate"]: r.metrics["training_iteration"] for r in grid}
    assert final[6.0] == 9
    assert final[1.5] == 1


def test_hyperband_keeps_its_brackets_across_a_restore(tmp_path: Path) -> None:
    # Interrupted while the second bracket (5 trials, milestone 3) is filling.
    path = run_interrupted(tmp_path, "hyperband", RATES, interrupt_after=33)
    grid, hyperband = restore(path, "hyperband")
    final = {r.config["rate"]: r.metrics["training_iteration"] for r in grid}
    assert {rate: final[rate] for rate in (0.5, 1.0, 3.0)} == {0.5: 9, 1.0: 9, 3.0: 9}
    assert final[5.0] == final[6.0] == 9
    assert max(final[rate] for rate in (2.0, 4.0, 1.5)) < 9
    brackets = hyperband.state_dict()["bands"][0]
    assert [len(b["trials"]) for b in brackets] == [3, 5]
    assert brackets[1]["level"] == 1


def test_median_rule_keeps_its_history_across_a_restore(tmp_path: Path) -> None:
    rates = [1.0, 1.1, -5.0, 1.2, -4.0]
    path = run_interrupted(tmp_path, "median", rates, interrupt_after=12)
    grid, median = restore(path, "median")
    final = {r.config["rate"]: r.metrics["training_iteration"] for r in grid}
    assert {rate: final[rate] for rate in (1.0, 1.1, 1.2, -5.0)} == {1.0: 9, 1.1: 9, 1.2: 9, -5.0: 2}
    # A result that arrives while the interrupt pauses trials is recorded but not judged: the
    # last trial may be stopped one step later than without the interrupt.
    assert final[-4.0] in (2, 3)
    assert set(median.state_dict()["results"]) == {r.trial_id for r in grid}


@pytest.mark.parametrize("kind", ["pbt", "pb2"])
def test_pbt_keeps_its_population_across_a_restore(tmp_path: Path, kind: str) -> None:
    path = run_interrupted(tmp_path, kind, [0.1, 0.2, 3.0, 4.0], interrupt_after=None)
    before = Path(path, "pbt_policy.jsonl").read_text().splitlines()
    assert before, "PBT exploited before the interrupt"
    grid, pbt = restore(path, kind)
    assert {r.metrics["training_iteration"] for r in grid} == {9}
    after = Path(path, "pbt_policy.jsonl").read_text().splitlines()
    assert after[: len(before)] == before, "the restored run appends to the same policy file"
    assert len(after) > len(before), "the restored run went on exploiting"
    # The slow starters were exploited, before or after the interrupt.
    assert grid[0].config["rate"] != 0.1 and grid[1].config["rate"] != 0.2
    assert pbt.state_dict()["trials"] == {}, "every trial ended and was dropped"
