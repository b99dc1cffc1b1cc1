"""TPE's Parzen mixture: one truncated-normal (and smoothed one-hot) component per observation
plus a broad prior component, with neighbour-gap bandwidths; TPESearch and TuneBOHB model the
good and the bad observations with one each."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from searchers._stats import log_interval_mass, norm_logpdf

FULL_WEIGHT_WINDOW = 25
"""The newest observations keep weight 1 in TPE's ramp; older ones ramp down."""


def _neighbour_bandwidths(
    x: NDArray[np.float64], low: NDArray[np.float64], high: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Per observation and axis: the larger gap to its neighbours on that axis (as optuna).

    The bounds count as neighbours except for the outermost points, which take their one inner
    gap; gaps are clipped to `[width / min(100, n + 2), width]` (the "magic clip"), so that
    clustered good points give sharp kernels.
    """
    n = x.shape[0]
    width = high - low
    sigma = np.empty_like(x)
    for j in range(x.shape[1]):
        order = np.argsort(x[:, j], kind="stable")
        ordered = np.concatenate([[low[j]], x[order, j], [high[j]]])
        gaps = np.maximum(ordered[1:-1] - ordered[:-2], ordered[2:] - ordered[1:-1])
        if n >= 2:
            gaps[0], gaps[-1] = ordered[2] - ordered[1], ordered[-2] - ordered[-3]
        per_point = np.empty(n)
        per_point[order] = gaps
        sigma[:, j] = np.clip(per_point, width[j] / min(100.0, n + 2.0), width[j])
    return sigma


def _ramp_weights(n: int) -> NDArray[np.float64]:
    """Observation weights in time order: the newest 25 weigh 1, older ones ramp to 1/n."""
    if n <= FULL_WEIGHT_WINDOW:
        return np.ones(n)
    ramp = np.linspace(1.0 / n, 1.0, num=n - FULL_WEIGHT_WINDOW)
    return np.concatenate([ramp, np.ones(FULL_WEIGHT_WINDOW)])


class Parzen:
    """A mixture with one component per observation plus a prior component (the last one).

    The observations weigh `weights` (TPE's ramp by age if None), the prior `prior_weight`.
    No bandwidth is below `min_sigma` (in axis units).

    A category kernel puts its observed category's weight 1 and `prior_weight / n` on every
    category (then normalised). With `size_free_smoothing` that share is scaled by `2 / size`:
    a kernel moves about the same mass off its category whatever the number of categories
    (as much as with two), where the per-category share makes kernels on five or more
    categories nearly flat with few observations (0.4 of the mass off at n = 5, C = 5).
    """

    def __init__(
        self,
        x_num: NDArray[np.float64],
        x_cat: NDArray[np.int_],
        low: NDArray[np.float64],
        high: NDArray[np.float64],
        sizes: list[int],
        prior_weight: float,
        weights: NDArray[np.float64] | None = None,
        min_sigma: float = 0.0,
        *,
        size_free_smoothing: bool = False,
    ) -> None:
        n = x_num.shape[0]
        width = high - low
        self.low, self.high = low, high
        weights = np.append(_ramp_weights(n) if weights is None else weights, prior_weight)
        self.log_weights = np.log(weights / weights.sum())
        # Neighbour-gap bandwidths beat a Scott-style rule (optuna's multivariate default) on
        # Branin, Hartmann-6 and Rosenbrock-4 in bench/searchers.py.
        sigma = np.maximum(_neighbour_bandwidths(x_num, low, high), min_sigma)
        self.mu = np.vstack([x_num, (low + high)[None, :] / 2])  # (n+1, d_num)
        self.sigma = np.vstack([sigma, width[None, :]])
        self.log_mass = log_interval_mass(
            (low - self.mu) / self.sigma, (high - self.mu) / self.sigma
        )
        self.cat_probs = []
        for j, size in enumerate(sizes):
            share = prior_weight / max(n, 1) * (2.0 / size if size_free_smoothing else 1.0)
            probs = np.full((n + 1, size), share)
            probs[np.arange(n), x_cat[:, j]] += 1.0
            probs[n, :] = 1.0  # the prior: uniform
            self.cat_probs.append(probs / probs.sum(axis=1, keepdims=True))

    def sample(
        self, rng: np.random.Generator, size: int, widen: float = 1.0
    ) -> tuple[NDArray[np.float64], NDArray[np.int_]]:
        """`size` draws: numeric axis values and category indices; numeric ones from
        components `widen` times wider than the model's (BOHB's bandwidth factor)."""
        components = rng.choice(len(self.log_weights), size=size, p=np.exp(self.log_weights))
        mu, sigma = self.mu[components], self.sigma[components]
        if widen != 1.0:
            sigma = sigma * widen
        x = rng.normal(mu, sigma)
        for _ in range(100):  # rejection: each component keeps >= ~1/3 of its mass in bounds
            outside = (x < self.low) | (x > self.high)
            if not outside.any():
                break
            x = np.where(outside, rng.normal(mu, sigma), x)
        x = np.clip(x, self.low, self.high)
        cats = np.empty((size, len(self.cat_probs)), dtype=int)
        for j, probs in enumerate(self.cat_probs):
            p = probs[components]
            cats[:, j] = (rng.random(size)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
        cats = np.minimum(cats, np.array([p.shape[1] - 1 for p in self.cat_probs], dtype=int))
        return x, cats

    def log_pdf(self, x_num: NDArray[np.float64], x_cat: NDArray[np.int_]) -> NDArray[np.float64]:
        """Log density of each row (numeric axis values, category indices)."""
        z = (x_num[:, None, :] - self.mu[None]) / self.sigma[None]  # (m, k, d)
        log_p = (norm_logpdf(z) - np.log(self.sigma)[None] - self.log_mass[None]).sum(axis=2)
        for j, probs in enumerate(self.cat_probs):
            log_p += np.log(probs[:, x_cat[:, j]].T)
        log_p += self.log_weights[None]
        top = log_p.max(axis=1, keepdims=True)
        return (top + np.log(np.exp(log_p - top).sum(axis=1, keepdims=True)))[:, 0]
