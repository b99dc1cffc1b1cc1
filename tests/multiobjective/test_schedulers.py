"""Schedulers under several objectives and constraints: MO-ASHA's rungs, HyperBand's halving,
the median rule and PBT's quantiles rank by constrained non-dominated sorting; each passes the
scheduler contract on the real loop."""

from __future__ import annotations

from typing import Any

import pytest

from schedulers import (
    ASHAScheduler,
    Decision,
    HyperBandScheduler,
    MedianStoppingRule,
    PopulationBasedTraining,
    TrialScheduler,
    TrialStatus,
    TrialSuggestion,
    TrialView,
    WaitingList,
)
from searchers import uniform
from searchers._constraints import parse_constraints
from tuner import ConfigError, RunConfig, SimulatedExecutor, TuneConfig, Tuner
from tuner.testing import SchedulerContract

CONTINUE, PAUSE, STOP = Decision.CONTINUE, Decision.PAUSE, Decision.STOP
MO = {"metric": ["a", "b"], "mode": ["min", "min"]}


def view(trial_id: str, status: TrialStatus = TrialStatus.RUNNING) -> TrialView:
    return TrialView(trial_id, {"x": 0.5}, status, has_checkpoint=True)


def result(it: int, a: float, b: float, **more: float) -> dict[str, float]:
    return {"training_iteration": it, "a": a, "b": b, **more}


# ----------------------------------------------------------------------------- MO-ASHA
def test_mo_asha_keeps_the_best_fraction_of_a_rung_by_non_dominated_rank() -> None:
    asha = ASHAScheduler(max_t=9, grace_period=1, reduction_factor=2, **MO)
    for t in "pqrs":
        asha.on_trial_add(view(t))
    # Rung 1 keeps ceil(n / 2) of the n trials recorded there, itself included.
    assert asha.on_trial_result(view("p"), result(1, 1, 1)) is CONTINUE  # alone
    assert asha.on_trial_result(view("q"), result(1, 2, 2)) is STOP  # dominated by p; keep 1
    # r = (0, 3) is on the front with p: the first two of 3 are {p, r}.
    assert asha.on_trial_result(view("r"), result(1, 0, 3)) is CONTINUE
    # s = (3, 0) joins the front too; keep ceil(4 / 2) = 2 of p, r, s, q: the epsilon-net
    # takes the front's two ends (r and s) before its middle (p).
    assert asha.on_trial_result(view("s"), result(1, 3, 0)) is CONTINUE


def test_mo_asha_puts_feasible_trials_first() -> None:
    asha = ASHAScheduler(max_t=9, grace_period=1, reduction_factor=2, metric="a", mode="min")
    asha.set_constraints(parse_constraints(["mem <= 100"]))
    asha.on_trial_result(view("p"), result(1, 5, 0, mem=50))
    # A better loss does not save an infeasible trial: it ranks after every feasible one.
    assert asha.on_trial_result(view("q"), result(1, 0, 0, mem=500)) is STOP
    # Among infeasible trials the smaller violation ranks first.
    assert asha.on_trial_result(view("r"), result(1, 9, 0, mem=10)) is CONTINUE


# ----------------------------------------------------------------------------- HyperBand
def test_hyperband_halves_a_bracket_by_non_dominated_rank() -> None:
    hb = HyperBandScheduler(max_t=9, reduction_factor=3, **MO)
    ids = [f"t{i}" for i in range(8)]
    for t in ids:
        hb.on_trial_add(view(t, TrialStatus.PENDING))
    # t3..t7 fill the second bracket (5 trials, milestone 3): keep ceil(5 / 3) = 2.
    points = {"t3": (1, 1), "t4": (2, 2), "t5": (0.5, 3), "t6": (3, 3), "t7": (2, 0.9)}
    decisions = [hb.on_trial_result(view(t), result(3, *p)) for t, p in points.items()]
    # t3, t5 and t7 are the front; the epsilon-net keeps its two ends, t5 and t7; t7, the
    # last to arrive, goes on at once.
    assert decisions == [PAUSE, PAUSE, PAUSE, PAUSE, CONTINUE]
    waiting = WaitingList([view(t, TrialStatus.PAUSED) for t in ("t3", "t4", "t5", "t6")])
    stops = [hb.suggest(waiting) for _ in range(3)]
    assert sorted(s.trial_id for s in stops if s is not None) == ["t3", "t4", "t6"]
    assert all(s is not None and s.kind.value == "STOP" for s in stops)
    assert hb.suggest(waiting) == TrialSuggestion.run("t5")


# ----------------------------------------------------------------------------- median rule
def test_median_rule_stops_a_trial_in_the_worse_half_of_the_averages() -> None:
    rule = MedianStoppingRule("training_iteration", grace_period=1, min_samples_required=2, **MO)
    for t, p in {"p": (1, 1), "q": (1.2, 1.1)}.items():
        for it in (1, 2):
            assert rule.on_trial_result(view(t), result(it, *p)) in (CONTINUE, PAUSE)
    # Dominated by both others' averages: the worse half.
    assert rule.on_trial_result(view("bad"), result(1, 3, 3)) is STOP
    # On the front with them: the better half.
    assert rule.on_trial_result(view("good"), result(1, 0.1, 5)) is CONTINUE


# ----------------------------------------------------------------------------- PBT
def test_pbt_exploits_from_the_front_into_dominated_trials() -> None:
    pbt = PopulationBasedTraining(
        "training_iteration", perturbation_interval=2, quantile_fraction=0.25,
        hyperparam_mutations={"x": uniform(0, 1)}, seed=0, **MO,
    )
    points = {"p": (1, 1), "q": (0.5, 2), "r": (3, 3), "s": (2, 0.5)}
    for t in points:
        pbt.on_trial_add(view(t, TrialStatus.PENDING))
    decisions = {t: pbt.on_trial_result(view(t), result(2, *p)) for t, p in points.items()}
    # Of 4 trials the bottom quarter is one: r, dominated by all; it exploits one of the top
    # quarter (one trial of the front).
    assert decisions["r"] is PAUSE
    suggestion = pbt.suggest(WaitingList([view("r", TrialStatus.PAUSED)]))
    assert suggestion is not None and suggestion.checkpoint_trial_id in {"p", "q", "s"}


# ----------------------------------------------------------------------------- refusals
def test_schedulers_of_one_objective_say_so() -> None:
    from schedulers import PB2

    with pytest.raises(ValueError, match=r"PB2 optimises one metric, got metric=\['a', 'b'\]"):
        PB2(hyperparam_bounds={"x": [0, 1]}, **MO)

    class Mine(TrialScheduler):
        def on_trial_result(self, trial: TrialView, result: Any) -> Decision:
            return CONTINUE

    tuner = Tuner(
        lambda config: None, param_space={},
        tune_config=TuneConfig(scheduler=Mine(), constraints=["a <= 1"], metric="a", mode="min"),
        run_config=RunConfig(verbose=0, storage_path="memory://mo-refusal"),
        executor=SimulatedExecutor(n_workers=1),
    )
    with pytest.raises(ConfigError, match="Mine does not rank trials by constraints"):
        tuner.fit()


# ----------------------------------------------------------------------------- the contract
class _MultiObjective(SchedulerContract):
    metric = ("loss", "time_this_iter_s")  # a step takes 1 + x seconds
    mode = ("min", "min")
    constraints = ("time_this_iter_s <= 1.8",)  # x <= 0.8


class TestMOASHA(_MultiObjective):
    def make_scheduler(self) -> TrialScheduler:
        return ASHAScheduler(max_t=9, grace_period=1, reduction_factor=2)


class TestMOHyperBand(_MultiObjective):
    def make_scheduler(self) -> TrialScheduler:
        return HyperBandScheduler(max_t=9, reduction_factor=3)


class TestMOMedianStoppingRule(_MultiObjective):
    def make_scheduler(self) -> TrialScheduler:
        return MedianStoppingRule("training_iteration", grace_period=2, min_samples_required=2)


class TestMOPopulationBasedTraining(_MultiObjective):
    def make_scheduler(self) -> TrialScheduler:
        return PopulationBasedTraining(
            "training_iteration", perturbation_interval=2,
            hyperparam_mutations={"x": uniform(0.0, 1.0)}, seed=0,
        )


# ----------------------------------------------------------------------------- restore
def _two_objectives(config: dict[str, Any]) -> None:
    from tuner import report

    for step in range(1, 7):
        report({"a": config["x"] / step, "b": (1 - config["x"]) / step,
                "mem": 100 * config["x"], "time_this_iter_s": 1.0})


def test_a_multi_objective_experiment_restores_with_its_objectives_and_constraints(
    tmp_path: Any,
) -> None:
    import json

    from tuner import Callback

    class StopAfter(Callback):
        def __init__(self) -> None:
            self.n = 0

        def on_trial_result(self, iteration: int, trials: Any, trial: Any, result: Any,
                            **info: Any) -> None:
            self.n += 1
            if self.n == 20:
                raise RuntimeError("the driver fails")

    config = TuneConfig(metric=["a", "b"], mode=["min", "min"], constraints=["mem <= 80"],
                        num_samples=12, seed=0,
                        scheduler=ASHAScheduler(max_t=6, grace_period=1, reduction_factor=2))
    with pytest.raises(RuntimeError, match="the driver fails"):
        Tuner(_two_objectives, param_space={"x": uniform(0, 1)}, tune_config=config,
              run_config=RunConfig(storage_path=str(tmp_path), name="mo", verbose=0,
                                   callbacks=[StopAfter()]),
              executor=SimulatedExecutor(n_workers=2)).fit()
    state_file = max((tmp_path / "mo").glob("experiment_state-*.json"),
                     key=lambda p: json.loads(p.read_text())["sequence"])
    settings = json.loads(state_file.read_text())["settings"]
    assert (settings["metric"], settings["mode"], settings["constraints"]) == (
        ["a", "b"], ["min", "min"], ["mem <= 80"]
    )
    restored = Tuner.restore(str(tmp_path / "mo"), _two_objectives,
                             tune_config=TuneConfig(scheduler=ASHAScheduler(
                                 max_t=6, grace_period=1, reduction_factor=2)),
                             executor=SimulatedExecutor(n_workers=2))
    grid = restored.fit()
    assert len(grid) == 12 and {r.status for r in grid} == {"TERMINATED"}
    scheduler = restored._tune_config.scheduler  # the one the restored run used
    assert scheduler is not None
    assert scheduler.metric == ["a", "b"]
    assert [str(c) for c in scheduler.constraints] == ["mem <= 80.0"]
