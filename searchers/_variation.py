"""The variation operators of real-coded genetic algorithms, on bounded intervals.

- Simulated binary crossover (SBX; Deb and Agrawal 1995, "Simulated binary crossover for
  continuous search space"), in the bounded form of Deb's NSGA-II code: the children spread
  around their parents as a one-point crossover of binary strings would, the closer the
  larger the distribution index `eta`.
- Polynomial mutation (Deb and Goyal 1996), bounded the same way: a step whose size follows a
  polynomial distribution, small with a large `eta`.

Both work on one coordinate at a time (a model axis of `searchers._numeric.NumericDim`, where log
scales are unrolled and integers are intervals) and stay inside `[low, high]`.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a, b = sbx(0.2, 0.6, 0.0, 1.0, eta=20.0, rng=rng)
    >>> 0.0 <= a <= 1.0 and 0.0 <= b <= 1.0
    True
"""

from __future__ import annotations

import numpy as np

_SAME = 1e-14  # parents closer than this are one point: nothing to cross


def sbx(
    x1: float, x2: float, low: float, high: float, *, eta: float, rng: np.random.Generator
) -> tuple[float, float]:
    """Two children of the parent values `x1` and `x2` in `[low, high]` (in random order)."""
    if abs(x1 - x2) <= _SAME or high <= low:
        return x1, x2
    y1, y2 = min(x1, x2), max(x1, x2)
    u = float(rng.random())
    exponent = 1.0 / (eta + 1.0)

    def spread(beta: float) -> float:
        alpha = 2.0 - beta ** -(eta + 1.0)
        if u <= 1.0 / alpha:
            return float((u * alpha) ** exponent)
        return float((1.0 / (2.0 - u * alpha)) ** exponent)

    c1 = 0.5 * ((y1 + y2) - spread(1.0 + 2.0 * (y1 - low) / (y2 - y1)) * (y2 - y1))
    c2 = 0.5 * ((y1 + y2) + spread(1.0 + 2.0 * (high - y2) / (y2 - y1)) * (y2 - y1))
    c1, c2 = min(max(c1, low), high), min(max(c2, low), high)
    return (c2, c1) if rng.random() < 0.5 else (c1, c2)


def polynomial_mutation(
    x: float, low: float, high: float, *, eta: float, rng: np.random.Generator
) -> float:
    """`x` moved by a polynomially distributed step, inside `[low, high]`."""
    width = high - low
    if width <= 0:
        return x
    u = float(rng.random())
    power = 1.0 / (eta + 1.0)
    if u < 0.5:
        base = 1.0 - (x - low) / width
        value = 2.0 * u + (1.0 - 2.0 * u) * base ** (eta + 1.0)
        step = value**power - 1.0
    else:
        base = 1.0 - (high - x) / width
        value = 2.0 * (1.0 - u) + 2.0 * (u - 0.5) * base ** (eta + 1.0)
        step = 1.0 - value**power
    return min(max(x + step * width, low), high)
