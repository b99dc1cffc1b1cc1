"""BOHB's kernel density estimate (Falkner et al. 2018): a product kernel over configs on the
unit cube, with bandwidths by the normal reference rule."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from searchers._stats import norm_logpdf


class ProductKDE:
    """A kernel density over configs: numeric axes scaled to [0, 1], categories by index.

    Each observation is a kernel: a normal on every numeric axis and Aitchison and Aitken's
    kernel on every categorical one (its own category weighs ``1 - bw``, each other one
    ``bw / (size - 1)``). The bandwidth of an axis is the normal reference rule,
    ``1.06 * sd * n ** (-1 / (d + 4))`` over the `n` observations in `d` dimensions (the rule
    statsmodels' `KDEMultivariate`, which BOHB's reference implementation uses, applies by
    default), floored at `min_bandwidth`; a categorical one is capped at ``(size - 1) / size``,
    where the kernel is flat.

    Example:
        >>> kde = ProductKDE(np.array([[0.2], [0.3], [0.4]]), np.zeros((3, 0), dtype=int), [])
        >>> bool(kde.log_pdf(np.array([[0.3]]), np.zeros((1, 0), dtype=int))[0]
        ...      > kde.log_pdf(np.array([[0.9]]), np.zeros((1, 0), dtype=int))[0])
        True
    """

    def __init__(
        self,
        x_num: NDArray[np.float64],
        x_cat: NDArray[np.int_],
        sizes: Sequence[int],
        min_bandwidth: float = 1e-3,
    ) -> None:
        n = x_num.shape[0]
        if n < 2:
            raise ValueError(f"a kernel density needs >= 2 observations, got {n}")
        self.x_num, self.x_cat = x_num, x_cat
        self.sizes = list(sizes)
        factor = 1.06 * n ** (-1.0 / (x_num.shape[1] + x_cat.shape[1] + 4))
        self.bw_num = np.maximum(factor * np.std(x_num, axis=0, ddof=1), min_bandwidth)
        bw_cat = np.maximum(factor * np.std(x_cat.astype(float), axis=0, ddof=1), min_bandwidth)
        cap = np.array([(size - 1) / size for size in self.sizes], dtype=float)
        self.bw_cat = np.minimum(bw_cat, cap)

    @property
    def n(self) -> int:
        return int(self.x_num.shape[0])

    def log_pdf(self, x_num: NDArray[np.float64], x_cat: NDArray[np.int_]) -> NDArray[np.float64]:
        """The log density at each row (numeric coordinates in [0, 1], category indices)."""
        z = (x_num[:, None, :] - self.x_num[None]) / self.bw_num  # (m, n, d_num)
        log_k = (norm_logpdf(z) - np.log(self.bw_num)).sum(axis=2)
        for j, size in enumerate(self.sizes):
            bw = self.bw_cat[j]
            same = x_cat[:, None, j] == self.x_cat[None, :, j]
            log_k += np.where(same, math.log1p(-bw), math.log(bw / (size - 1)))
        top = log_k.max(axis=1, keepdims=True)
        return (top + np.log(np.exp(log_k - top).mean(axis=1, keepdims=True)))[:, 0]

    def sample_near(
        self, rng: np.random.Generator, size: int, bandwidth_factor: float
    ) -> tuple[NDArray[np.float64], NDArray[np.int_]]:
        """`size` configs, each near a random observation: a normal `bandwidth_factor` times
        wider than the kernel on numeric axes (redrawn until inside [0, 1]), and on categorical
        ones the observation's category kept with probability ``1 - bw``, else one drawn
        uniformly (BOHB's sampling: wider than the model, to explore around the good configs).
        """
        rows = rng.integers(self.n, size=size)
        mu, sigma = self.x_num[rows], self.bw_num * bandwidth_factor
        x = rng.normal(mu, np.broadcast_to(sigma, mu.shape))
        for _ in range(100):
            outside = (x < 0.0) | (x > 1.0)
            if not outside.any():
                break
            x = np.where(outside, rng.normal(mu, np.broadcast_to(sigma, mu.shape)), x)
        x = np.clip(x, 0.0, 1.0)
        cats = self.x_cat[rows].copy()
        for j, n_categories in enumerate(self.sizes):
            redraw = rng.random(size) < self.bw_cat[j]
            cats[redraw, j] = rng.integers(n_categories, size=int(redraw.sum()))
        return x, cats
