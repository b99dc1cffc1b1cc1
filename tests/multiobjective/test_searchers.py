"""Which searchers take several objectives and constraints, and how the others refuse them:
random and grid search, BayesOptSearch, the wrappers, and what each docstring says."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from searchers import (
    BasicVariantGenerator,
    BayesOptSearch,
    ConcurrencyLimiter,
    NSGA2Search,
    OptunaSearch,
    Repeater,
    Searcher,
    TPESearch,
    grid_search,
    uniform,
)
from searchers._constraints import parse_constraints
from tuner import RunConfig, SimulatedExecutor, TuneConfig, Tuner, report
from tuner.exceptions import ConfigError

# (several objectives, constraints) of every searcher, as its docstring tells them.
SUPPORT = {
    BasicVariantGenerator: (True, True),
    TPESearch: (True, True),
    NSGA2Search: (True, True),
    OptunaSearch: (True, True),
    BayesOptSearch: (False, False),
}


def two_objectives(config: dict[str, Any]) -> None:
    x, y = config["x"], config.get("y", 0.5)
    report({"f1": x, "f2": (1 - x) ** 2 + y, "memory_mb": 1000 * y, "time_this_iter_s": 1.0})


def fit(search_alg: Searcher | None, tmp_path: Path, *, num_samples: int = 8,
        param_space: dict[str, Any] | None = None) -> Any:
    return Tuner(
        two_objectives,
        param_space=param_space or {"x": uniform(0, 1), "y": uniform(0, 1)},
        tune_config=TuneConfig(metric=["f1", "f2"], mode=["min", "min"],
                               constraints=["memory_mb <= 500"], num_samples=num_samples,
                               search_alg=search_alg),
        run_config=RunConfig(storage_path=str(tmp_path), name="mo", verbose=0),
        executor=SimulatedExecutor(n_workers=2, start_time=0.0),
    ).fit()


@pytest.mark.parametrize("cls", list(SUPPORT))
def test_the_flags_are_what_the_docstring_says(cls: type[Searcher]) -> None:
    several, constrained = SUPPORT[cls]
    assert (cls.supports_multi_objective, cls.supports_constraints) == (several, constrained)
    doc = " ".join((cls.__doc__ or "").split())
    if several:
        assert "everal objectives" in doc and "onstraints" in doc, cls
    else:
        assert "One objective only" in doc, cls


def test_random_search_takes_metric_lists_and_constraints(tmp_path: Path) -> None:
    grid = fit(None, tmp_path)  # the default: BasicVariantGenerator
    assert len(grid) == 8 and not grid.errors
    front = grid.get_pareto_front()
    assert front and all(r.metrics["memory_mb"] <= 500 for r in front)


def test_grid_search_takes_metric_lists_and_constraints(tmp_path: Path) -> None:
    space = {"x": grid_search([0.0, 0.5, 1.0]), "y": grid_search([0.2, 0.8])}
    grid = fit(BasicVariantGenerator(seed=0), tmp_path, num_samples=1, param_space=space)
    assert sorted((r.config["x"], r.config["y"]) for r in grid) == [
        (x, y) for x in (0.0, 0.5, 1.0) for y in (0.2, 0.8)
    ]
    # Feasible (y = 0.2) ones only: (0, 1.2), (0.5, 0.45), (1, 0.2), none dominated.
    assert sorted(r.config["x"] for r in grid.get_pareto_front()) == [0.0, 0.5, 1.0]


def test_bayesopt_optimises_one_objective_and_says_so() -> None:
    with pytest.raises(ValueError, match=r"BayesOptSearch optimises one metric, got metric="):
        BayesOptSearch(metric=["f1", "f2"], mode=["min", "min"])
    searcher = BayesOptSearch(metric="f1", mode="min")
    with pytest.raises(ValueError, match="BayesOptSearch does not take constraints into account"):
        searcher.set_constraints(parse_constraints(["memory_mb <= 500"]))


def test_bayesopt_with_several_objectives_in_tuneconfig_is_a_config_error(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError, match="BayesOptSearch optimises one metric"):
        fit(BayesOptSearch(seed=0), tmp_path)
    with pytest.raises(ConfigError, match="BayesOptSearch does not take constraints"):
        Tuner(
            two_objectives,
            param_space={"x": uniform(0, 1)},
            tune_config=TuneConfig(metric="f1", mode="min", constraints=["memory_mb <= 500"],
                                   search_alg=BayesOptSearch(seed=0)),
            run_config=RunConfig(storage_path=str(tmp_path), name="bo", verbose=0),
            executor=SimulatedExecutor(n_workers=1, start_time=0.0),
        ).fit()


def test_the_wrappers_pass_several_objectives_and_constraints_on(tmp_path: Path) -> None:
    inner = TPESearch(n_startup_trials=3, seed=0)
    limited = ConcurrencyLimiter(inner, max_concurrent=2)
    repeated = Repeater(limited, repeat=2)
    assert repeated.supports_multi_objective and repeated.supports_constraints
    grid = fit(repeated, tmp_path, num_samples=12)
    assert len(grid) == 12 and not grid.errors
    assert inner.metric == ["f1", "f2"] and inner.mode == ["min", "min"]
    assert [str(c) for c in repeated.constraints] == ["memory_mb <= 500.0"]
    assert repeated.metrics == ("f1", "f2", "memory_mb")
    assert len(inner.outcomes) == 6  # one per group of two repeats
    assert not ConcurrencyLimiter(BayesOptSearch(), 1).supports_multi_objective


def test_repeater_averages_each_objective_and_constraint_metric() -> None:
    inner = TPESearch({"x": uniform(0, 1)}, metric=["f1", "f2"], mode=["min", "max"], seed=0)
    repeater = Repeater(inner, repeat=2)
    repeater.set_search_properties(None, None, {})
    repeater.set_constraints(parse_constraints(["memory_mb <= 500"]))
    repeater.suggest("a"), repeater.suggest("b")
    repeater.on_trial_complete("a", {"f1": 1.0, "f2": 4.0, "memory_mb": 400.0})
    repeater.on_trial_complete("b", {"f1": 3.0, "f2": 6.0, "memory_mb": 700.0})
    (_, outcome), = inner.outcomes
    assert outcome.losses == (2.0, -5.0)  # f2 is maximised: its mean, negated
    assert outcome.violation == pytest.approx(50.0) and not outcome.feasible  # mean 550 MB


def test_a_nan_objective_is_not_observed_by_any_model(caplog: pytest.LogCaptureFixture) -> None:
    for searcher in (TPESearch(seed=0), NSGA2Search(seed=0)):
        searcher.set_search_properties(["f1", "f2"], ["min", "min"], {"x": uniform(0, 1)})
        searcher.suggest("a")
        searcher.on_trial_complete("a", {"f1": math.nan, "f2": 1.0})
        assert searcher.observations == []  # type: ignore[attr-defined]
    assert "has no finite metric 'f1'" in caplog.text
