"""Every scheduler through the scheduler contract (`tuner.testing.SchedulerContract`).

Each class runs the contract's checks on one built-in scheduler, through the real `Tuner` on
simulated workers in virtual time; see `tuner/testing/_scheduler_contract.py` for what is
checked.
"""

from __future__ import annotations

import gc
import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from schedulers import (
    DEHB,
    PB2,
    ASHAScheduler,
    AsyncHyperBandScheduler,
    Decision,
    FIFOScheduler,
    HyperBandScheduler,
    MedianStoppingRule,
    PopulationBasedTraining,
    PopulationBasedTrainingReplay,
    TrialScheduler,
    TrialStatus,
    TrialSuggestion,
    TrialView,
    WaitingList,
    WaitingTrials,
)
from searchers import uniform
from tuner import Callback, RunConfig, SimulatedExecutor, TuneConfig, Tuner
from tuner.testing import SchedulerContract, contract_trainable
from tuner.testing._runs import InterruptAfter, saved_trials


class TestFIFOScheduler(SchedulerContract):
    def make_scheduler(self) -> TrialScheduler:
        return FIFOScheduler()


class TestASHAScheduler(SchedulerContract):
    def make_scheduler(self) -> TrialScheduler:
        return ASHAScheduler(max_t=9, grace_period=1, reduction_factor=2)


class TestAsyncHyperBandWithBracketsInMaxMode(SchedulerContract):
    metric = "score"
    mode = "max"

    def make_scheduler(self) -> TrialScheduler:
        # Its own metric and mode, agreeing with the TuneConfig's.
        return AsyncHyperBandScheduler(
            metric="score", mode="max", max_t=9, grace_period=1, reduction_factor=2, brackets=2
        )


class TestHyperBandScheduler(SchedulerContract):
    def make_scheduler(self) -> TrialScheduler:
        return HyperBandScheduler(max_t=9, reduction_factor=3)


class TestMedianStoppingRule(SchedulerContract):
    def make_scheduler(self) -> TrialScheduler:
        return MedianStoppingRule(
            "training_iteration", grace_period=2, min_samples_required=2
        )


class TestMedianStoppingRuleThatPauses(SchedulerContract):
    def make_scheduler(self) -> TrialScheduler:
        return MedianStoppingRule(
            "training_iteration", grace_period=2, min_samples_required=2, hard_stop=False
        )


class TestPopulationBasedTraining(SchedulerContract):
    def make_scheduler(self) -> TrialScheduler:
        return PopulationBasedTraining(
            "training_iteration",
            perturbation_interval=2,
            hyperparam_mutations={"x": uniform(0.0, 1.0)},
            seed=0,
        )


class TestSynchronousPopulationBasedTraining(SchedulerContract):
    def make_scheduler(self) -> TrialScheduler:
        return PopulationBasedTraining(
            "training_iteration",
            perturbation_interval=2,
            hyperparam_mutations={"x": [0.1, 0.3, 0.5, 0.9]},
            synch=True,
            seed=0,
        )


class TestPB2(SchedulerContract):
    def make_scheduler(self) -> TrialScheduler:
        return PB2(
            "training_iteration",
            perturbation_interval=2,
            hyperparam_bounds={"x": [0.0, 1.0]},
            seed=0,
        )


class TestHyperBandWithAClassTrainable(SchedulerContract):
    trainable_kind = "class"

    def make_scheduler(self) -> TrialScheduler:
        return HyperBandScheduler(max_t=9, reduction_factor=3)


class TestPopulationBasedTrainingWithAClassTrainable(SchedulerContract):
    trainable_kind = "class"

    def make_scheduler(self) -> TrialScheduler:
        return PopulationBasedTraining(
            "training_iteration",
            perturbation_interval=2,
            hyperparam_mutations={"x": uniform(0.0, 1.0)},
            seed=0,
        )


REPLAYED = [
    {"target_trial_id": "b", "donor_trial_id": "a", "target_iteration": 3,
     "donor_iteration": 3, "old_config": {"x": 0.9}, "new_config": {"x": 0.5}},
    {"target_trial_id": "b", "donor_trial_id": "c", "target_iteration": 6,
     "donor_iteration": 6, "old_config": {"x": 0.5}, "new_config": {"x": 0.3}},
]


class TestPopulationBasedTrainingReplay(SchedulerContract):
    num_samples = 1  # it replays one trial
    fail_trial = None
    interrupt_after = 4

    def make_scheduler(self) -> TrialScheduler:
        return PopulationBasedTrainingReplay(REPLAYED)

    def param_space(self) -> dict[str, Any]:
        return dict(PopulationBasedTrainingReplay(REPLAYED).config)


# ---------------------------------------------------------------------------- beyond the contract
@pytest.mark.parametrize(
    "contract",
    [TestASHAScheduler, TestHyperBandScheduler, TestMedianStoppingRule,
     TestSynchronousPopulationBasedTraining, TestPB2],
    ids=["asha", "hyperband", "median", "pbt", "pb2"],
)
def test_a_second_end_hook_changes_nothing(
    contract: type[SchedulerContract], tmp_path: Path
) -> None:
    """The loop tells a scheduler of each end once; a second call (from a loop of one's own,
    or a test) is ignored by the built-in schedulers."""
    run = contract().run_experiment(tmp_path)
    scheduler = run.recorder.scheduler
    before = json.dumps(scheduler.state_dict(), sort_keys=True)
    for trial in saved_trials(run.path):
        view = TrialView(trial["trial_id"], trial["config"], TrialStatus(trial["status"]),
                         trial["last_result"], bool(trial["checkpoints"]))
        scheduler.on_trial_remove(view)
        scheduler.on_trial_error(view)
        scheduler.on_trial_complete(view, view.last_result)
    assert json.dumps(scheduler.state_dict(), sort_keys=True) == before
    assert scheduler.suggest(WaitingList([])) is None


class RaiseOnResult(Callback):
    """Fails in `on_trial_result` at the `n`-th result, as a buggy callback would."""

    def __init__(self, n: int) -> None:
        self.n = n

    def on_trial_result(self, iteration: int, trials: Any, trial: Any, result: Any,
                        **info: Any) -> None:
        self.n -= 1
        if self.n == 0:
            raise RuntimeError("a callback failed")


def test_a_callback_error_keeps_no_result_from_result_json(tmp_path: Path) -> None:
    """Every callback hears of a result, the loggers after one that raised among them: the
    loop counted it as written, and the restored run trusts that count."""
    with pytest.raises(RuntimeError, match="a callback failed"):
        Tuner(
            contract_trainable,
            param_space={"x": 0.5, "iterations": 6},
            tune_config=TuneConfig(metric="loss", mode="min"),
            run_config=RunConfig(storage_path=str(tmp_path), name="cb", verbose=0,
                                 callbacks=[RaiseOnResult(3)]),
            executor=SimulatedExecutor(n_workers=1),
        ).fit()
    grid = Tuner.restore(str(tmp_path / "cb"), contract_trainable,
                         executor=SimulatedExecutor(n_workers=1)).fit()
    rows = [json.loads(line) for line in Path(grid[0].path, "result.json").read_text().splitlines()]
    assert [row["training_iteration"] for row in rows] == [1, 2, 3, 4, 5, 6]


def test_a_crash_out_of_fit_leaves_no_file_open(tmp_path: Path) -> None:
    """A second Ctrl-C (a KeyboardInterrupt out of the loop) still closes the loggers' files."""
    with pytest.raises(KeyboardInterrupt):
        Tuner(
            contract_trainable,
            param_space={"x": 0.5, "iterations": 6},
            tune_config=TuneConfig(metric="loss", mode="min"),
            run_config=RunConfig(storage_path=str(tmp_path), name="crash", verbose=0,
                                 callbacks=[InterruptAfter(3, crash=True)]),
            executor=SimulatedExecutor(n_workers=1),
        ).fit()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


# ---------------------------------------------------------------------------- the contract's teeth
class _NotJSONState(FIFOScheduler):
    def state_dict(self) -> dict[str, Any]:
        return {"seen": (1, 2)}  # a tuple: a list after a round trip through the state file


class _StopsTheFinished(FIFOScheduler):
    def __init__(self) -> None:
        super().__init__()
        self.done: list[str] = []

    def on_trial_complete(self, trial: TrialView, result: Any) -> None:
        self.done.append(trial.trial_id)

    def suggest(self, waiting: WaitingTrials) -> TrialSuggestion | None:
        if self.done:
            return TrialSuggestion.stop(self.done[-1])
        return super().suggest(waiting)


class _Unseeded(FIFOScheduler):
    def on_trial_result(self, trial: TrialView, result: Any) -> Decision:
        import random

        return Decision.STOP if random.random() < 0.2 else Decision.CONTINUE


def _contract(scheduler: type[TrialScheduler]) -> SchedulerContract:
    class Contract(SchedulerContract):
        def make_scheduler(self) -> TrialScheduler:
            return scheduler()

    return Contract()


def test_the_contract_catches_a_state_that_is_not_json(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match=r"state_dict\(\)\['seen'\] is \(1, 2\)"):
        _contract(_NotJSONState).test_state_is_json_and_loads_back(tmp_path)


def test_the_contract_catches_decisions_on_finished_trials(tmp_path: Path) -> None:
    with pytest.raises(AssertionError,
                       match=r"suggest for trial \S+ after its on_trial_complete"):
        _contract(_StopsTheFinished).test_decisions_touch_only_live_trials(tmp_path)


def test_the_contract_catches_decisions_that_differ_between_runs(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="decisions of two runs differ"):
        _contract(_Unseeded).test_same_seeds_same_decisions(tmp_path)


# ---------------------------------------------------------------------------- DEHB
class TestDEHB(SchedulerContract):
    # With max_t=9, min_t=1, eta=3 and 4 workers: trials 0-8 run to budget 1, the later ones
    # to 3 and 9 (the first bracket's rungs interleave with the next brackets' first rungs).
    num_samples = 20
    fail_trial = 17  # fails at step 4 of its 9, twice: its job counts with its last result
    interrupt_after = 20  # about a third of the results

    def make_scheduler(self) -> TrialScheduler:
        return DEHB(max_t=9, min_t=1, reduction_factor=3, seed=0)


class TestDEHBWithAClassTrainableInMaxMode(TestDEHB):
    trainable_kind = "class"
    metric = "score"
    mode = "max"
