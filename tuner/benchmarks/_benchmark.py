"""`Benchmark`: what a tuning benchmark is made of, for the runner and the hypervolume.

A benchmark has a search space in the engine's own domains, one or more objectives (a metric,
its mode, and the range of values the whole benchmark spans, which fixes the hypervolume's
reference point), and an `evaluate(config, seed)` that returns the metrics of one training run
together with its cost in seconds (`time_this_iter_s`, which `SimulatedExecutor` turns into
virtual time). Multi-fidelity benchmarks also give a learning curve: one result per epoch, each
with that epoch's cost.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

COST = "time_this_iter_s"
"""The key of an evaluation's cost in seconds, the one `SimulatedExecutor` advances time by."""


@dataclass(frozen=True)
class Objective:
    """One metric a benchmark optimises, and the range its values span over the benchmark.

    Attributes:
        metric: The reported key.
        mode: 'min' or 'max'.
        best: The best value anywhere in the benchmark (the ideal point's coordinate).
        worst: The worst value anywhere in the benchmark (the reference point's coordinate).
        log: Whether the hypervolume measures this axis in log10 (for values spanning decades).

    Example:
        >>> Objective("val_loss", "min", best=0.01, worst=100.0, log=True).normalize(1.0)
        0.5
    """

    metric: str
    mode: Literal["min", "max"]
    best: float
    worst: float
    log: bool = False

    def __post_init__(self) -> None:
        if self.mode not in ("min", "max"):
            raise ValueError(f"`mode` must be 'min' or 'max', got mode={self.mode!r}")
        better = self.best < self.worst if self.mode == "min" else self.best > self.worst
        if not better:
            raise ValueError(
                f"`best` must be better than `worst` under mode={self.mode!r}, got "
                f"best={self.best}, worst={self.worst}"
            )
        if self.log and min(self.best, self.worst) <= 0:
            raise ValueError(
                f"a log axis needs positive values, got best={self.best}, worst={self.worst}: "
                "pass log=False"
            )

    def normalize(self, value: float) -> float:
        """0 at `best`, 1 at `worst`, linear in the value (in its log10 if `log`)."""
        scale = math.log10 if self.log else float
        if self.log and value <= 0:
            return -math.inf if value == 0 else math.nan
        return (scale(value) - scale(self.best)) / (scale(self.worst) - scale(self.best))


@dataclass(frozen=True, eq=False, kw_only=True)
class Benchmark(abc.ABC):
    """A tuning benchmark: a search space, objectives, and what one training run measures.

    Life cycle: the runner builds trials from `space`, tells the Tuner `metric` and `mode`, and
    each trial calls `evaluate` once (or walks `learning_curve`, one result per epoch, under a
    multi-fidelity scheduler) with a seed that picks the run's observation noise. Both are pure
    functions of their arguments.

    Attributes:
        name: A short name, e.g. 'naval_propulsion'.
        space: The search space, in `searchers` domains (`choice`, `randint`, ...).
        objectives: What is optimised, first objective first.
        columns: Every metric `evaluate` reports, objectives included (besides its cost).
        epochs: Results in a learning curve; 1 when the benchmark has no fidelities.
    """

    name: str
    space: Mapping[str, Any]
    objectives: tuple[Objective, ...]
    columns: tuple[str, ...]
    epochs: int = 1

    def __post_init__(self) -> None:
        if not self.objectives:
            raise ValueError(f"benchmark {self.name!r} needs at least one objective")
        missing = [o.metric for o in self.objectives if o.metric not in self.columns]
        if missing:
            raise ValueError(
                f"benchmark {self.name!r}: the objectives {missing} are not among its columns "
                f"{list(self.columns)}"
            )
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f"`epochs` must be an int >= 1, got epochs={self.epochs!r}")

    @property
    def metric(self) -> list[str]:
        """The objectives' metrics, as `TuneConfig(metric=...)` takes them."""
        return [o.metric for o in self.objectives]

    @property
    def mode(self) -> list[Literal["min", "max"]]:
        """The objectives' modes, as `TuneConfig(mode=...)` takes them."""
        return [o.mode for o in self.objectives]

    @property
    def continuous(self) -> bool:
        """Whether every parameter is a number in a range (not a choice of a table's values):
        what Gaussian-process searchers are compared on."""
        return False

    @property
    @abc.abstractmethod
    def optimum(self) -> float:
        """The best `expected` value of the first objective anywhere in the space: the zero of
        the regret."""

    @abc.abstractmethod
    def expected(self, config: Mapping[str, Any]) -> float:
        """The first objective's value for `config` without observation noise (the mean over
        a table's repeats): what the regret of a config is measured on."""

    @abc.abstractmethod
    def evaluate(self, config: Mapping[str, Any], seed: int) -> dict[str, float]:
        """The metrics of training `config` to the end, `seed` choosing the observation noise.

        Returns every one of `columns` and the run's cost in seconds as `time_this_iter_s`.
        """

    def learning_curve(self, config: Mapping[str, Any], seed: int) -> list[dict[str, float]]:
        """One result per epoch, `epochs` of them, each with that epoch's cost as
        `time_this_iter_s`; the last one's metrics are `evaluate`'s. Without fidelities, the
        one result of `evaluate`."""
        if self.epochs != 1:
            raise NotImplementedError(
                f"{type(self).__name__} has {self.epochs} epochs but no learning_curve()"
            )
        return [self.evaluate(config, seed)]
