"""A numeric domain as an interval of the real line that models search (log scales unrolled),
and a choice of numbers as an axis of its ranks (`OrdinalDim`); both also scaled onto [0, 1]
(`to_unit` / `from_unit`), the unit cube BayesOpt, BOHB and DEHB search."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from searchers._model import NORMAL_SPAN
from searchers._space import Categorical, Domain, Float, Integer, Normal


class _UnitScale:
    """An axis `[low, high]` scaled onto [0, 1]."""

    low: float
    high: float

    def to_axis(self, value: float) -> float:
        raise NotImplementedError

    def from_axis(self, x: float) -> float | int:
        raise NotImplementedError

    def to_unit(self, value: float) -> float:
        """The point of [0, 1] of a value (`to_axis`, scaled); 0.5 on an axis of no width."""
        if self.high <= self.low:
            return 0.5
        return (self.to_axis(value) - self.low) / (self.high - self.low)

    def from_unit(self, u: float) -> float | int:
        """The value at the point `u` of [0, 1] (`from_axis` of the scaled point)."""
        return self.from_axis(self.low + float(u) * (self.high - self.low))


@dataclass(frozen=True)
class NumericDim(_UnitScale):
    """Maps a Float, Integer or Normal domain to `[low, high]` of the model's axis and back.

    Log domains are searched in log space. An integer `v` occupies `[v - 0.5, v + 0.5)` on a
    linear axis and `[log v, log(v + 1))` on a log axis, so each integer gets its share.
    A `randn` domain is searched within `NORMAL_SPAN` sd of its mean.
    """

    domain: Domain
    low: float
    high: float

    @classmethod
    def of(cls, domain: Domain) -> NumericDim:
        """The axis of `domain`."""
        if isinstance(domain, Float):
            if domain.log:
                return cls(domain, math.log(domain.low), math.log(domain.high))
            return cls(domain, domain.low, domain.high)
        if isinstance(domain, Integer):
            if domain.log:
                return cls(domain, math.log(domain.low), math.log(domain.high))
            return cls(domain, domain.low - 0.5, domain.high - 0.5)
        if isinstance(domain, Normal):
            span = NORMAL_SPAN * domain.sd
            return cls(domain, domain.mean - span, domain.mean + span)
        raise ValueError(f"not a numeric domain: {domain!r}")

    def to_axis(self, value: float) -> float:
        """The axis coordinate of a domain value."""
        domain = self.domain
        if isinstance(domain, Integer) and domain.log:
            x = math.log(value + 0.5)
        elif isinstance(domain, (Float, Integer)) and domain.log:
            x = math.log(value)
        else:
            x = float(value)
        return min(max(x, self.low), self.high)

    def from_axis(self, x: float) -> float | int:
        """The domain value at an axis coordinate (rounded, quantised, clipped)."""
        x = min(max(float(x), self.low), self.high)
        domain = self.domain
        if isinstance(domain, Float):
            return domain.quantize(math.exp(x) if domain.log else x)
        if isinstance(domain, Integer):
            q = domain.q or 1
            k_low, k_high = -((-domain.low) // q), (domain.high - 1) // q
            if domain.log:
                value = math.exp(x)
                k = math.floor(value) if domain.q is None else round(value / q)
            else:
                k = round(x / q)
            return int(min(max(k, k_low), k_high) * q)
        if isinstance(domain, Normal):
            return domain.quantize(x)
        raise ValueError(f"not a numeric domain: {domain!r}")


def is_ordinal(domain: Domain) -> bool:
    """Whether `domain` is a `choice` of three or more distinct real numbers (not bools): an
    ordered scale, which `OrdinalDim` searches by rank rather than as unordered categories."""
    if not isinstance(domain, Categorical) or len(domain.categories) < 3:
        return False
    values = domain.categories
    if any(isinstance(v, bool) or not isinstance(v, numbers.Real) for v in values):
        return False
    return all(math.isfinite(float(v)) for v in values) and len(set(values)) == len(values)


@dataclass(frozen=True)
class OrdinalDim(_UnitScale):
    """A choice of numbers as an axis of ranks: the k-th smallest value occupies
    `[k - 0.5, k + 0.5)`, so values next to each other in size are next to each other for the
    model (a kernel on one shares strength with its neighbours), whatever their spacing; a grid
    of learning rates or widths, often log-spaced, is evenly spaced here.

    Coordinates map to and from the *encoded* value, the category's index (`Param.encode`).

    Example:
        >>> dim = OrdinalDim.of(Categorical((64, 8, 16, 32)))
        >>> dim.to_axis(1), dim.to_axis(0), dim.from_axis(1.4), dim.from_axis(9.0)
        (0.0, 3.0, 2, 0)
    """

    domain: Categorical
    low: float
    high: float
    ranks: tuple[int, ...]
    """Category index -> its rank by value."""
    by_rank: tuple[int, ...]
    """Rank -> the category index."""

    @classmethod
    def of(cls, domain: Domain) -> OrdinalDim:
        if not isinstance(domain, Categorical) or not is_ordinal(domain):
            raise ValueError(f"not a choice of three or more distinct numbers: {domain!r}")
        by_rank = tuple(sorted(range(len(domain.categories)),
                               key=lambda i: float(domain.categories[i])))
        ranks = [0] * len(by_rank)
        for rank, index in enumerate(by_rank):
            ranks[index] = rank
        return cls(domain, -0.5, len(by_rank) - 0.5, tuple(ranks), by_rank)

    def to_axis(self, encoded: float) -> float:
        return float(self.ranks[int(encoded)])

    def from_axis(self, x: float) -> int:
        rank = min(max(round(float(x)), 0), len(self.by_rank) - 1)
        return self.by_rank[rank]
