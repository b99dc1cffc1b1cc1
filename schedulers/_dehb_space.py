"""A search space as DEHB searches it: each searched parameter an axis of the unit cube.

A numeric domain maps through its `NumericDim` axis, scaled to [0, 1] (`NumericDim.to_unit`) (log domains in log space,
`randn` within `NORMAL_SPAN` sd, integers rounded); a `choice` of n values splits [0, 1] into n
equal bins (the value at x is category ``min(floor(x * n), n - 1)``). A config is the space
resolved with the decoded values put in, so constants stay and `sample_from` values are
computed from them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from searchers._model import Param, model_params
from searchers._numeric import NumericDim
from searchers._paths import find_grids, get_value, path_str, resolve
from searchers._space import Categorical


@dataclass(frozen=True)
class UnitAxis:
    """One searched parameter as an axis of the unit cube."""

    param: Param
    dim: NumericDim | None
    """The numeric axis, or None for a `choice`."""

    @classmethod
    def of(cls, param: Param) -> UnitAxis:
        if isinstance(param.domain, Categorical):
            return cls(param, None)
        return cls(param, NumericDim.of(param.domain))

    def decode(self, x: float) -> Any:
        """The parameter's value at `x` in [0, 1].

        Example:
            >>> from searchers import choice
            >>> axis = UnitAxis.of(Param(("act",), choice(["relu", "tanh", "gelu"])))
            >>> [axis.decode(x) for x in (0.0, 0.33, 0.34, 0.99, 1.0)]
            ['relu', 'relu', 'tanh', 'gelu', 'gelu']
        """
        x = min(max(float(x), 0.0), 1.0)
        if self.dim is None:
            categories = self.param.domain.categories  # type: ignore[attr-defined]
            n = len(categories)
            return categories[min(math.floor(x * n), n - 1)]
        value = self.dim.from_unit(x)
        return int(value) if isinstance(value, int) else float(value)

    def encode(self, value: Any) -> float:
        """The point of [0, 1] that stands for `value` (a category: its bin's middle)."""
        if self.dim is None:
            index = self.param.encode(value)
            n = len(self.param.domain.categories)  # type: ignore[attr-defined]
            return (int(index) + 0.5) / n
        return self.dim.to_unit(float(value))


class UnitCube:
    """The searched parameters of a space, as the axes of ``[0, 1]**dims``.

    Example:
        >>> import numpy as np
        >>> from searchers import choice, loguniform
        >>> cube = UnitCube({"lr": loguniform(1e-4, 1e-2), "opt": choice(["sgd", "adam"]),
        ...                  "epochs": 3}, owner="DEHB")
        >>> cube.dims
        2
        >>> config = cube.config([0.5, 0.9], np.random.default_rng(0))
        >>> round(config["lr"], 6), config["opt"], config["epochs"]
        (0.001, 'adam', 3)
    """

    def __init__(self, space: Mapping[str, Any], *, owner: str) -> None:
        if not isinstance(space, Mapping):
            raise ValueError(
                f"{owner}: the search space must be a dict, got {type(space).__name__}: pass "
                "{'name': domain, ...}"
            )
        for path, _ in find_grids(space):
            raise ValueError(
                f"{owner} does not support grid_search (parameter {path_str(path)!r}): it "
                "evolves every config itself; search the parameter with choice([...]) instead"
            )
        self.space = space
        self.axes = [UnitAxis.of(p) for p in model_params(space, owner, numeric_only=False)]

    @property
    def dims(self) -> int:
        return len(self.axes)

    @property
    def names(self) -> list[str]:
        """The searched parameters, as users read their paths, in axis order."""
        return [axis.param.name for axis in self.axes]

    def values(self, vector: Sequence[float]) -> dict[tuple[Any, ...], Any]:
        """Each searched parameter's value at the point `vector`, by path."""
        return {a.param.path: a.decode(x) for a, x in zip(self.axes, vector, strict=True)}

    def config(self, vector: Sequence[float], rng: np.random.Generator) -> dict[str, Any]:
        """The full config at `vector`: the space resolved with those values (`rng` draws for
        `sample_from` functions that draw)."""
        return dict(resolve(self.space, rng, self.values(vector)))

    def encode(self, config: Mapping[str, Any]) -> list[float]:
        """The point of the unit cube that stands for `config`'s searched values."""
        return [axis.encode(get_value(config, axis.param.path)) for axis in self.axes]
