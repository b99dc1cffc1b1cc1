"""TuneBOHB: its settings, its density against hand-computed values, observations per budget,
the model's choice of budget, ConfigSpace spaces, state, and runs through the real Tuner."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from schedulers import ASHAScheduler, HyperBandForBOHB
from searchers import (
    BasicVariantGenerator,
    ConcurrencyLimiter,
    Fidelity,
    Searcher,
    TuneBOHB,
    choice,
    loguniform,
    randint,
    uniform,
)
from searchers._parzen import Parzen
from tuner import ConfigError, RunConfig, SimulatedExecutor, Trainable, TuneConfig, Tuner
from tuner.testing import SearcherContract

FIDELITY = Fidelity("training_iteration", (1, 3, 9))


def bohb(**kwargs: Any) -> TuneBOHB:
    base: dict[str, Any] = {"space": {"x": uniform(0, 1)}, "metric": "loss", "mode": "min",
                            "seed": 0}
    return TuneBOHB(**{**base, **kwargs})


# ----------------------------------------------------------------- settings
def test_bohb_config_takes_hpbandsters_names_and_refuses_others() -> None:
    searcher = bohb(bohb_config={"top_n_percent": 30, "num_samples": 8})
    assert (searcher.config.top_n_percent, searcher.config.num_samples) == (30, 8)
    assert searcher.config.random_fraction == pytest.approx(1 / 3)  # the rest: defaults
    with pytest.raises(ValueError, match=r"unknown keys \['top_n'\]"):
        bohb(bohb_config={"top_n": 30})
    with pytest.raises(ValueError, match=r"top_n_percent.*got 100"):
        bohb(bohb_config={"top_n_percent": 100})
    with pytest.raises(ValueError, match=r"random_fraction.*got 1\.5"):
        bohb(bohb_config={"random_fraction": 1.5})
    with pytest.raises(ValueError, match=r"max_concurrent.*got max_concurrent=-1"):
        bohb(max_concurrent=-1)


def test_max_concurrent_holds_suggestions_back_as_rays_does() -> None:
    searcher = bohb(max_concurrent=2)
    assert isinstance(searcher.suggest("a"), dict)
    assert isinstance(searcher.suggest("b"), dict)
    assert searcher.suggest("c") is None
    searcher.on_trial_complete("a", {"loss": 1.0})
    assert isinstance(searcher.suggest("c"), dict)


# ----------------------------------------------------------------- the density
def test_parzen_bandwidths_and_density_by_hand() -> None:
    """Two observations on [0, 1] at 0.2 and 0.6: each kernel's bandwidth is its larger gap to
    a neighbour, the bounds counting as neighbours except for the outermost points, which take
    their one inner gap (0.4 each), clipped below at 1 / min(100, n + 2) = 0.25; the prior is
    centred at 0.5 with the whole width. Weights 1, 1 and the prior's 1: a third each."""
    low, high = np.zeros(1), np.ones(1)
    good = Parzen(np.array([[0.2], [0.6]]), np.zeros((2, 0), dtype=int), low, high, [], 1.0,
                  np.ones(2))
    assert good.sigma[:, 0] == pytest.approx([0.4, 0.4, 1.0])

    def truncated(x: float, mu: float, sd: float) -> float:
        mass = 0.5 * (math.erf((1 - mu) / (sd * math.sqrt(2))) - math.erf(-mu / (sd * math.sqrt(2))))
        return math.exp(-0.5 * ((x - mu) / sd) ** 2) / (sd * math.sqrt(2 * math.pi)) / mass

    at = 0.3
    by_hand = (truncated(at, 0.2, 0.4) + truncated(at, 0.6, 0.4) + truncated(at, 0.5, 1.0)) / 3
    got = good.log_pdf(np.array([[at]]), np.zeros((1, 0), dtype=int))[0]
    assert got == pytest.approx(math.log(by_hand))


def test_parzen_min_sigma_floors_bandwidths_and_widen_spreads_the_samples() -> None:
    low, high = np.zeros(1), np.ones(1)
    points = np.array([[0.50], [0.501], [0.502], [0.503]])
    floored = Parzen(points, np.zeros((4, 0), dtype=int), low, high, [], 1.0, np.ones(4),
                     min_sigma=0.2)
    assert floored.sigma[:4, 0] == pytest.approx([0.2] * 4)
    # 98 points: bandwidths clipped at 1 / 100 of the width, far from the bounds.
    many = np.linspace(0.49, 0.51, 98)[:, None]
    tight = Parzen(many, np.zeros((98, 0), dtype=int), low, high, [], 1e-9, np.ones(98))
    narrow, _ = tight.sample(np.random.default_rng(0), 2000)
    wide, _ = tight.sample(np.random.default_rng(0), 2000, widen=3.0)
    assert wide.min() >= 0.0 and wide.max() <= 1.0
    assert 2.0 < np.std(wide) / np.std(narrow) < 4.0


# ----------------------------------------------------------------- observations per budget
def run_trial(searcher: TuneBOHB, trial_id: str, losses: dict[int, float],
              last: int | None = None) -> dict[str, Any]:
    config = searcher.suggest(trial_id)
    assert isinstance(config, dict)
    for step, loss in losses.items():
        searcher.on_trial_result(trial_id, {"training_iteration": step, "loss": loss})
    final = last if last is not None else max(losses)
    searcher.on_trial_complete(trial_id, {"training_iteration": final, "loss": losses[final]})
    return config


def test_results_count_at_the_budgets_a_trial_reached_once_each() -> None:
    searcher = bohb()
    searcher.set_fidelity(FIDELITY)
    run_trial(searcher, "a", {1: 0.5, 2: 0.4, 3: 0.3})  # budget 1 and 3; 2 is no budget
    run_trial(searcher, "b", {1: 0.6, 5: 0.2})  # 5 is past budget 3: counted at 3
    run_trial(searcher, "c", {1: 0.7})  # stopped at the first rung
    assert searcher.budgets == [1.0, 3.0]
    assert [loss for _, loss in searcher.observations_at(1)] == [0.5, 0.6, 0.7]
    assert [loss for _, loss in searcher.observations_at(3)] == [0.3, 0.2]


def test_an_errored_trial_keeps_its_budgets_but_not_its_last_result() -> None:
    searcher = bohb()
    searcher.set_fidelity(FIDELITY)
    searcher.suggest("a")
    searcher.on_trial_result("a", {"training_iteration": 1, "loss": 0.5})
    searcher.on_trial_complete("a", {"training_iteration": 3, "loss": 0.1}, error=True)
    assert searcher.budgets == [1.0]
    assert searcher.observations_at(3) == []


def test_without_budgets_the_last_results_are_one_budget() -> None:
    searcher = bohb()
    run_trial(searcher, "a", {1: 0.5, 2: 0.4})
    run_trial(searcher, "b", {1: 0.3})
    assert searcher.budgets == [math.inf]
    assert [loss for _, loss in searcher.observations_at(math.inf)] == [0.4, 0.3]


def fill(searcher: TuneBOHB, budget: int, best_x: float, n: int) -> None:
    """Observe `n` configs at `budget` whose loss is the distance to `best_x` (spread evenly)."""
    points = [{"x": (i + 0.5) / n} for i in range(n)]
    searcher.add_evaluated_points(points, [{"training_iteration": budget,
                                            "loss": abs(p["x"] - best_x)} for p in points])


def suggestions(searcher: TuneBOHB, n: int) -> list[float]:
    xs = []
    for i in range(n):
        config = searcher.suggest(f"s{i}")
        assert isinstance(config, dict)
        xs.append(config["x"])
    return xs


def test_the_model_comes_from_the_largest_budget_with_enough_observations() -> None:
    # Budget 1 says x near 0.2 is good; budget 9 says x near 0.8.
    searcher = bohb(bohb_config={"random_fraction": 0.0})
    searcher.set_fidelity(FIDELITY)
    fill(searcher, 1, best_x=0.2, n=40)
    fill(searcher, 9, best_x=0.8, n=3)  # too few for a model: budget 1 is used
    assert abs(float(np.median(suggestions(searcher, 20))) - 0.2) < 0.1
    fill(searcher, 9, best_x=0.8, n=20)  # now budget 9 has enough
    assert abs(float(np.median(suggestions(searcher, 20))) - 0.8) < 0.1


def test_random_fraction_one_never_uses_the_model() -> None:
    modelled = bohb(bohb_config={"random_fraction": 0.0})
    random = bohb(bohb_config={"random_fraction": 1.0})
    for searcher in (modelled, random):
        searcher.set_fidelity(FIDELITY)
        fill(searcher, 1, best_x=0.5, n=40)
    near = [abs(x - 0.5) for x in suggestions(modelled, 30)]
    spread = [abs(x - 0.5) for x in suggestions(random, 30)]
    assert np.median(near) < 0.1 < np.median(spread)


# ----------------------------------------------------------------- spaces and state
def test_numeric_choices_categories_and_log_domains_round_trip_through_the_model() -> None:
    space = {"lr": loguniform(1e-4, 1e-1), "width": choice([16, 64, 32, 128]),
             "act": choice(["relu", "tanh"]), "layers": randint(1, 5)}
    searcher = TuneBOHB(space, metric="loss", mode="min", seed=3,
                        bohb_config={"random_fraction": 0.0})
    for i in range(40):
        config = searcher.suggest(str(i))
        assert isinstance(config, dict)
        assert 1e-4 <= config["lr"] <= 1e-1 and config["width"] in (16, 32, 64, 128)
        assert config["act"] in ("relu", "tanh") and config["layers"] in range(1, 5)
        loss = abs(math.log10(config["lr"]) + 2) + (config["act"] != "tanh") + \
            abs(config["width"] - 64) / 64
        searcher.on_trial_complete(str(i), {"loss": loss})
    late = [searcher.suggest(f"late{i}") for i in range(20)]
    assert sum(c["act"] == "tanh" for c in late if isinstance(c, dict)) >= 14


def test_state_round_trips_through_json_and_suggests_the_same() -> None:
    original = bohb(bohb_config={"random_fraction": 0.2})
    original.set_fidelity(FIDELITY)
    fill(original, 1, best_x=0.3, n=15)
    fill(original, 3, best_x=0.4, n=8)
    original.suggest("live")
    original.on_trial_result("live", {"training_iteration": 1, "loss": 0.9})
    state = json.loads(json.dumps(original.state_dict(), allow_nan=False))
    restored = bohb(bohb_config={"random_fraction": 0.2})
    restored.set_fidelity(FIDELITY)
    restored.load_state_dict(state)
    assert restored.budgets == original.budgets
    for i in range(5):
        assert restored.suggest(f"n{i}") == original.suggest(f"n{i}")
    # The live trial's budget 1 is not counted twice after the restore.
    restored.on_trial_result("live", {"training_iteration": 1, "loss": 0.9})
    assert len(restored.observations_at(1)) == 16


def test_a_configspace_space_is_read_as_domains() -> None:
    cs = pytest.importorskip("ConfigSpace")  # in the test extra: installed in CI
    space = cs.ConfigurationSpace()
    space.add(cs.UniformFloatHyperparameter("height", lower=10, upper=100))
    space.add(cs.UniformFloatHyperparameter("lr", lower=1e-4, upper=1e-1, log=True))
    space.add(cs.UniformIntegerHyperparameter("units", lower=1, upper=3))
    space.add(cs.CategoricalHyperparameter("act", choices=["relu", "tanh"]))
    space.add(cs.OrdinalHyperparameter("batch", sequence=[16, 32, 64]))
    space.add(cs.Constant("fixed", 7))
    searcher = TuneBOHB(space, metric="loss", mode="min", seed=0)
    seen_units = set()
    for i in range(60):
        config = searcher.suggest(str(i))
        assert isinstance(config, dict)
        assert 10 <= config["height"] <= 100 and 1e-4 <= config["lr"] <= 1e-1
        assert config["act"] in ("relu", "tanh") and config["batch"] in (16, 32, 64)
        assert config["fixed"] == 7
        seen_units.add(config["units"])
        searcher.on_trial_complete(str(i), {"loss": config["height"]})
    assert seen_units == {1, 2, 3}  # ConfigSpace's upper bound is inclusive


def test_a_configspace_with_conditions_is_refused_clearly() -> None:
    cs = pytest.importorskip("ConfigSpace")
    space = cs.ConfigurationSpace()
    kind = cs.CategoricalHyperparameter("kind", choices=["a", "b"])
    depth = cs.UniformIntegerHyperparameter("depth", lower=1, upper=4)
    space.add([kind, depth])
    space.add(cs.EqualsCondition(depth, kind, "a"))
    with pytest.raises(ValueError, match=r"conditions or forbidden clauses.*sample_from"):
        TuneBOHB(space, metric="loss", mode="min")


# ----------------------------------------------------------------- through the Tuner
CENTRE = (0.2, 0.4, 0.6, 0.8)
SPACE = {f"x{i}": uniform(0, 1) for i in range(4)}


class Curve(Trainable):
    """Loss falls with training towards the squared distance to CENTRE, one virtual second a
    step; the iteration is restored on resume (the engine keeps it), so a paused trial goes
    on. Early epochs rank configs as the last does."""

    def setup(self, config: dict[str, Any]) -> None:
        self.final = sum((config[f"x{i}"] - c) ** 2 for i, c in enumerate(CENTRE))

    def step(self) -> dict[str, Any]:
        step = self.iteration + 1
        return {"loss": self.final + 1.0 / step, "time_this_iter_s": 1.0, "done": step >= 27}

    def save_checkpoint(self, checkpoint_dir: str) -> dict[str, Any]:
        return {}

    def load_checkpoint(self, checkpoint: Any) -> None:
        pass


def fit(searcher: Searcher, scheduler: Any, seed: int, tmp_path: Path, name: str) -> float:
    grid = Tuner(
        Curve, param_space=SPACE,
        tune_config=TuneConfig(metric="loss", mode="min", num_samples=80, search_alg=searcher,
                               scheduler=scheduler, seed=seed),
        run_config=RunConfig(name=name, storage_path=str(tmp_path), verbose=0),
        executor=SimulatedExecutor(n_workers=4),
    ).fit()
    assert not grid.errors
    full = [r.metrics["loss"] for r in grid if r.metrics["training_iteration"] == 27]
    return min(full) - 1.0 / 27


def test_bohb_with_hyperband_for_bohb_beats_random_hyperband(tmp_path: Path) -> None:
    # 80 trials of a 4-d problem on 4 simulated workers: 5x lower median loss (0.010 against
    # 0.052 when written).
    ours, theirs = [], []
    for seed in range(4):
        ours.append(fit(TuneBOHB(seed=seed), HyperBandForBOHB(max_t=27, reduction_factor=3),
                        seed, tmp_path, f"bohb{seed}"))
        theirs.append(fit(BasicVariantGenerator(seed=seed),
                          HyperBandForBOHB(max_t=27, reduction_factor=3), seed, tmp_path,
                          f"random{seed}"))
    assert np.median(ours) < np.median(theirs) / 2.5, (ours, theirs)


def test_bohb_runs_asynchronously_on_ashas_rungs(tmp_path: Path) -> None:
    ours, theirs = [], []
    for seed in range(4):
        searcher = TuneBOHB(seed=seed)
        ours.append(fit(searcher, ASHAScheduler(max_t=27, grace_period=1, reduction_factor=3),
                        seed, tmp_path, f"async{seed}"))
        assert searcher.budgets == [1.0, 3.0, 9.0, 27.0]
        assert len(searcher.observations_at(1)) == 80  # every trial reached the first rung
        theirs.append(fit(BasicVariantGenerator(seed=seed),
                          ASHAScheduler(max_t=27, grace_period=1, reduction_factor=3), seed,
                          tmp_path, f"random{seed}"))
    # 0.022 against 0.052 when written.
    assert np.median(ours) < np.median(theirs) / 1.8, (ours, theirs)


def test_bohb_through_a_concurrency_limiter_hears_the_budgets(tmp_path: Path) -> None:
    searcher = TuneBOHB(seed=2)
    fit(ConcurrencyLimiter(searcher, max_concurrent=2), HyperBandForBOHB(max_t=27), 2, tmp_path,
        "limited")
    assert searcher.fidelity == Fidelity("training_iteration", (1, 3, 9, 27))
    assert len(searcher.observations_at(1)) >= 30


def test_bohb_with_a_space_and_a_tuner_space_says_to_choose_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="define it in one place only"):
        Tuner(Curve, param_space=SPACE,
              tune_config=TuneConfig(metric="loss", mode="min", num_samples=2,
                                     search_alg=TuneBOHB({"x0": uniform(0, 1)})),
              run_config=RunConfig(storage_path=str(tmp_path), verbose=0)).fit()


class TestTuneBOHB(SearcherContract):
    def make_searcher(self) -> Searcher:
        return TuneBOHB(seed=6, points_to_evaluate=[{"lr": 0.01}])
