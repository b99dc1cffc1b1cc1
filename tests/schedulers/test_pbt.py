"""PopulationBasedTraining: exploit/explore with a fixed seed, sync mode, records, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from schedulers import Decision, Exploit, PopulationBasedTraining, TrialStatus, TrialView
from schedulers._pbt_explore import explore
from searchers._space import choice, randint, uniform
from tuner import RunConfig, SimulatedExecutor, TuneConfig, Tuner, grid_search
from tuner.testing import RecordingScheduler, contract_trainable
from tuner.testing._runs import saved_statuses

CONTINUE, PAUSE = Decision.CONTINUE, Decision.PAUSE
CONFIG = {"lr": 0.01, "momentum": 0.5, "batch": 32}


def view(
    trial_id: str,
    *,
    config: dict[str, Any] | None = None,
    status: TrialStatus = TrialStatus.RUNNING,
    ckpt: bool = True,
) -> TrialView:
    return TrialView(trial_id, dict(config or CONFIG), status, has_checkpoint=ckpt)


def make(**kwargs: Any) -> PopulationBasedTraining:
    base: dict[str, Any] = {
        "time_attr": "training_iteration",
        "metric": "acc",
        "mode": "max",
        "perturbation_interval": 2,
        "hyperparam_mutations": {
            "lr": [0.001, 0.01, 0.1],
            "momentum": uniform(0, 1),
            "batch": lambda: 64,
        },
        "resample_probability": 0.0,
        "seed": 0,
    }
    return PopulationBasedTraining(**{**base, **kwargs})


def report(pbt: PopulationBasedTraining, trial: TrialView, it: int, acc: float) -> Decision:
    return pbt.on_trial_result(trial, {"training_iteration": it, "acc": acc})


def test_bottom_trials_exploit_the_top_one_with_a_fixed_seed() -> None:
    """4 trials, quantile 0.25 -> ceil(4 * 0.25) = 1 trial in each quantile.

    At iteration 2: a=10 (alone: no quantiles), b=5 (bottom of {a, b}: exploits a),
    c=1 (bottom of {c, b, a}: exploits a), d=7 (middle: no exploit, but b and c now wait for a
    worker, so d yields: PAUSE without an exploit). With resample_probability=0, explore shifts
    lr to a neighbour of 0.01 and multiplies momentum and batch by 1.2 or 0.8 (batch stays int).
    """
    pbt = make()
    trials = {t: view(t) for t in "abcd"}
    for trial in trials.values():
        pbt.on_trial_add(trial)
    assert [report(pbt, trials[t], 1, 0) for t in "abcd"] == [CONTINUE] * 4
    assert report(pbt, trials["a"], 2, 10) is CONTINUE
    assert pbt.take_exploit("a") is None
    assert report(pbt, trials["b"], 2, 5) is PAUSE
    assert pbt.take_exploit("b") == Exploit(
        "a", {"lr": 0.1, "momentum": pytest.approx(0.6), "batch": 38}
    )
    assert pbt.take_exploit("b") is None  # handed out once
    assert report(pbt, trials["c"], 2, 1) is PAUSE
    assert pbt.take_exploit("c") == Exploit(
        "a", {"lr": 0.1, "momentum": pytest.approx(0.4), "batch": 25}
    )
    assert report(pbt, trials["d"], 2, 7) is PAUSE
    assert pbt.take_exploit("d") is None
    records = pbt.take_perturbation_records()
    assert [(r["target_trial_id"], r["donor_trial_id"]) for r in records] == [
        ("b", "a"),
        ("c", "a"),
    ]
    assert records[0] == {
        "time": 2.0,
        "target_trial_id": "b",
        "donor_trial_id": "a",
        "target_iteration": 2,
        "donor_iteration": 2,
        "old_config": CONFIG,
        "target_config": CONFIG,
        "new_config": {"lr": 0.1, "momentum": pytest.approx(0.6), "batch": 38},
    }
    json.dumps(records)
    assert pbt.take_perturbation_records() == []


def test_same_seed_same_exploits_other_seed_may_differ() -> None:
    def run(seed: int) -> list[Any]:
        pbt = make(seed=seed, resample_probability=0.5)
        out = []
        for i, acc in enumerate([9, 1, 2, 3, 8, 0, 5, 4]):
            trial = view(f"t{i}")
            pbt.on_trial_add(trial)
            report(pbt, trial, 2, acc)
            out.append(pbt.take_exploit(trial.trial_id))
        return out

    assert run(3) == run(3)
    assert any(e is not None for e in run(3))


def test_a_donor_without_checkpoint_is_never_exploited() -> None:
    pbt = make()
    a, b = view("a", ckpt=False), view("b")
    pbt.on_trial_add(a)
    pbt.on_trial_add(b)
    assert report(pbt, a, 2, 10) is CONTINUE
    assert report(pbt, b, 2, 1) is CONTINUE
    assert pbt.take_exploit("b") is None
    assert pbt.take_perturbation_records() == []


def test_perturbation_interval_and_burn_in() -> None:
    pbt = make(burn_in_period=4)
    a, b = view("a"), view("b")
    for it in (2, 3):
        assert report(pbt, a, it, 10) is CONTINUE
        assert report(pbt, b, it, 1) is CONTINUE
    assert report(pbt, a, 4, 10) is CONTINUE
    assert report(pbt, b, 4, 1) is PAUSE  # first interval after burn-in
    assert pbt.take_exploit("b") is not None
    # b took over a's last perturbation time (4): its next chance is at 6
    assert report(pbt, b, 5, 0) is CONTINUE


def test_yields_at_an_interval_when_trials_wait() -> None:
    pbt = make()
    pbt.on_trial_add(view("waiting", status=TrialStatus.PENDING))
    a = view("a")
    pbt.on_trial_add(a)
    assert report(pbt, a, 1, 1) is CONTINUE
    assert report(pbt, a, 2, 1) is PAUSE
    assert pbt.take_exploit("a") is None
    trials = [view("a", status=TrialStatus.PAUSED), view("waiting", status=TrialStatus.PENDING)]
    assert pbt.choose_trial_to_run(trials) == "waiting"  # least trained first


def test_sync_mode_exploits_together_once_all_reached_the_interval() -> None:
    pbt = make(synch=True)
    trials = {t: view(t) for t in "abcd"}
    for trial in trials.values():
        pbt.on_trial_add(trial)
    assert report(pbt, trials["c"], 2, 1) is PAUSE  # waits for the others
    assert pbt.take_exploit("c") is None
    paused_c = view("c", status=TrialStatus.PAUSED)
    assert pbt.choose_trial_to_run([paused_c, view("d", status=TrialStatus.PENDING)]) == "d"
    assert pbt.choose_trial_to_run([paused_c]) is None  # c is at the barrier
    assert report(pbt, trials["a"], 2, 10) is PAUSE
    assert report(pbt, trials["b"], 2, 5) is PAUSE
    assert report(pbt, trials["d"], 2, 7) is PAUSE  # last one: everybody is perturbed
    assert pbt.take_exploit("d") is None
    exploit = pbt.take_exploit("c")  # asked before c resumes
    assert exploit is not None and exploit.donor_trial_id == "a"
    assert pbt.choose_trial_to_run([paused_c]) == "c"  # the barrier moved on to 4


def test_sync_mode_does_not_wait_for_ended_trials() -> None:
    pbt = make(synch=True)
    a, b, c = view("a"), view("b"), view("c")
    for trial in (a, b, c):
        pbt.on_trial_add(trial)
    assert report(pbt, a, 2, 10) is PAUSE
    assert report(pbt, b, 2, 1) is PAUSE
    pbt.on_trial_error(c)
    exploit = pbt.take_exploit("b")  # the barrier fell with c: b exploits a
    assert exploit is not None and exploit.donor_trial_id == "a"


def test_explore_lists_domains_callables_and_nested() -> None:
    rng = np.random.default_rng(1)
    config = {"opt": {"lr": 3, "name": "sgd"}, "drop": 0.5, "layers": 4, "act": "relu"}
    mutations = {
        "opt": {"lr": [1, 2, 3], "name": choice(["sgd", "adam"])},
        "drop": uniform(0.1, 0.9),
        "layers": randint(1, 8),
        "act": lambda: "gelu",
    }
    for _ in range(50):
        new = explore(
            config, mutations, rng, resample_probability=0.0, perturbation_factors=(2, 0.5)
        )
        assert new["opt"]["lr"] in (2, 3)  # shifted (clamped at the right end)
        assert new["opt"]["name"] in ("sgd", "adam")
        assert new["drop"] in (1.0, 0.25)
        assert new["layers"] in (8, 2) and isinstance(new["layers"], int)
        assert new["act"] == "gelu"  # not a number: always resampled
        assert config["opt"] == {"lr": 3, "name": "sgd"}  # the donor's config is untouched
    for _ in range(50):
        new = explore(config, mutations, rng, resample_probability=1.0, perturbation_factors=(2,))
        assert new["opt"]["lr"] in (1, 2, 3)
        assert 0.1 <= new["drop"] < 0.9
        assert 1 <= new["layers"] < 8
    off_list = explore(
        {"lr": 5}, {"lr": [1, 2]}, rng, resample_probability=0.0, perturbation_factors=(2,)
    )
    assert off_list["lr"] in (1, 2)


def test_custom_explore_fn_runs_last() -> None:
    pbt = make(custom_explore_fn=lambda c: {**c, "lr": 42})
    a, b = view("a"), view("b")
    report(pbt, a, 2, 10)
    report(pbt, b, 2, 1)
    exploit = pbt.take_exploit("b")
    assert exploit is not None and exploit.new_config["lr"] == 42
    broken = make(custom_explore_fn=lambda c: None)
    report(broken, a, 2, 10)
    with pytest.raises(ValueError, match="custom_explore_fn must return"):
        report(broken, b, 2, 1)


def test_config_must_hold_mutated_keys() -> None:
    with pytest.raises(ValueError, match=r"lacks \['momentum'\].*param_space"):
        make().on_trial_add(view("a", config={"lr": 0.1, "batch": 3}))


def test_class_flags() -> None:
    assert PopulationBasedTraining.pauses_trials is True
    assert PopulationBasedTraining.supports_model_based_searchers is False


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"perturbation_interval": 0}, "`perturbation_interval` must be > 0"),
        ({"hyperparam_mutations": {}}, "`hyperparam_mutations` is empty"),
        ({"hyperparam_mutations": {"lr": []}}, "empty list"),
        ({"hyperparam_mutations": {"lr": 0.1}}, "must be a list, a search-space domain"),
        ({"quantile_fraction": 0.6}, r"`quantile_fraction` must be in \(0, 0.5\]"),
        ({"quantile_fraction": 0}, r"`quantile_fraction` must be in \(0, 0.5\]"),
        ({"resample_probability": 2}, r"`resample_probability` must be in \[0, 1\]"),
        ({"perturbation_factors": ()}, "`perturbation_factors` is empty"),
        ({"burn_in_period": -1}, "`burn_in_period` must be >= 0"),
        ({"mode": "best"}, "`mode` must be 'min' or 'max'"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make(**kwargs)


def test_missing_metric_is_named() -> None:
    with pytest.raises(ValueError, match="'acc'"):
        make().on_trial_result(view("a"), {"training_iteration": 2})


@pytest.mark.parametrize("synch", [False, True])
def test_a_population_runs_to_the_end(synch: bool, tmp_path: Path) -> None:
    recorder = RecordingScheduler(
        make(metric="score", synch=synch, hyperparam_mutations={"x": uniform(0.5, 2.0)})
    )
    Tuner(
        contract_trainable,
        param_space={"x": grid_search([0.5 + 0.2 * i for i in range(6)]), "iterations": 10},
        tune_config=TuneConfig(metric="score", mode="max", scheduler=recorder),
        run_config=RunConfig(storage_path=str(tmp_path), name="pbt", verbose=0),
        executor=SimulatedExecutor(n_workers=2),
    ).fit()
    statuses = saved_statuses(str(tmp_path / "pbt"))
    assert set(statuses.values()) == {TrialStatus.TERMINATED}
    assert recorder.problems == [] and recorder.end_problems(statuses) == []
    assert any(decision[0] == "exploit" for decision in recorder.decisions)
