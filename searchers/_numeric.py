"""A numeric domain as an interval of the real line that models search (log scales unrolled)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from searchers._model import NORMAL_SPAN
from searchers._space import Domain, Float, Integer, Normal


@dataclass(frozen=True)
class NumericDim:
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
