"""PopulationBasedTraining: exploit/explore with a fixed seed, sync mode, records, bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from schedulers import (
    Decision,
    PopulationBasedTraining,
    TrialStatus,
    TrialSuggestion,
    TrialView,
    WaitingList,
)
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


def resume(pbt: PopulationBasedTraining, *waiting: TrialView) -> TrialSuggestion | None:
    """What PBT suggests when a worker is free and `waiting` (default PAUSED) trials wait."""
    return pbt.suggest(WaitingList(waiting))


def paused(trial_id: str) -> TrialView:
    return view(trial_id, status=TrialStatus.PAUSED)


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
    assert report(pbt, trials["b"], 2, 5) is PAUSE
    assert report(pbt, trials["c"], 2, 1) is PAUSE
    assert report(pbt, trials["d"], 2, 7) is PAUSE
    # Each paused trial resumes with what was decided for it: b and c from a's checkpoint.
    assert resume(pbt, paused("b")) == TrialSuggestion.run(
        "b",
        config={"lr": 0.1, "momentum": pytest.approx(0.6), "batch": 38},
        checkpoint_trial_id="a",
    )
    assert resume(pbt, paused("c")) == TrialSuggestion.run(
        "c",
        config={"lr": 0.1, "momentum": pytest.approx(0.4), "batch": 25},
        checkpoint_trial_id="a",
    )
    assert resume(pbt, paused("d")) == TrialSuggestion.run("d")
    assert resume(pbt, paused("b")) is None  # b runs already: nothing waits


def test_same_seed_same_exploits_other_seed_may_differ() -> None:
    def run(seed: int) -> list[Any]:
        pbt = make(seed=seed, resample_probability=0.5)
        out = []
        for i, acc in enumerate([9, 1, 2, 3, 8, 0, 5, 4]):
            trial = view(f"t{i}")
            pbt.on_trial_add(trial)
            if report(pbt, trial, 2, acc) is PAUSE:
                out.append(resume(pbt, paused(trial.trial_id)))
        return out

    assert run(3) == run(3)
    assert any(s is not None and s.exploits for s in run(3))


def test_a_donor_without_checkpoint_is_never_exploited() -> None:
    pbt = make()
    a, b = view("a", ckpt=False), view("b")
    pbt.on_trial_add(a)
    pbt.on_trial_add(b)
    assert report(pbt, a, 2, 10) is CONTINUE
    assert report(pbt, b, 2, 1) is CONTINUE  # no exploit, and nobody waits: it goes on


def test_perturbation_interval_and_burn_in() -> None:
    pbt = make(burn_in_period=4)
    a, b = view("a"), view("b")
    for it in (2, 3):
        assert report(pbt, a, it, 10) is CONTINUE
        assert report(pbt, b, it, 1) is CONTINUE
    assert report(pbt, a, 4, 10) is CONTINUE
    assert report(pbt, b, 4, 1) is PAUSE  # first interval after burn-in
    suggestion = resume(pbt, paused("b"))
    assert suggestion is not None and suggestion.checkpoint_trial_id == "a"
    # b took over a's last perturbation time (4): its next chance is at 6
    assert report(pbt, b, 5, 0) is CONTINUE


def test_yields_at_an_interval_when_trials_wait() -> None:
    pbt = make()
    pbt.on_trial_add(view("waiting", status=TrialStatus.PENDING))
    a = view("a")
    pbt.on_trial_add(a)
    assert report(pbt, a, 1, 1) is CONTINUE
    assert report(pbt, a, 2, 1) is PAUSE
    waiting = view("waiting", status=TrialStatus.PENDING)
    assert resume(pbt, paused("a"), waiting) == TrialSuggestion.run("waiting")  # least trained
    assert resume(pbt, paused("a"), waiting) == TrialSuggestion.run("a")  # no exploit for it


def test_sync_mode_exploits_together_once_all_reached_the_interval() -> None:
    pbt = make(synch=True)
    trials = {t: view(t) for t in "abcd"}
    for t in trials:
        pbt.on_trial_add(view(t, status=TrialStatus.PENDING))
    assert report(pbt, trials["c"], 2, 1) is PAUSE  # waits for the others
    pending_d = view("d", status=TrialStatus.PENDING)
    assert resume(pbt, paused("c"), pending_d) == TrialSuggestion.run("d")
    assert resume(pbt, paused("c")) is None  # c is at the barrier
    assert report(pbt, trials["a"], 2, 10) is PAUSE
    assert report(pbt, trials["b"], 2, 5) is PAUSE
    assert report(pbt, trials["d"], 2, 7) is PAUSE  # last one: everybody is perturbed
    # The barrier moved on to 4; c, the worst, resumes from a's checkpoint, d as it was.
    suggestion = resume(pbt, paused("c"))
    assert suggestion is not None and suggestion.checkpoint_trial_id == "a"
    assert resume(pbt, paused("d")) == TrialSuggestion.run("d")


def test_sync_mode_does_not_wait_for_ended_trials() -> None:
    pbt = make(synch=True)
    a, b, c = view("a"), view("b"), view("c")
    for trial in (a, b, c):
        pbt.on_trial_add(trial)
    assert report(pbt, a, 2, 10) is PAUSE
    assert report(pbt, b, 2, 1) is PAUSE
    pbt.on_trial_error(c)
    suggestion = resume(pbt, paused("b"))  # the barrier fell with c: b exploits a
    assert suggestion is not None and suggestion.checkpoint_trial_id == "a"


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
    suggestion = resume(pbt, paused("b"))
    assert suggestion is not None and suggestion.config is not None
    assert suggestion.config["lr"] == 42
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
